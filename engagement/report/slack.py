"""The short Slack summary of the week: key figures, the top waiting cases, a link to the report."""

from __future__ import annotations

from typing import Any

from engagement.money import Money
from engagement.report import format as fmt
from engagement.report.headline import Headline
from engagement.report.tables import Table
from engagement.slack_text import escape, link

TOP_IN_SLACK = 3


def summary_text(h: Headline, currency: Money, report_link: str) -> str:
    """The plain-text fallback (notifications, clients without blocks)."""
    parts = [
        f"Weekly report {h.week}: {h.posts:,} posts, {fmt.pct(h.negative_share)} negative",
        f"{fmt.money(h.unanswered_money, currency)} at risk unanswered "
        f"({h.unanswered_high_value_cases} high-value posts waiting)",
        f"median first reply {fmt.hours(h.median_response_hours)}, {fmt.pct(h.sla_hit_rate)} within SLA",
    ]
    return escape("; ".join(parts) + f". {report_link}")


def summary_blocks(h: Headline, top: Table, currency: Money, report_link: str) -> list[dict[str, Any]]:
    """Block Kit blocks: header, the key figures as fields, the top unanswered cases, the link."""
    change = "" if h.negative_share_change is None else f" ({fmt.signed_pts(h.negative_share_change)})"
    posts_change = "" if h.posts_change is None else f" ({h.posts_change:+.0%})"
    title = f"Weekly sentiment report {h.week}" + (" (so far)" if h.partial else "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": escape(title, limit=150)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Posts*\n{h.posts:,}{posts_change}"},
                {"type": "mrkdwn", "text": f"*Negative*\n{fmt.pct(h.negative_share)}{change}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Unanswered at risk*\n{fmt.money(h.unanswered_money, currency)} of "
                    f"{fmt.money(h.money_at_risk, currency)}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*High-value posts waiting*\n{h.unanswered_high_value_cases}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*First reply*\nmedian {fmt.hours(h.median_response_hours)}, p90 "
                    f"{fmt.hours(h.p90_response_hours)}",
                },
                {"type": "mrkdwn", "text": f"*Within SLA*\n{fmt.pct(h.sla_hit_rate)}"},
            ],
        },
    ]
    if top.rows:
        lines = [
            f"• {_row_link(row)} {escape(row['customer'])} ({escape(row['tier'])}): "
            f"{fmt.money(row['money_at_risk'], currency)} at risk, waiting "
            f"{fmt.hours(row['waiting_hours'])}"
            for row in top.rows[:TOP_IN_SLACK]
        ]
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Waiting longest for an answer, worth the most*\n" + "\n".join(lines),
                },
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": link(report_link, "Open the full report")}],
        }
    )
    return blocks


def _row_link(row: dict[str, Any]) -> str:
    """``#12`` linked to the case page, or "never triaged" linked to the post (if it has a URL)."""
    label = f"#{row['case']}" if isinstance(row["case"], int) else str(row["case"])
    return link(str(row["url"]), label) if row.get("url") else escape(label)
