"""The API's JSON answers: never ``NaN``/``Infinity``, and every 422 in the published shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse

from engagement.jsonsafe import dumps


class SafeJSONResponse(JSONResponse):
    """``JSONResponse`` that writes non-finite floats as null and refuses any it missed.

    A value computed from hostile input (a purchase of 1e308) can make CLV or priority infinite;
    Python would write ``Infinity``, which is not JSON, and clients would fail to parse the
    whole answer. The app's default response class and its error handlers use this one.
    """

    def render(self, content: Any) -> bytes:
        return dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def validation_detail(problems: Iterable[tuple[tuple[str | int, ...], str, str]]) -> list[dict[str, Any]]:
    """``detail`` of a 422 as OpenAPI publishes it (``HTTPValidationError``): loc, msg, type.

    The input is left out on purpose: it may be large, or a secret typed into the wrong field.
    """
    return [{"loc": list(loc), "msg": msg, "type": kind} for loc, msg, kind in problems]
