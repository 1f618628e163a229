"""Fixtures for the web app: a seeded database, an app, and signed-in test clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from web_factories import HOSTILE, Browser, Seed, seed

from engagement.settings import EngagementSettings
from engagement.web import create_app


@pytest.fixture
def seeded(sqlite_engine: Engine) -> Seed:
    return seed(sqlite_engine)


@pytest.fixture
def settings() -> EngagementSettings:
    return EngagementSettings()


@pytest.fixture
def app(sqlite_engine: Engine, seeded: Seed, settings: EngagementSettings) -> FastAPI:
    return create_app(sqlite_engine, settings)


@pytest.fixture
def browser(app: FastAPI) -> Callable[[str], Browser]:
    """``browser("ana@example.com")``: a client signed in as that user."""
    return lambda email: Browser(app).login(email)


@pytest.fixture
def hostile() -> str:
    return HOSTILE
