"""Slack notifications through the outbox: enqueue what matters, deliver it once.

Slack's buttons are a surface like the web: ``engagement.web.slack_actions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from engagement.notify.alerts import detect_spikes, enqueue_notifications
from engagement.notify.deliver import deliver_pending as _deliver_pending
from engagement.notify.outbox import enqueue
from engagement.notify.preview import Preview, preview_notifications
from engagement.settings import EngagementSettings


def deliver_pending(engine: Engine, settings: EngagementSettings, now: datetime | None = None) -> dict[str, int]:
    """Deliver due outbox messages (to ``settings.slack.sink`` when set, else Slack)."""
    return _deliver_pending(engine, settings.slack, now)


__all__ = [
    "Preview",
    "deliver_pending",
    "detect_spikes",
    "enqueue",
    "enqueue_notifications",
    "preview_notifications",
]
