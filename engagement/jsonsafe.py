"""JSON that every parser accepts: no ``NaN`` or ``Infinity``, which the JSON standard lacks.

Python's ``json`` writes ``NaN``/``Infinity`` by default, and a value computed from bad input
(a purchase of 1e308 makes CLV and priority infinite) would then break every client that reads
the answer. ``finite`` turns non-finite floats into ``None`` (null: "no usable number"), and
``dumps`` refuses any that slipped through (``allow_nan=False``) instead of writing them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth of dicts, lists and tuples, as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``finite(value)`` with ``allow_nan=False`` (other options as given)."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
