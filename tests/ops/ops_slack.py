"""The real Slack delivery as a shared step for the worker tests (``ops_slack:deliver``).

``engagement.notify.deliver.deliver_pending`` takes ``(engine, slack settings)``; a shared
step takes ``(settings, engine)``. This is only that adapter, with the run's time budget as
``pipeline.notify`` passes it: the claims, the sends to the local Slack-like server and the
checks before a re-send are the shipped code.
"""

from __future__ import annotations

from sqlalchemy import Engine

from engagebot.config import Settings
from engagement.notify.deliver import deliver_pending


def deliver(settings: Settings, engine: Engine) -> dict[str, int]:
    return deliver_pending(engine, settings.engagement.slack, budget_seconds=settings.ops.notify_budget_seconds)
