"""Block Kit messages: a case (with Claim/Snooze/Assign buttons), a digest, an SLA-breach alert,
a spike alert.

Every amount goes through the one money formatter (``engagement.money``), every link through
``engagement.links`` (the app's ``public_url``), every piece of text that came from outside
through ``engagement.slack_text.escape``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.models import Case
from engagement.i18n import N_, ngettext
from engagement.i18n import gettext as _
from engagement.links import Links
from engagement.money import Money, explain
from engagement.slack_text import escape, link

MAX_TEXT = 600
SNIPPET = 140
DRY_RUN_FOOTER = N_("engagebot is in dry run: replies are not posted")


@dataclass(frozen=True)
class Listed:
    """A case as a digest or an alert lists it: who wrote it and what they said."""

    case: Case
    customer: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Example:
    """A post shown in a spike alert (its text and author only: a platform URL is not ours to
    render as a link)."""

    text: str
    author: str | None = None


def snippet(text: str, limit: int = SNIPPET) -> str:
    """One line of a post, cut at ``limit`` characters (before escaping, so no entity is cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _date(when: datetime | None) -> str:
    if when is None:
        return "—"
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def overdue_text(case: Case, now: datetime) -> str:
    """``overdue 3 h`` / ``overdue 25 min`` when the SLA has passed, else empty."""
    if case.sla_due_at is None or case.sla_due_at > now:
        return ""
    minutes = (now - case.sla_due_at).total_seconds() / 60
    if minutes >= 90:
        return _("overdue %(hours)s h") % {"hours": f"{minutes / 60:.0f}"}
    return _("overdue %(minutes)s min") % {"minutes": f"{minutes:.0f}"}


def why_line(reasons: Mapping[str, Any], money: Money, *, customer: str | None, tier: str | None) -> str:
    """Why this case matters, every amount in its currency (``engagement.money.explain``), with
    the customer's name and tier escaped for Slack."""
    who = escape(customer) if customer else _("an unlinked author")
    return explain(reasons, money, who=who, tier=escape(tier or "?"))


def with_dry_run_footer(payload: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """The message with a last context line saying replies are not posted, when dry run is on.

    Why on every message: people act on Slack cards (Claim, then reply); a team trialling
    engagebot in dry run must not believe the customers it "answered" heard anything (issue 25).
    Messages without blocks (plain text) get the line appended to their text."""
    if not dry_run:
        return payload
    footer = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{_(DRY_RUN_FOOTER)}_"}]}
    if "blocks" in payload and isinstance(payload["blocks"], list):
        return {**payload, "blocks": [*payload["blocks"][:49], footer]}  # Slack takes at most 50 blocks
    return {**payload, "text": f"{payload.get('text', '')}\n_{_(DRY_RUN_FOOTER)}_"}


def case_blocks(
    case: Case,
    *,
    text: str,
    customer: str | None,
    links: Links,
    money: Money,
    now: datetime,
    agents: Sequence[str] = (),
    title: str = "New case",
) -> list[dict[str, Any]]:
    """The case card: money at risk, who, CLV/rCLV, platform, SLA, the post, why, actions."""
    reasons = case.reasons or {}
    body = escape(text[:MAX_TEXT] + ("…" if len(text) > MAX_TEXT else ""))
    quoted = "\n".join(f">{line}" for line in body.splitlines() or [""])
    who = escape(customer) if customer else _("unlinked author")
    late = overdue_text(case, now)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": escape(
                    _("%(title)s #%(id)s: %(amount)s at risk")
                    % {"title": title, "id": case.id, "amount": money(case.money_at_risk)},
                    limit=150,
                ),
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*" + _("Money at risk") + f"*\n{money(case.money_at_risk)}"},
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + _("Customer")
                    + f"*\n{who} "
                    + _("(%(tier)s tier)") % {"tier": escape(_(case.tier or "unknown"))},
                },
                {
                    "type": "mrkdwn",
                    "text": f"*CLV / rCLV*\n{money(reasons.get('clv'))} / {money(reasons.get('rclv'))}",
                },
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + _("Platform")
                    + f"*\n{escape(case.platform or '?')} · "
                    + _("team %(team)s") % {"team": escape(case.team)},
                },
                {
                    "type": "mrkdwn",
                    "text": "*" + _("SLA due") + f"*\n{_date(case.sla_due_at)}" + (f" ({late})" if late else ""),
                },
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + _("Priority")
                    + f"*\n{case.priority:,.0f} "
                    + _("(x%(factor)s for waiting)") % {"factor": f"{float(reasons.get('age_factor', 1)):.2f}"},
                },
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": quoted}},
    ]
    why = why_line(reasons, money, customer=customer, tier=case.tier)
    if why:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": why[:2000]}]})
    blocks.append(actions_block(case, links=links, agents=agents))
    return blocks


def actions_block(case: Case, *, links: Links, agents: Sequence[str] = ()) -> dict[str, Any]:
    """Claim / Snooze / Assign (handled by the interactivity endpoint) and a link to the case."""
    value = str(case.id)
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": "case_claim",
            "text": {"type": "plain_text", "text": _("Claim")},
            "style": "primary",
            "value": value,
        },
        {
            "type": "button",
            "action_id": "case_snooze",
            "text": {"type": "plain_text", "text": _("Snooze")},
            "value": value,
        },
    ]
    if agents:
        elements.append(
            {
                "type": "static_select",
                "action_id": "case_assign",
                "placeholder": {"type": "plain_text", "text": _("Assign to…")},
                "options": [
                    {
                        "text": {"type": "plain_text", "text": escape(name[:75])},
                        "value": f"{case.id}:{name}"[:150],
                    }
                    for name in list(agents)[:100]
                ],
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": "case_open",
            "text": {"type": "plain_text", "text": _("Open")},
            "url": links.case(case.id),
        }
    )
    return {"type": "actions", "block_id": f"case:{case.id}", "elements": elements}


def taken_blocks(blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The same message with its buttons replaced by who took it (after a Slack action)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]})
    return kept


def _case_line(item: Listed, *, links: Links, money: Money, now: datetime) -> str:
    case = item.case
    late = overdue_text(case, now)
    parts = [
        f"• {link(links.case(case.id), f'#{case.id}')} *{money(case.money_at_risk)}*",
        f"{escape(item.customer or _('unlinked author'))} ({escape(_(case.tier) if case.tier else '?')})",
        escape(case.platform or "?"),
    ]
    if late:
        parts.append(late)
    line = " · ".join(parts)
    if item.text:
        line += f"\n      _{escape(snippet(item.text, 90))}_"
    return line


def digest_blocks(
    *,
    title: str,
    listed: Sequence[Listed],
    total: int,
    total_money: float,
    overdue: int,
    queue_url: str,
    links: Links,
    money: Money,
    now: datetime,
) -> list[dict[str, Any]]:
    """One message for many cases: the count, the money, the ones worth the most (``listed``,
    already sorted and cut), and a button to the queue filtered to them."""
    late = _(", %(num)s already past their SLA") % {"num": overdue} if overdue else ""
    lines = [_case_line(item, links=links, money=money, now=now) for item in listed]
    more = total - len(listed)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": escape(title, limit=150)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ngettext(
                    "*%(amount)s* at risk in %(num)s case%(late)s. Worth the most:",
                    "*%(amount)s* at risk in %(num)s cases%(late)s. Worth the most:",
                    total,
                )
                % {"amount": money(total_money), "num": total, "late": late}
                + "\n"
                + "\n".join(lines),
            },
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_queue",
                    "text": {"type": "plain_text", "text": _("Open the queue")},
                    "style": "primary",
                    "url": queue_url,
                }
            ],
        },
    ]
    if more > 0:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": _("…and %(num)s more, highest money at risk first in the queue.") % {"num": more},
                    }
                ],
            }
        )
    return blocks


def breach_blocks(
    *,
    team: str,
    listed: Sequence[Listed],
    total: int,
    total_money: float,
    mention: str | None,
    queue_url: str,
    links: Links,
    money: Money,
    now: datetime,
    overdue_in_team: int = 0,
    lead_note: str | None = None,
) -> list[dict[str, Any]]:
    """One alert per team and interval: the breached cases worth a lead's attention, the lead
    mentioned (a Slack user or user group from settings, else the routing lead).

    Every case is listed or counted ("…and 3 more"), and ``overdue_in_team`` (the lead view's
    count, ``queue.sla``) is named when it is larger, so the alert and the lead view agree: the
    rest are below ``breach_min_money`` or were alerted within ``breach_repeat_hours``.
    """
    who = f"{mention} " if mention else ""
    lines = [_case_line(item, links=links, money=money, now=now) for item in listed]
    more = total - len(listed)
    if more > 0:
        lines.append(_("…and %(num)s more, highest money at risk first in the queue.") % {"num": more})
    in_all = _(" %(num)s overdue in the team in all.") % {"num": overdue_in_team} if overdue_in_team > total else ""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f":alarm_clock: {who}"
                + ngettext(
                    "*%(num)s case past its SLA* in team %(team)s: *%(amount)s* at risk.",
                    "*%(num)s cases past their SLA* in team %(team)s: *%(amount)s* at risk.",
                    total,
                )
                % {"num": total, "team": escape(team), "amount": money(total_money)}
                + f"{in_all}\n"
                + "\n".join(lines),
            },
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_queue",
                    "text": {"type": "plain_text", "text": _("Open the team's queue")},
                    "url": queue_url,
                }
            ],
        },
    ]
    if mention is None or lead_note:
        note = lead_note or _("No lead to mention for this team: set engagement.slack.lead_mentions or routing.lead.")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return blocks


def spike_blocks(
    *, kind: str, name: str, count: int, baseline: float, window_hours: float, examples: Sequence[Example]
) -> list[dict[str, Any]]:
    """What spiked (a source or a keyword), against what baseline, and a few of the posts."""
    times = f" ({count / baseline:.1f}x)" if baseline > 0 else ""
    what = _("source") if kind == "source" else _("keyword")
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":chart_with_upwards_trend: "
                + _(
                    "*Negative spike* in %(what)s *%(name)s*: %(count)s negative posts in the last %(hours)s h "
                    "against a baseline of %(baseline)s%(times)s."
                )
                % {
                    "what": escape(what),
                    "name": escape(name),
                    "count": count,
                    "hours": f"{window_hours:g}",
                    "baseline": f"{baseline:.1f}",
                    "times": times,
                },
            },
        }
    ]
    if examples:
        lines = []
        for example in examples:
            by = f" — {escape(example.author)}" if example.author else ""
            lines.append(f">{escape(snippet(example.text))}{by}")
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "*" + _("For example") + "*\n" + "\n".join(lines)}}
        )
    return blocks
