"""The backlog's one Slack summary: the cases triage took in from before its window.

A new install's first triage (or ``triage --backlog``) can open dozens of cases at once, all
of them days old. One message each would bury the channel, and a digest per team would read
as if they had just come in; so the backlog gets one summary in the lead channel: how many,
the money at risk, the ones worth the most, and a link to the queue filtered to ``backlog``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Case, CaseTag, Customer, Post
from db.types import utcnow
from engagement import i18n
from engagement.i18n import gettext as _
from engagement.i18n import ngettext
from engagement.links import Links
from engagement.money import Money
from engagement.notify import attention, blocks
from engagement.notify.outbox import enqueue
from engagement.settings import EngagementSettings
from engagement.slack_text import escape
from engagement.triage.cases import BACKLOG_TAG

KIND = "backlog"


def announce_backlog(engine: Engine, settings: EngagementSettings, now: datetime | None = None) -> bool:
    """Queue the summary of the latest backlog run, once (its dedupe key is the run's time);
    returns True when a message was queued."""
    now = now or utcnow()
    slack = settings.slack
    with session_scope(engine, write=True) as session:
        tagged = select(Case).join(CaseTag, col(CaseTag.case_id) == col(Case.id)).where(col(CaseTag.tag) == BACKLOG_TAG)
        latest = session.execute(
            select(func.max(col(Case.created_at)))
            .join(CaseTag, col(CaseTag.case_id) == col(Case.id))
            .where(col(CaseTag.tag) == BACKLOG_TAG)
        ).scalar_one_or_none()
        if latest is None:
            return False
        found = session.execute(tagged.where(col(Case.created_at) == latest).order_by(col(Case.money_at_risk).desc()))
        cases = [c for c in found.scalars() if (c.reasons or {}).get("backlog")]
        if not cases:
            return False
        top = cases[: slack.digest_top]
        names = dict(
            session.execute(
                select(col(Customer.id), col(Customer.name)).where(
                    col(Customer.id).in_([c.customer_id for c in top if c.customer_id is not None])
                )
            ).all()
        )
        texts = dict(
            session.execute(
                select(col(Post.id), col(Post.text)).where(col(Post.id).in_([c.post_id for c in top]))
            ).all()
        )
        listed = [
            blocks.Listed(case=c, customer=names.get(c.customer_id), text=texts.get(c.post_id) or "") for c in top
        ]
        money = Money.from_settings(settings.money)
        links = Links.from_settings(settings)
        total = sum(c.money_at_risk for c in cases)
        days = settings.triage.backlog_days
        channel = attention.lead_channel(slack)
        with i18n.using(attention.channel_language(channel, slack, settings.language)):
            title = ngettext(
                "Backlog: %(num)s unanswered complaint from the last %(days)s days",
                "Backlog: %(num)s unanswered complaints from the last %(days)s days",
                len(cases),
            ) % {"num": len(cases), "days": f"{days:g}"}
            payload: dict[str, Any] = {
                "channel": channel,
                "text": escape(_("%(title)s: %(amount)s at risk") % {"title": title, "amount": money(total)}),
                "blocks": blocks.digest_blocks(
                    title=title,
                    listed=listed,
                    total=len(cases),
                    total_money=total,
                    overdue=0,
                    queue_url=f"{links.queue()}?tag={BACKLOG_TAG}",
                    links=links,
                    money=money,
                    now=now,
                ),
                "case_ids": [c.id for c in cases],
            }
            payload = blocks.with_dry_run_footer(payload, dry_run=settings.replies.dry_run)
        row = enqueue(
            session, kind=KIND, key=f"backlog:{latest.isoformat()}", payload=payload, now=now, slack=slack, urgent=True
        )
        return row is not None
