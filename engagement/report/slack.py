"""The short Slack summary of the week: key figures, the top waiting cases, a link to the report."""

from __future__ import annotations

from typing import Any

from engagement.i18n import gettext as _
from engagement.money import Money
from engagement.report import format as fmt
from engagement.report.headline import Headline
from engagement.report.tables import Table
from engagement.slack_text import escape, link

TOP_IN_SLACK = 3


def summary_text(h: Headline, currency: Money, report_link: str) -> str:
    """The plain-text fallback (notifications, clients without blocks)."""
    parts = [
        _("Weekly report %(week)s: %(posts)s posts, %(negative)s negative")
        % {"week": h.week, "posts": f"{h.posts:,}", "negative": fmt.pct(h.negative_share)},
        _("%(amount)s at risk unanswered (%(num)s high-value posts waiting)")
        % {"amount": fmt.money(h.unanswered_money, currency), "num": h.unanswered_high_value_cases},
        _("median first reply %(median)s, %(share)s within SLA")
        % {"median": fmt.hours(h.median_response_hours), "share": fmt.pct(h.sla_hit_rate)},
    ]
    return escape("; ".join(parts) + f". {report_link}")


def summary_blocks(h: Headline, top: Table, currency: Money, report_link: str) -> list[dict[str, Any]]:
    """Block Kit blocks: header, the key figures as fields, the top unanswered cases, the link."""
    change = "" if h.negative_share_change is None else f" ({fmt.signed_pts(h.negative_share_change)})"
    posts_change = "" if h.posts_change is None else f" ({h.posts_change:+.0%})"
    title = _("Weekly sentiment report %(week)s") % {"week": h.week} + (_(" (so far)") if h.partial else "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": escape(title, limit=150)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*" + _("Posts") + f"*\n{h.posts:,}{posts_change}"},
                {"type": "mrkdwn", "text": "*" + _("Negative") + f"*\n{fmt.pct(h.negative_share)}{change}"},
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + _("Unanswered at risk")
                    + "*\n"
                    + _("%(unanswered)s of %(total)s")
                    % {
                        "unanswered": fmt.money(h.unanswered_money, currency),
                        "total": fmt.money(h.money_at_risk, currency),
                    },
                },
                {
                    "type": "mrkdwn",
                    "text": "*" + _("High-value posts waiting") + f"*\n{h.unanswered_high_value_cases}",
                },
                {
                    "type": "mrkdwn",
                    "text": "*"
                    + _("First reply")
                    + "*\n"
                    + _("median %(median)s, p90 %(p90)s")
                    % {"median": fmt.hours(h.median_response_hours), "p90": fmt.hours(h.p90_response_hours)},
                },
                {"type": "mrkdwn", "text": "*" + _("Within SLA") + f"*\n{fmt.pct(h.sla_hit_rate)}"},
            ],
        },
    ]
    if top.rows:
        lines = [
            f"• {_row_link(row)} {escape(row['customer'])} ({escape(_(row['tier']))}): "
            + _("%(amount)s at risk, waiting %(hours)s")
            % {"amount": fmt.money(row["money_at_risk"], currency), "hours": fmt.hours(row["waiting_hours"])}
            for row in top.rows[:TOP_IN_SLACK]
        ]
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*" + _("Waiting longest for an answer, worth the most") + "*\n" + "\n".join(lines),
                },
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": link(report_link, _("Open the full report"))}],
        }
    )
    return blocks


def _row_link(row: dict[str, Any]) -> str:
    """``#12`` linked to the case page, or "never triaged" linked to the post (if it has a URL)."""
    label = f"#{row['case']}" if isinstance(row["case"], int) else str(row["case"])
    return link(str(row["url"]), label) if row.get("url") else escape(label)
