"""Every setting is documented: each settings class and each of its fields (issue 17).

- docs/settings.md is the generated reference of every setting (table, default, variable,
  description) and must match the code;
- every field says what it does: a ``description`` in its class (shown in that reference), or
  ``engagebot.example.toml`` sets it at its exact place, or README.md / an area page of docs/
  names it as code (```name```, ```section.name```, or a ``name = ...`` line of a TOML example);
- every pydantic settings class of the settings modules is reached from
  ``engagebot.config.Settings``, so none is left out of the reference.
"""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
import typing
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from engagebot.config import Settings
from engagebot.settings_reference import nested_models, render

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "settings.md"
SETTINGS_MODULES = (
    "engagebot.config",
    "engagebot.ops_settings",
    "engagement.settings",
    "listener.settings",
    "sentiment.settings",
)


def _walk(model: type[BaseModel], prefix: str = "") -> tuple[list[type[BaseModel]], dict[str, Any]]:
    """(every class under ``model``, every leaf field path -> its ``FieldInfo``)."""
    classes: list[type[BaseModel]] = [model]
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        nested = nested_models(info.annotation)
        if not nested:
            fields[path] = info
        for sub in nested:
            item = f"{path}[]" if typing.get_origin(info.annotation) in (list, dict) else path
            more_classes, more_fields = _walk(sub, item)
            classes += more_classes
            fields |= more_fields
    return classes, fields


CLASSES, FIELDS = _walk(Settings)


@cache
def _prose() -> str:
    """README.md and the area pages (not the generated reference)."""
    pages = [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md") if p != REFERENCE)]
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


@cache
def _example() -> dict[str, Any]:
    return tomllib.loads((REPO / "engagebot.example.toml").read_text(encoding="utf-8"))


def _in_example(path: str) -> bool:
    node: Any = _example()
    for part in path.split("."):
        key = part.removesuffix("[]")
        if isinstance(node, list):  # an array of tables: any of them
            node = next((item[key] for item in node if isinstance(item, dict) and key in item), None)
        elif isinstance(node, dict):
            node = node.get(key)
        if node is None:
            return False
    return True


def _in_prose(path: str) -> bool:
    parts = [p.removesuffix("[]") for p in path.split(".")]
    dotted = "|".join(re.escape(".".join(parts[i:])) for i in range(len(parts)))  # a.b.c, b.c, c
    return bool(
        re.search(rf"`(\[[\w.]+\] )?({dotted})( = [^`]*)?`", _prose())
        or re.search(rf"^\s*{re.escape(parts[-1])}\s*=", _prose(), re.MULTILINE)
    )


def test_the_settings_reference_is_current() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/settings.md is stale: python -m engagebot.settings_reference > docs/settings.md"
    )


@pytest.mark.parametrize("path", sorted(FIELDS))
def test_every_setting_says_what_it_does(path: str) -> None:
    assert FIELDS[path].description or _in_example(path) or _in_prose(path), (
        f"setting {path}: give it a Field(description=...) or document it in engagebot.example.toml or docs/"
    )


def test_every_settings_class_is_reached_from_the_root() -> None:
    """A settings class nothing nests is dead or missing from the reference."""
    defined = {
        cls
        for module in SETTINGS_MODULES
        for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == module
    }
    assert defined - set(CLASSES) == set()
    reference = REFERENCE.read_text(encoding="utf-8")
    for cls in CLASSES[1:]:
        doc = (inspect.getdoc(cls) or "").split("\n\n", 1)[0].replace("\n", " ")
        assert doc and doc in reference, f"{cls.__name__} needs a docstring (it heads its table)"
    assert len(FIELDS) > 100  # the walk went through every section
