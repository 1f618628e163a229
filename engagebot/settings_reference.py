"""Write docs/settings.md: every setting with its TOML table, default, variable and description.

Generated from the pydantic settings classes, so the reference cannot drift from the code;
``tests/test_settings_docs.py`` fails when the page is stale. Regenerate it with::

    python -m engagebot.settings_reference > docs/settings.md
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from engagebot.config import Settings

HEADER = """# Settings reference

Generated from the settings classes by `python -m engagebot.settings_reference > docs/settings.md`
(a test fails when it is stale): do not edit by hand. Settings come from `engagebot.toml` (or the
file `ENGAGEBOT_CONFIG` names), then `ENGAGEBOT_*` variables, which win; nested names join with
`__`. `engagebot.example.toml` is a commented starting point, and each area's page (docs/*.md)
explains how its settings work together.

## Where settings live, and which wins

`engagebot.toml` and the environment keep infrastructure and secrets: the database, sources and
their tokens, Slack's token, the session secret, timings. What admins decide while the app runs
lives in the database, edited in the app (`/admin/...`, `/api/admin/...`) or with the CLI, each
change kept with who, when, before and after (`admin_setting_changes`):

| what | where it is edited | stored in |
| --- | --- | --- |
| people: role, team, Slack id, away, deactivated | `/admin/people`, `engagebot users ...` | `users` |
| saved replies (per team; `-de`-style names per language) | `/saved-replies` | `saved_replies` |
| routing rules (`engagement.routing.rules`) | `/admin/routing`, `engagebot rules import/export` | `admin_settings` (`routing_rules`) |
| brand profile (`engagement.replies.brand_name`, `engagement.money`, `engagement.public_url`) | `/admin/brand`, `engagebot brand set` | `admin_settings` (`brand`) |
| each team's Slack channel (over `engagement.slack.team_channels`, team by team) | `/admin/slack`, `PUT /api/admin/slack/channels` | `admin_settings` (`slack_team_channels`) |
| the CRM upload's column mapping (offered for the next file) | `/admin/crm` (kept at each import) | `admin_settings` (`crm_columns`) |

On the web app's first start the TOML's routing rules and brand profile seed the database. From
then on **the database wins** for those keys: triage reads the rules at every run, so a change
takes effect without a restart; a later edit of those keys in `engagebot.toml` does nothing until
you import it (`engagebot rules import engagebot.toml`, `engagebot brand set ...`).
`engagebot rules export` writes the rules in force as TOML (config as code).
A team's Slack channel set in the app wins over `team_channels` in the TOML for that team; the
notify step reads them at every run.
"""


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The settings classes inside an annotation (``X``, ``X | None``, ``list[X]``)."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]
    return []


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if value is None or isinstance(value, SecretStr):
        return "(unset)"
    if isinstance(value, Path):
        value = str(value)
    text = json.dumps(value, default=str, ensure_ascii=False)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}...`"


def _table(model: type[BaseModel], path: str, env: str | None) -> list[str]:
    """One section: the leaf fields of ``model`` (tables of their own come after)."""
    title = f"`[{path}]`" if path else "top level"
    doc = (inspect.getdoc(model) or "").split("\n\n", 1)[0].replace("\n", " ")
    lines = [f"## {title}", "", doc, "", "| setting | default | what it does |", "| --- | --- | --- |"]
    for name, info in model.model_fields.items():
        if nested_models(info.annotation):
            continue
        alias = info.validation_alias
        key = str(alias.choices[0]) if isinstance(alias, AliasChoices) else name
        variable = f" (`{env}{name.upper()}`)" if env is not None else ""
        description = (info.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{key}`{variable} | {_default(info)} | {description} |")
    return [*lines, ""]


def _sections(model: type[BaseModel], path: str, env: str | None) -> list[str]:
    lines = _table(model, path, env)
    for name, info in model.model_fields.items():
        for sub in nested_models(info.annotation):
            listed = typing.get_origin(info.annotation) in (list, dict)
            sub_path = f"{path}.{name}" if path else name
            sub_env = None if listed or env is None else f"{env}{name.upper()}__"
            lines += _sections(sub, f"[{sub_path}]" if listed else sub_path, sub_env)
    return lines


def render() -> str:
    """The whole page, as ``docs/settings.md`` holds it."""
    return "\n".join([HEADER, *_sections(Settings, "", "ENGAGEBOT_")]).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
