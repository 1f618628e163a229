"""Block Kit messages: a case (with Claim/Snooze/Assign buttons), a digest, SLA breach, spike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db.models import Case
from engagement.slack_text import escape, link

MAX_TEXT = 600


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _date(when: datetime | None) -> str:
    if when is None:
        return "—"
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def case_url(case_id: int | None, web_base_url: str) -> str:
    return f"{web_base_url.rstrip('/')}/cases/{case_id}"


def case_blocks(
    case: Case,
    *,
    text: str,
    customer: str | None,
    web_base_url: str,
    agents: Sequence[str] = (),
    title: str = "New case",
) -> list[dict[str, Any]]:
    """The case card: priority and money at risk, who, CLV/rCLV, platform, the post, why,
    actions."""
    reasons = case.reasons or {}
    body = escape(text[:MAX_TEXT] + ("…" if len(text) > MAX_TEXT else ""))
    quoted = "\n".join(f">{line}" for line in body.splitlines() or [""])
    who = escape(customer) if customer else "unlinked author"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": escape(f"{title} #{case.id}: {_money(case.money_at_risk)} at risk", limit=150),
            },
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Priority*\n{case.priority:,.0f} (x{reasons.get('age_factor', 1):.2f} for waiting)",
                },
                {"type": "mrkdwn", "text": f"*Money at risk*\n{_money(case.money_at_risk)}"},
                {"type": "mrkdwn", "text": f"*Customer*\n{who} ({escape(case.tier or 'unknown')} tier)"},
                {
                    "type": "mrkdwn",
                    "text": f"*CLV / rCLV*\n{_money(reasons.get('clv'))} / {_money(reasons.get('rclv'))}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Platform*\n{escape(case.platform or '?')} · team {escape(case.team)}",
                },
                {"type": "mrkdwn", "text": f"*SLA due*\n{_date(case.sla_due_at)}"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": quoted}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": escape(reasons.get("why", ""), limit=2000) or " "}],
        },
    ]
    blocks.append(actions_block(case, web_base_url=web_base_url, agents=agents))
    return blocks


def actions_block(case: Case, *, web_base_url: str, agents: Sequence[str] = ()) -> dict[str, Any]:
    """Claim / Snooze / Assign (handled by the interactivity endpoint) and a link to the case."""
    value = str(case.id)
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": "case_claim",
            "text": {"type": "plain_text", "text": "Claim"},
            "style": "primary",
            "value": value,
        },
        {
            "type": "button",
            "action_id": "case_snooze",
            "text": {"type": "plain_text", "text": "Snooze"},
            "value": value,
        },
    ]
    if agents:
        elements.append(
            {
                "type": "static_select",
                "action_id": "case_assign",
                "placeholder": {"type": "plain_text", "text": "Assign to…"},
                "options": [
                    {
                        "text": {"type": "plain_text", "text": escape(name, limit=75)},
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
            "text": {"type": "plain_text", "text": "Open"},
            "url": case_url(case.id, web_base_url),
        }
    )
    return {"type": "actions", "block_id": f"case:{case.id}", "elements": elements}


def taken_blocks(blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The same message with its buttons replaced by who took it (after a Slack action)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]})
    return kept


def digest_blocks(
    team: str, cases: Sequence[tuple[Case, str | None]], *, web_base_url: str, total: int
) -> list[dict[str, Any]]:
    """One message for the cases that did not notify at once: the top ones listed, with the
    total."""
    at_risk = sum(c.money_at_risk for c, _ in cases)
    lines = [
        f"• {link(case_url(c.id, web_base_url), f'#{c.id}')} {_money(c.money_at_risk)} at risk · "
        f"{escape(who or 'unlinked')} · {escape(c.platform or '?')}"
        for c, who in cases[:15]
    ]
    more = f"\n…and {total - len(lines)} more" if total > len(lines) else ""
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": escape(f"Digest for {team}: {total} new case(s)", limit=150)},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{_money(at_risk)}* at risk in total\n" + "\n".join(lines) + more,
            },
        },
    ]


def breach_blocks(case: Case, *, web_base_url: str, now: datetime) -> list[dict[str, Any]]:
    late = (now - case.sla_due_at).total_seconds() / 60 if case.sla_due_at else 0
    holder = case.claimed_by or case.assignee or "nobody"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f":alarm_clock: *SLA breached* on "
                    f"{link(case_url(case.id, web_base_url), f'case #{case.id}')} "
                    f"({escape(case.tier or '?')} tier, team {escape(case.team)}): "
                    f"{late:,.0f} min late, "
                    f"{_money(case.money_at_risk)} at risk, held by {escape(holder)}."
                ),
            },
        },
    ]


def spike_blocks(kind: str, name: str, count: int, baseline: float, window_hours: float) -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f":chart_with_upwards_trend: *Negative spike* in {escape(kind)} *{escape(name)}*: "
                    f"{count} negative posts in the "
                    f"last {window_hours:g} h against a baseline of {baseline:.1f}."
                ),
            },
        },
    ]
