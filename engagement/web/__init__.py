"""The reply queue web app (FastAPI + Jinja2 + HTMX): ``create_app(engine, settings)``."""

from engagement.web.app import create_app

__all__ = ["create_app"]
