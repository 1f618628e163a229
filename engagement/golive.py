"""The go-live checklist: what stands between the demo and answering your own customers.

The same checks feed the admin's checklist page (``/admin/go-live``) and ``engagebot doctor``;
each names what is missing and the link or command that fixes it, so a new install is walked
from "demo" to "live" instead of discovering gaps as complaints that went nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from db.models import Customer, JobRun
from engagement.i18n import N_
from engagement.settings import EngagementSettings
from engagement.settings_store import brand, effective
from engagement.teams import teams


@dataclass(frozen=True)
class Check:
    """One item: done or not, what is missing, and how to fix it (a page and a command)."""

    key: str
    title: str
    ok: bool
    detail: str
    link: str | None = None
    command: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "ok": self.ok,
            "detail": self.detail,
            "link": self.link,
            "command": self.command,
        }


def _failing_sources(session: Session) -> list[str]:
    """Sources whose latest run failed."""
    latest = (
        select(col(JobRun.source), func.max(col(JobRun.id)).label("last"))
        .where(col(JobRun.source).is_not(None))
        .group_by(col(JobRun.source))
        .subquery()
    )
    rows = session.execute(
        select(col(JobRun.source), col(JobRun.status)).join(latest, latest.c.last == col(JobRun.id))
    ).all()
    return sorted(str(source) for source, status in rows if status in ("failed", "died"))


def checklist(
    session: Session, settings: EngagementSettings, *, sources: Sequence[Mapping[str, Any]] = ()
) -> list[Check]:
    """Every check, in the order to do them."""
    current = effective(session, settings)
    checks: list[Check] = []
    name = brand(session, settings).name.strip()
    checks.append(
        Check(
            "brand",
            N_("Brand name set"),
            bool(name),
            f"replies say {name!r} for {{brand}}" if name else N_("no brand name: {brand} in replies reads 'our team'"),
            "/admin/brand",
            'engagebot brand set --name "Your Brand"',
        )
    )
    checks.append(
        Check(
            "crm",
            N_("Customers imported from your CRM"),
            (count := int(session.execute(select(func.count()).select_from(Customer)).scalar_one())) > 0,
            f"{count:,} customers"
            if count
            else N_("no customers yet: nobody's value is known, every case is 'unlinked'"),
            None,
            "engagebot customers import crm.csv",
        )
    )
    warnings = [w for team in teams(session, current.routing) for w in team.warnings]
    checks.append(
        Check(
            "teams",
            N_("Every team with rules or open cases has an agent"),
            not warnings,
            "; ".join(warnings) if warnings else N_("every team is staffed"),
            "/admin/teams",
            "engagebot users add EMAIL --name NAME --team TEAM --invite",
        )
    )
    configured = [str(s.get("name")) for s in sources if s.get("name")]
    failing = _failing_sources(session)
    checks.append(
        Check(
            "sources",
            N_("Sources configured and collecting"),
            bool(configured) and not failing,
            (f"failing: {', '.join(failing)}" if failing else f"{len(configured)} source(s) collecting")
            if configured
            else N_("no sources configured: nothing is collected"),
            "/settings",
            "engagebot status" if failing else "engagebot collect (see docs/sources.md)",
        )
    )
    slack = current.slack
    live_slack = bool(slack.bot_token or slack.webhook_url) and not slack.sink
    checks.append(
        Check(
            "slack",
            N_("Slack connected"),
            live_slack,
            N_("Slack messages go to your workspace")
            if live_slack
            else (
                N_("Slack messages go to a local file (slack.sink)") if slack.sink else N_("no Slack token or webhook")
            ),
            None,
            "ENGAGEBOT_ENGAGEMENT__SLACK__BOT_TOKEN=xoxb-... (scopes in docs/going-live.md)",
        )
    )
    checks.append(
        Check(
            "dry_run",
            N_("Replies are posted (dry run off)"),
            not current.replies.dry_run,
            N_("replies are posted to the platforms")
            if not current.replies.dry_run
            else N_("dry run is on: replies are logged, not posted"),
            None,
            "ENGAGEBOT_ENGAGEMENT__REPLIES__DRY_RUN=false (with each platform's credentials)",
        )
    )
    return checks
