"""Decide what Slack should hear and write it to the outbox (deduped per case and event)."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Case, Customer, Outbox, Post, Score, User
from db.scores import current_score_id
from db.types import utcnow
from engagement.notify import blocks
from engagement.queue import ACTIVE_STATUSES, CaseStatus, audit
from engagement.settings import EngagementSettings, SlackSettings
from engagement.slack_text import escape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spike:
    """A source or keyword whose negative volume is well above its recent baseline."""

    kind: str
    name: str
    count: int
    baseline: float


def detect_spikes(
    current: Mapping[str, int],
    history: Mapping[str, Sequence[int]],
    *,
    ratio: float,
    min_count: int,
    kind: str,
) -> list[Spike]:
    """Pure check: current >= max(min_count, ratio x mean of the earlier windows)."""
    spikes = []
    for name, count in sorted(current.items()):
        past = list(history.get(name, []))
        baseline = sum(past) / len(past) if past else 0.0
        if count >= min_count and count >= ratio * baseline:
            spikes.append(Spike(kind=kind, name=name, count=count, baseline=baseline))
    return spikes


def channel_for(team: str, slack: SlackSettings) -> str:
    return slack.team_channels.get(team, slack.default_channel)


def _add(session: Session, row: Outbox) -> bool:
    """Insert unless the dedupe key exists (checked, then guarded by the unique index)."""
    exists = session.execute(select(col(Outbox.id)).where(col(Outbox.dedupe_key) == row.dedupe_key)).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _customers(session: Session, cases: Sequence[Case]) -> dict[int, str | None]:
    ids = {c.customer_id for c in cases if c.customer_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(col(Customer.id), col(Customer.name)).where(col(Customer.id).in_(ids))).all()
    return {int(r[0]): r[1] for r in rows}


def _first_texts(session: Session, cases: Sequence[Case]) -> dict[int, str]:
    ids = {c.post_id for c in cases}
    if not ids:
        return {}
    rows = session.execute(select(col(Post.id), col(Post.text)).where(col(Post.id).in_(ids))).all()
    return {int(r[0]): str(r[1]) for r in rows}


def team_agents(session: Session, team: str) -> list[str]:
    """Agents of a team who are not away (the Assign menu)."""
    rows = session.execute(
        select(col(User.name)).where(col(User.team) == team, col(User.is_away).is_(False)).order_by(col(User.name))
    ).scalars()
    return list(rows)


def _immediate(case: Case, slack: SlackSettings) -> bool:
    return (case.tier in slack.immediate_tiers) or case.priority >= slack.immediate_min_priority


def _case_messages(session: Session, settings: EngagementSettings, now: datetime, counts: dict[str, int]) -> None:
    slack = settings.slack
    fresh = list(
        session.execute(
            select(Case)
            .where(col(Case.status) == CaseStatus.OPEN, col(Case.notified_at).is_(None))
            .order_by(col(Case.priority).desc(), col(Case.id))
            .with_for_update()
        ).scalars()
    )
    names = _customers(session, fresh)
    texts = _first_texts(session, fresh)
    agents: dict[str, list[str]] = {}
    later: dict[str, list[Case]] = defaultdict(list)
    for case in fresh:
        if not _immediate(case, slack):
            later[case.team].append(case)
            continue
        if case.team not in agents:
            agents[case.team] = team_agents(session, case.team)
        customer = names.get(case.customer_id) if case.customer_id is not None else None
        text = texts.get(case.post_id, "")
        payload: dict[str, Any] = {
            "channel": channel_for(case.team, slack),
            "text": escape(f"New case #{case.id}: {case.money_at_risk:,.0f} at risk ({case.tier} tier) — {text[:150]}"),
            "blocks": blocks.case_blocks(
                case,
                text=text,
                customer=customer,
                web_base_url=settings.public_url,
                agents=agents[case.team],
            ),
        }
        if _add(
            session,
            Outbox(
                channel="slack",
                kind="new_case",
                dedupe_key=f"new_case:{case.id}",
                case_id=case.id,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            ),
        ):
            counts["new_case"] += 1
        case.notified_at = now
        session.add(case)
    bucket = math.floor(now.timestamp() / max(60.0, slack.digest_minutes * 60))
    for team, cases in later.items():
        key = f"digest:{team}:{bucket}"
        if session.execute(select(col(Outbox.id)).where(col(Outbox.dedupe_key) == key)).first() is not None:
            continue  # this period's digest went out; these wait for the next one
        listed = [(c, names.get(c.customer_id) if c.customer_id is not None else None) for c in cases]
        digest: dict[str, Any] = {
            "channel": channel_for(team, slack),
            "text": escape(f"Digest for {team}: {len(cases)} new case(s)"),
            "blocks": blocks.digest_blocks(team, listed, web_base_url=settings.public_url, total=len(cases)),
            "case_ids": [c.id for c in cases],
        }
        if _add(
            session,
            Outbox(
                channel="slack",
                kind="digest",
                dedupe_key=key,
                payload=digest,
                next_attempt_at=now,
                created_at=now,
            ),
        ):
            counts["digest"] += 1
            for case in cases:
                case.notified_at = now
                session.add(case)


def _breaches(session: Session, settings: EngagementSettings, now: datetime, counts: dict[str, int]) -> None:
    slack = settings.slack
    late = session.execute(
        select(Case).where(col(Case.status).in_(ACTIVE_STATUSES), col(Case.sla_due_at) < now).order_by(col(Case.id))
    ).scalars()
    for case in late:
        payload = {
            "channel": slack.lead_channel or slack.default_channel,
            "text": escape(f"SLA breached on case #{case.id} (team {case.team}); lead: {settings.routing.lead}"),
            "blocks": blocks.breach_blocks(case, web_base_url=settings.public_url, now=now),
            "lead": settings.routing.lead,
        }
        if _add(
            session,
            Outbox(
                channel="slack",
                kind="sla_breach",
                dedupe_key=f"sla_breach:{case.id}",
                case_id=case.id,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            ),
        ):
            audit(
                session,
                case_id=case.id,
                actor="system",
                action="sla_breached",
                now=now,
                lead=settings.routing.lead,
            )
            counts["sla_breach"] += 1


def negative_counts(
    session: Session, settings: EngagementSettings, now: datetime
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Negative posts per window (oldest first, the last one is current) by source and by
    keyword."""
    slack = settings.slack
    width = timedelta(hours=slack.spike_window_hours)
    windows = slack.spike_baseline_windows + 1
    start = now - width * windows
    rows = session.execute(
        select(col(Post.source), col(Post.text), col(Post.created_at))
        .join(Score, col(Score.id) == current_score_id(col(Post.id)))
        .where(
            col(Post.created_at) >= start,
            col(Post.created_at) < now,
            col(Post.is_brand).is_(False),
            col(Score.p_negative) >= settings.triage.negative_threshold,
            col(Score.label) != "unsupported_language",
        )
    ).all()
    by_source: dict[str, list[int]] = defaultdict(lambda: [0] * windows)
    by_keyword: dict[str, list[int]] = defaultdict(lambda: [0] * windows)
    keywords = [k.lower() for k in slack.spike_keywords]
    for source, text, created in rows:
        index = min(windows - 1, int((created - start) / width))
        by_source[str(source)][index] += 1
        lowered = str(text).lower()
        for word in keywords:
            if word in lowered:
                by_keyword[word][index] += 1
    return dict(by_source), dict(by_keyword)


def _spikes(session: Session, settings: EngagementSettings, now: datetime, counts: dict[str, int]) -> None:
    slack = settings.slack
    bucket = math.floor(now.timestamp() / max(60.0, slack.spike_window_hours * 3600))
    by_source, by_keyword = negative_counts(session, settings, now)
    found: list[Spike] = []
    for kind, series in (("source", by_source), ("keyword", by_keyword)):
        found += detect_spikes(
            {k: v[-1] for k, v in series.items()},
            {k: v[:-1] for k, v in series.items()},
            ratio=slack.spike_ratio,
            min_count=slack.spike_min_count,
            kind=kind,
        )
    for spike in found:
        payload: dict[str, Any] = {
            "channel": slack.lead_channel or slack.default_channel,
            "text": escape(
                f"Negative spike in {spike.kind} {spike.name}: {spike.count} vs baseline {spike.baseline:.1f}"
            ),
            "blocks": blocks.spike_blocks(
                spike.kind, spike.name, spike.count, spike.baseline, slack.spike_window_hours
            ),
        }
        if _add(
            session,
            Outbox(
                channel="slack",
                kind="spike",
                dedupe_key=f"spike:{spike.kind}:{spike.name}:{bucket}"[:255],
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            ),
        ):
            counts["spike"] += 1


def enqueue_notifications(engine: Engine, settings: EngagementSettings, now: datetime | None = None) -> dict[str, int]:
    """Write this run's Slack messages to the outbox: new high-priority cases at once, the rest in a
    per-team digest once per ``digest_minutes``, SLA breaches to the lead, negative spikes.

    Idempotent: every message has a dedupe key (``new_case:<id>``, ``digest:<team>:<period>``,
    ``sla_breach:<id>``, ``spike:<kind>:<name>:<period>``), so re-running adds nothing.
    """
    now = now or utcnow()
    counts: dict[str, int] = defaultdict(int)
    with session_scope(engine, write=True) as session:
        _case_messages(session, settings, now, counts)
        _breaches(session, settings, now, counts)
        _spikes(session, settings, now, counts)
    result = {k: counts.get(k, 0) for k in ("new_case", "digest", "sla_breach", "spike")}
    log.info("notify: enqueued %s", result, extra={"step": "notify", "counts": result})
    return result
