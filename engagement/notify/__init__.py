"""Slack notifications through the outbox: enqueue what matters, deliver it once, handle buttons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from engagement.notify.deliver import deliver_pending as _deliver_pending
from engagement.notify.enqueue import detect_spikes, enqueue_notifications
from engagement.notify.interactivity import InteractionResult, handle_interaction, verify_request
from engagement.notify.preview import Preview, preview_notifications
from engagement.settings import EngagementSettings


def deliver_pending(engine: Engine, settings: EngagementSettings, now: datetime | None = None) -> dict[str, int]:
    """Deliver due outbox messages (to ``settings.slack.sink`` when set, else Slack)."""
    return _deliver_pending(engine, settings.slack, now)


__all__ = [
    "InteractionResult",
    "Preview",
    "deliver_pending",
    "detect_spikes",
    "enqueue_notifications",
    "handle_interaction",
    "preview_notifications",
    "verify_request",
]
