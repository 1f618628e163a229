"""One settings object: ``engagebot.toml`` plus ``ENGAGEBOT_*`` variables plus ``DATABASE_URL``.

Precedence, highest first: environment variables, the TOML file, defaults. The TOML file is
``./engagebot.toml`` unless ``ENGAGEBOT_CONFIG`` names another one. Nested settings take
``__`` in variable names, e.g. ``ENGAGEBOT_SENTIMENT__BATCH_SIZE=32``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from db.engine import DEFAULT_DATABASE_URL
from engagebot.ops_settings import OpsSettings
from engagement.settings import EngagementSettings
from listener.settings import ListenerSettings
from sentiment.settings import SentimentSettings

CONFIG_ENV = "ENGAGEBOT_CONFIG"
DEFAULT_CONFIG_FILE = "engagebot.toml"


def config_file() -> Path:
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    """Everything engagebot can be told; validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="ENGAGEBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,  # a rejected secret (too short, a placeholder) is never echoed back
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "ENGAGEBOT_DATABASE_URL", "database_url"),
        description="SQLite file (default) or postgresql://user@host/db",
    )
    output_dir: Path = Field(default=Path("out"), description="where reports and the demo's Slack sink go")
    listener: ListenerSettings = Field(default_factory=ListenerSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    engagement: EngagementSettings = Field(default_factory=EngagementSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        path = config_file()
        if path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def get_settings(**overrides: object) -> Settings:
    """Build and validate the settings (never at import time, so tests can set the env first)."""
    return Settings(**overrides)  # type: ignore[arg-type]
