"""The real Slack delivery as a shared step for the worker tests (``ops_slack:deliver``).

``engagement.notify.deliver_pending`` takes ``(engine, settings)``; a shared step takes
``(settings, engine)``. This is only that adapter: the claims, the sends to the local
Slack-like server and the checks before a re-send are the shipped code.
"""

from __future__ import annotations

from sqlalchemy import Engine

from engagebot.config import Settings
from engagement.notify import deliver_pending


def deliver(settings: Settings, engine: Engine) -> dict[str, int]:
    return deliver_pending(engine, settings.engagement)
