"""Decide what Slack should hear and write it to the outbox (deduped per case, team and interval).

What respects a channel's attention (``engagement.notify.attention``):
- new cases of ``immediate_tiers`` or above ``immediate_min_priority`` get a message each, the
  rest one digest per team every ``digest_minutes``; but when more than ``flood_threshold``
  would notify at once (a first run, a backfill, an outage ending) every new case goes into ONE
  digest per channel: count, money at risk, the ``digest_top`` worth the most, a queue link;
- SLA breaches alert only at or above ``breach_min_money`` of the case's tier, as one message per
  team every ``breach_interval_minutes`` that mentions the team's lead (``lead_mentions``), and a
  case alerts again at most every ``breach_repeat_hours``;
- a negative spike says which source or keyword spiked and shows ``spike_examples`` posts;
- a channel in its ``quiet_hours`` gets its messages when the quiet hours end;
- ``backfill`` (or ``import-posts --backfill``) sends nothing.
Digests list cases by money at risk, most first. ``notify.preview`` runs the same plan and rolls
it back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import AuditEvent, Case, Customer, Outbox, Post, User
from db.types import utcnow
from engagement import i18n
from engagement.actors import find_user
from engagement.i18n import gettext as _
from engagement.i18n import ngettext
from engagement.links import Links
from engagement.money import Money
from engagement.notify import attention, blocks
from engagement.notify.backfill import backfill_marks, is_history
from engagement.notify.outbox import enqueue
from engagement.notify.spikes import NegativeWindows, Spike, detect_spikes, negative_windows
from engagement.queue import CaseStatus, audit
from engagement.queue.sla import is_overdue, overdue, overdue_by_team
from engagement.settings import EngagementSettings, SlackSettings
from engagement.settings_store import effective
from engagement.slack_text import escape

log = logging.getLogger(__name__)
KINDS = ("new_case", "digest", "sla_breach", "spike")
__all__ = ["KINDS", "Spike", "detect_spikes", "enqueue_notifications"]


@dataclass
class Plan:
    """One run's decisions: the rows it added, by kind, and what it needs to build them."""

    settings: EngagementSettings
    now: datetime
    links: Links
    money: Money
    added: list[Outbox]
    history: dict[str, datetime]  # backfilled sources (``notify.backfill``)
    silenced: int = 0

    @property
    def slack(self) -> SlackSettings:
        return self.settings.slack

    def language(self, channel: str) -> str:
        """The language of ``channel``'s messages (``attention.channel_language``)."""
        return attention.channel_language(channel, self.slack, self.settings.language)

    def counts(self) -> dict[str, int]:
        found = defaultdict(int, {kind: 0 for kind in KINDS})
        for row in self.added:
            found[row.kind] += 1
        return {kind: found[kind] for kind in KINDS}


def _queue(
    session: Session, plan: Plan, *, kind: str, key: str, payload: dict[str, Any], case_id: int | None = None
) -> bool:
    """Queue a message through the outbox's front door; False when its key was queued before."""
    payload = blocks.with_dry_run_footer(payload, dry_run=plan.settings.replies.dry_run)
    row = enqueue(session, kind=kind, key=key, payload=payload, now=plan.now, slack=plan.slack, case_id=case_id)
    if row is None:
        return False
    plan.added.append(row)
    return True


def _customers(session: Session, cases: Sequence[Case]) -> dict[int, str | None]:
    ids = {c.customer_id for c in cases if c.customer_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(col(Customer.id), col(Customer.name)).where(col(Customer.id).in_(ids))).all()
    return {int(r[0]): r[1] for r in rows}


def _texts(session: Session, cases: Sequence[Case]) -> dict[int, str]:
    ids = {c.post_id for c in cases}
    if not ids:
        return {}
    rows = session.execute(select(col(Post.id), col(Post.text)).where(col(Post.id).in_(ids))).all()
    return {int(r[0]): str(r[1]) for r in rows}


def _listed(session: Session, cases: Sequence[Case]) -> list[blocks.Listed]:
    names, texts = _customers(session, cases), _texts(session, cases)
    return [
        blocks.Listed(
            case=case,
            customer=names.get(case.customer_id) if case.customer_id is not None else None,
            text=texts.get(case.post_id, ""),
        )
        for case in cases
    ]


def team_agents(session: Session, team: str) -> list[str]:
    """Agents of a team who are not away (the Assign menu)."""
    rows = session.execute(
        select(col(User.name)).where(col(User.team) == team, col(User.is_away).is_(False)).order_by(col(User.name))
    ).scalars()
    return list(rows)


def _immediate(case: Case, slack: SlackSettings) -> bool:
    return (case.tier in slack.immediate_tiers) or case.priority >= slack.immediate_min_priority


def _by_money(cases: Sequence[Case]) -> list[Case]:
    return sorted(cases, key=lambda c: (-c.money_at_risk, c.id or 0))


def _overdue(cases: Sequence[Case], now: datetime) -> int:
    return sum(1 for c in cases if is_overdue(c.sla_due_at, now))


def _queue_link(plan: Plan, teams: set[str]) -> str:
    """The queue filtered to the digest's team (``team=all`` when a channel serves several)."""
    return plan.links.queue(team=next(iter(teams)) if len(teams) == 1 else "all")


def _digest(session: Session, plan: Plan, *, cases: Sequence[Case], channel: str, title: str, key: str) -> bool:
    ranked = _by_money(cases)
    total_money = sum(c.money_at_risk for c in ranked)
    overdue = _overdue(ranked, plan.now)
    top = _listed(session, ranked[: plan.slack.digest_top])
    payload: dict[str, Any] = {
        "channel": channel,
        "text": escape(_("%(title)s: %(amount)s at risk") % {"title": title, "amount": plan.money(total_money)}),
        "blocks": blocks.digest_blocks(
            title=title,
            listed=top,
            total=len(ranked),
            total_money=total_money,
            overdue=overdue,
            queue_url=_queue_link(plan, {c.team for c in ranked}),
            links=plan.links,
            money=plan.money,
            now=plan.now,
        ),
        "case_ids": [c.id for c in ranked],
    }
    return _queue(session, plan, kind="digest", key=key, payload=payload)


def _mark_notified(session: Session, cases: Sequence[Case], now: datetime) -> None:
    for case in cases:
        case.notified_at = now
        session.add(case)


def _case_message(session: Session, plan: Plan, case: Case, agents: list[str], item: blocks.Listed) -> None:
    channel = attention.channel_for(case.team, plan.slack)
    with i18n.using(plan.language(channel)):
        _one_case_message(session, plan, case, agents, item, channel)


def _one_case_message(
    session: Session, plan: Plan, case: Case, agents: list[str], item: blocks.Listed, channel: str
) -> None:
    money = plan.money
    title = _("New case (already overdue)") if is_overdue(case.sla_due_at, plan.now) else _("New case")
    payload: dict[str, Any] = {
        "channel": channel,
        "text": escape(
            _("%(title)s #%(id)s: %(amount)s at risk (%(tier)s tier)")
            % {"title": title, "id": case.id, "amount": money(case.money_at_risk), "tier": _(case.tier or "unknown")}
            + f" — {blocks.snippet(item.text, 150)}"
        ),
        "blocks": blocks.case_blocks(
            case,
            text=item.text,
            customer=item.customer,
            links=plan.links,
            money=money,
            now=plan.now,
            agents=agents,
            title=title,
        ),
    }
    _queue(session, plan, kind="new_case", key=f"new_case:{case.id}", payload=payload, case_id=case.id)


def _history_cases(session: Session, plan: Plan, cases: Sequence[Case]) -> set[int]:
    """Ids of the cases opened by backfilled history (``notify.backfill``)."""
    if not plan.history or not cases:
        return set()
    posts = {case.post_id: case.id for case in cases}
    rows = session.execute(
        select(col(Post.id), col(Post.source), col(Post.created_at)).where(col(Post.id).in_(list(posts)))
    ).all()
    return {posts[post_id] or 0 for post_id, source, created in rows if is_history(source, created, plan.history)}


def _case_messages(session: Session, plan: Plan) -> None:
    slack, now = plan.slack, plan.now
    fresh = _by_money(
        list(
            session.execute(
                select(Case)
                .where(col(Case.status) == CaseStatus.OPEN, col(Case.notified_at).is_(None))
                .order_by(col(Case.id))
                .with_for_update()
            ).scalars()
        )
    )
    history = _history_cases(session, plan, fresh)
    if slack.backfill or history:
        quiet = fresh if slack.backfill else [c for c in fresh if c.id in history]
        _mark_notified(session, quiet, now)  # history: in the queue, never announced
        plan.silenced += len(quiet)
        fresh = [c for c in fresh if c not in quiet]
    if not fresh:
        return
    immediate = [c for c in fresh if _immediate(c, slack)]
    if attention.is_flood(len(immediate), slack):
        by_channel: dict[str, list[Case]] = defaultdict(list)
        for case in fresh:
            by_channel[attention.channel_for(case.team, slack)].append(case)
        period = attention.bucket(now, slack.digest_minutes)
        for channel, cases in by_channel.items():
            with i18n.using(plan.language(channel)):
                title = _("%(num)s new cases at once") % {"num": len(cases)}
                if _digest(session, plan, cases=cases, channel=channel, title=title, key=f"flood:{channel}:{period}"):
                    _mark_notified(session, cases, now)
        return
    agents: dict[str, list[str]] = {}
    listed = {item.case.id: item for item in _listed(session, immediate)}
    for case in immediate:
        if case.team not in agents:
            agents[case.team] = team_agents(session, case.team)
        _case_message(session, plan, case, agents[case.team], listed[case.id])
        _mark_notified(session, [case], now)
    later: dict[str, list[Case]] = defaultdict(list)
    for case in fresh:
        if not _immediate(case, slack):
            later[case.team].append(case)
    period = attention.bucket(now, slack.digest_minutes)
    for team, cases in later.items():
        channel = attention.channel_for(team, slack)
        with i18n.using(plan.language(channel)):
            title = ngettext(
                "Digest for %(team)s: %(num)s new case", "Digest for %(team)s: %(num)s new cases", len(cases)
            ) % {"team": team, "num": len(cases)}
            # this period's digest went out: these wait for the next one
            if _digest(session, plan, cases=cases, channel=channel, title=title, key=f"digest:{team}:{period}"):
                _mark_notified(session, cases, now)


def _last_breach_alerts(session: Session, case_ids: Sequence[int]) -> dict[int, datetime]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(col(AuditEvent.case_id), func.max(col(AuditEvent.created_at)))
        .where(col(AuditEvent.action) == "sla_breached", col(AuditEvent.case_id).in_(list(case_ids)))
        .group_by(col(AuditEvent.case_id))
    ).all()
    return {int(case_id): when for case_id, when in rows if case_id is not None}


def routing_lead_mention(session: Session, settings: EngagementSettings) -> tuple[str | None, str | None]:
    """The routing lead (``routing.lead``, a user's name or email) as a Slack mention, and a note
    for the alert when it cannot ping them.

    Used when ``slack.lead_mentions`` names nobody for the team: routing already says who
    breaches go to, so the alert names that person. ``<@U…>`` when the user linked their Slack id;
    otherwise their name, which Slack shows but does not ping, with how to fix that.
    """
    name = settings.routing.lead.strip()
    if not name:
        return None, None
    user = find_user(session, name)
    if user is not None and user.slack_user_id:
        return f"<@{user.slack_user_id}>", None
    shown = user.name if user is not None else name
    note = (
        f"{shown} has no Slack id in engagebot, so this names them without a ping: "
        "link it on their account page or set engagement.slack.lead_mentions."
    )
    return escape(f"@{shown}"), escape(note)


def _breaches(session: Session, plan: Plan) -> None:
    slack, now = plan.slack, plan.now
    late = list(session.execute(select(Case).where(overdue(now)).order_by(col(Case.id))).scalars())
    last = _last_breach_alerts(session, [c.id for c in late if c.id is not None])
    history = _history_cases(session, plan, late)
    by_team: dict[str, list[Case]] = defaultdict(list)
    for case in late:
        if case.id in history:
            continue
        if attention.worth_a_breach_alert(case.tier, case.money_at_risk, slack) and not attention.alerted_recently(
            last.get(case.id or 0), now, slack
        ):
            by_team[case.team].append(case)
    period = attention.bucket(now, slack.breach_interval_minutes)
    in_team = overdue_by_team(session, now)  # the lead view's count
    routing_lead, lead_note = routing_lead_mention(session, plan.settings)
    with i18n.using(plan.language(attention.lead_channel(slack))):
        _breach_alerts(session, plan, by_team, in_team, routing_lead, lead_note, period)


def _breach_alerts(
    session: Session,
    plan: Plan,
    by_team: dict[str, list[Case]],
    in_team: dict[str, int],
    routing_lead: str | None,
    lead_note: str | None,
    period: int,
) -> None:
    """One alert per team, in the lead channel's language."""
    slack, now = plan.slack, plan.now
    for team, cases in sorted(by_team.items()):
        ranked = _by_money(cases)
        total_money = sum(c.money_at_risk for c in ranked)
        from_settings = attention.lead_mention(team, slack)
        mention = from_settings or routing_lead
        lead = f"{mention} " if mention else ""
        overdue_here = in_team.get(team, 0)
        in_all = (
            _(" (%(num)s overdue in the team in all)") % {"num": overdue_here} if overdue_here > len(ranked) else ""
        )
        payload: dict[str, Any] = {
            "channel": attention.lead_channel(slack),
            # the mention is ours (validated ids from settings, or an escaped name); the rest is escaped
            "text": lead
            + escape(
                ngettext(  # English keeps "case(s)" (read by scripts); the catalogue has real plurals
                    "%(num)s case(s) past their SLA in team %(team)s: %(amount)s at risk",
                    "%(num)s case(s) past their SLA in team %(team)s: %(amount)s at risk",
                    len(ranked),
                )
                % {"num": len(ranked), "team": team, "amount": plan.money(total_money)}
                + in_all
            ),
            "blocks": blocks.breach_blocks(
                team=team,
                listed=_listed(session, ranked[: slack.digest_top]),
                total=len(ranked),
                total_money=total_money,
                mention=mention,
                queue_url=plan.links.queue(team=team),
                links=plan.links,
                money=plan.money,
                now=now,
                overdue_in_team=in_team.get(team, 0),
                lead_note=None if from_settings else lead_note,
            ),
            "case_ids": [c.id for c in ranked],
            "lead": mention,
        }
        if not _queue(session, plan, kind="sla_breach", key=f"sla_breach:{team}:{period}", payload=payload):
            continue  # this team's alert of this interval went out: the rest wait for the next
        for case in ranked:
            audit(session, case_id=case.id, actor="system", action="sla_breached", now=now, team=team, lead=mention)


def _spikes(session: Session, plan: Plan) -> None:
    slack, now = plan.slack, plan.now
    period = attention.bucket(now, slack.spike_window_hours * 60)
    windows = negative_windows(session, plan.settings, now, history=plan.history)
    for spike in windows.spikes(ratio=slack.spike_ratio, min_count=slack.spike_min_count):
        with i18n.using(plan.language(attention.lead_channel(slack))):
            _spike_alert(session, plan, spike, windows, period)


def _spike_alert(session: Session, plan: Plan, spike: Spike, windows: NegativeWindows, period: int) -> None:
    """One spike's alert, in the language active for the lead channel."""
    slack = plan.slack
    payload: dict[str, Any] = {
        "channel": attention.lead_channel(slack),
        "text": escape(
            _(
                "Negative spike in %(kind)s %(name)s: %(count)s negative posts in %(hours)s h "
                "vs a baseline of %(baseline)s"
            )
            % {
                "kind": _(spike.kind),
                "name": spike.name,
                "count": spike.count,
                "hours": f"{slack.spike_window_hours:g}",
                "baseline": f"{spike.baseline:.1f}",
            }
        ),
        "blocks": blocks.spike_blocks(
            kind=spike.kind,
            name=spike.name,
            count=spike.count,
            baseline=spike.baseline,
            window_hours=slack.spike_window_hours,
            examples=windows.examples_for(spike, slack.spike_examples),
        ),
    }
    _queue(session, plan, kind="spike", key=f"spike:{spike.kind}:{spike.name}:{period}", payload=payload)


def plan_messages(session: Session, settings: EngagementSettings, now: datetime) -> Plan:
    """Decide this run's messages in the caller's transaction (it commits or rolls back)."""
    plan = Plan(
        settings=settings,
        now=now,
        links=Links.from_settings(settings),
        money=Money.from_settings(settings.money),
        added=[],
        history=backfill_marks(session),
    )
    _case_messages(session, plan)
    if not settings.slack.backfill:
        _breaches(session, plan)
        _spikes(session, plan)
    return plan


def enqueue_notifications(engine: Engine, settings: EngagementSettings, now: datetime | None = None) -> dict[str, int]:
    """Write this run's Slack messages to the outbox (see the module's rules); counts by kind.

    Idempotent: every message has a dedupe key (``new_case:<id>``, ``digest:<team>:<period>``,
    ``flood:<channel>:<period>``, ``sla_breach:<team>:<period>``, ``spike:<kind>:<name>:<period>``)
    and cases are marked notified in the same transaction, so re-running adds nothing.
    """
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        # a team's channel set on the Slack admin page counts from this run on (no restart)
        plan = plan_messages(session, effective(session, settings), now)
    result = plan.counts()
    log.info(
        "notify: enqueued %s, %d backfilled case(s) left unannounced",
        result,
        plan.silenced,
        extra={"step": "notify", "counts": result},
    )
    return result
