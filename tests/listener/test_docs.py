"""docs/sources.md documents every collector setting, platform and credential variable."""

from __future__ import annotations

from pathlib import Path

from listener.parsers import PLATFORMS
from listener.settings import ImportSettings, ListenerSettings, RetrySettings, SourceSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ListenerSettings.model_fields:
        if name not in ("retry", "imports"):
            assert f"`{name}" in text or f"{name}`" in text, name
    for name in RetrySettings.model_fields:
        assert f"`retry.{name}`" in text, name
    for name in ImportSettings.model_fields:
        assert f"`imports.{name}`" in text, name
    for name in SourceSettings.model_fields:
        assert f"`{name}`" in text or f", `{name}`" in text or f"`{name}," in text, name


def test_platforms_and_credentials_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for platform in PLATFORMS:
        assert f"`{platform}`" in text, platform
    for variable in (
        "X_BEARER_TOKEN",
        "REDDIT_CLIENT_ID",
        "REDDIT_CLIENT_SECRET",
        "REDDIT_USERNAME",
        "REDDIT_PASSWORD",
    ):
        assert variable in text
