"""Label corrections from the web app: the rule lives in ``engagement.queue.labels``.

Kept as the web's import point (``LABELS``, ``correct_label``) and for ``retriage``, the
background run after a confirmed identity link changes who a customer is.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from engagement.queue.labels import LABELS, correct_label
from engagement.settings import EngagementSettings
from engagement.triage.cases import triage

log = logging.getLogger(__name__)

__all__ = ["LABELS", "correct_label", "retriage"]


def retriage(engine: Engine, settings: EngagementSettings) -> None:
    """Re-run triage after a confirmed link (a background task: logs errors). It takes the
    triage lock per chunk, like the scheduled run."""
    try:
        counts = triage(engine, settings)
        log.info("re-triage after a change in the web app: %s", counts)
    except Exception:
        log.exception("re-triage after a change in the web app failed")
