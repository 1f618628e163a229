"""The demo: one full cycle on the bundled Skylark Air data, no network, no credentials.

The bundled files are recorded-style payloads with fixed dates (their newest post is at
``RECORDED_END``). So that triage windows, SLA clocks and the weekly report behave as they
would live, the demo shifts every timestamp by one offset that makes the newest post 30
minutes old. The offset is stored on first run (as the ``demo`` source's cursor) and reused,
so re-running the demo changes nothing.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from db.engine import session_scope
from db.models import SourceCursor
from db.types import utcnow
from engagebot import pipeline
from engagebot.config import Settings
from engagement.settings import EngagementSettings, RoutingRule

log = logging.getLogger("engagebot.demo")

DEMO_DATA = Path(__file__).parent / "demo_data"
RECORDED_END = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
DEMO_CURSOR = "demo"
BRAND_HANDLES: dict[str, list[str]] = {
    "x": ["skylarkair", "skylarkhelp"],
    "reddit": ["skylark_support"],
    "facebook": ["100064512345678"],  # the Page's id: Graph comments name their author by id only
    "instagram": ["skylarkair"],
}
POST_FILES: list[tuple[str, str, str]] = [
    # (platform, source name, file glob)
    ("x", "demo-x-search", "x_search_page*.json"),
    ("x", "demo-x-mentions", "x_mentions_page*.json"),
    ("reddit", "demo-reddit", "reddit_listing.json"),
    ("appstore", "demo-appstore", "appstore_feed.json"),
    ("googleplay", "demo-googleplay", "googleplay_reviews.json"),
    ("facebook", "demo-facebook", "facebook_page.json"),
    ("instagram", "demo-instagram", "instagram_media.json"),
    ("appstore", "demo-appstore-connect", "appstore_connect_reviews.json"),
]


@dataclass
class DemoResult:
    time_shift: timedelta
    steps: list[pipeline.StepResult] = field(default_factory=list)
    workdir: Path = Path("out")


#: the demo's routing, used when the settings name no rules: refunds to billing, German posts
#: to a DACH desk, low-star app reviews to the app team, the rest to care
DEMO_RULES: tuple[RoutingRule, ...] = (
    RoutingRule(name="refunds", team="billing",
                keywords=["refund", "refunds", "charged twice", "charged me twice", "double charged"]),
    RoutingRule(name="german", team="dach", languages=["de"]),
    RoutingRule(name="app-reviews", team="app", platforms=["appstore", "googleplay"], max_rating=2),
)  # fmt: skip
DEMO_DEFAULT_TEAM = "care"


def demo_settings(settings: Settings, *, language: str | None = None) -> Settings:
    """The user's settings with the demo brand's accounts, a local Slack sink and, unless the
    settings have their own, the demo's routing rules (teams billing, dach, app, care), its lead
    and round-robin assignment to its agents. ``language`` (``--language de``) is the brand's
    language for the demo (``[engagement] language``)."""
    demo = settings.model_copy(deep=True)
    if language is not None:
        demo.engagement.language = EngagementSettings.model_validate({"language": language}).language
    routing = demo.engagement.routing
    if not routing.rules:
        routing.rules = [rule.model_copy() for rule in DEMO_RULES]
        routing.default_team = DEMO_DEFAULT_TEAM
        routing.lead = DEMO_LEAD_NAME
        routing.auto_assign = True
    if not demo.engagement.replies.brand_name:  # {brand} in replies: "Skylark Air", not "our team"
        demo.engagement.replies.brand_name = DEMO_BRAND_NAME
    for name, text in DEMO_REPLIES.items():  # English and German: a German case is offered German first
        demo.engagement.replies.templates.setdefault(name, text)
    for platform, handles in BRAND_HANDLES.items():
        known = demo.listener.brand_handles.setdefault(platform, [])
        known.extend(h for h in handles if h not in known)
    if (
        demo.engagement.slack.sink is None
        and demo.engagement.slack.bot_token is None
        and demo.engagement.slack.webhook_url is None
    ):
        demo.engagement.slack.sink = str(settings.output_dir / "slack-demo.jsonl")
    return demo


def write_demo_config(settings: Settings, path: Path) -> bool:
    """Keep the demo's setup for the commands that follow it: when there is no settings file and
    the settings name no routing rules, write ``path`` with the demo's routing, brand handles and
    Slack sink. Without it ``engagebot run``, ``triage`` and ``web`` after the demo would route
    new cases to team ``default``, a queue none of the demo's people work. Returns whether it
    wrote the file (never overwrites one)."""
    if path.exists() or settings.engagement.routing.rules:
        return False
    demo = demo_settings(settings)
    routing = demo.engagement.routing
    lines = [
        "# Written by `engagebot demo` (there was no engagebot.toml): the demo brand's routing,",
        "# brand handles and Slack sink, so `engagebot run`, `triage`, `web` and `rules test` keep",
        "# working the demo's cases the way the demo did. Edit it for your brand, or delete it.",
        "",
        "[listener.brand_handles]",
        *(f"{platform} = {json.dumps(handles)}" for platform, handles in demo.listener.brand_handles.items()),
        "",
        "[engagement.routing]",
        f"default_team = {json.dumps(routing.default_team)}",
        *([f"lead = {json.dumps(routing.lead)}"] if routing.lead else []),
        f"auto_assign = {json.dumps(routing.auto_assign)}",
    ]
    for rule in routing.rules:
        lines += ["", "[[engagement.routing.rules]]"]
        for key, value in rule.model_dump(exclude_defaults=True).items():
            lines.append(f"{key} = {json.dumps(value)}")  # JSON strings, numbers and lists are TOML
    lines += ["", "[engagement.replies]", f"brand_name = {json.dumps(demo.engagement.replies.brand_name)}"]
    replies = demo.engagement.replies.templates
    lines += ["", "[engagement.replies.templates]", *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in replies.items())]
    if demo.engagement.slack.sink:
        lines += ["", "[engagement.slack]", f"sink = {json.dumps(demo.engagement.slack.sink)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


def time_shift(engine: Engine, *, now: datetime | None = None) -> timedelta:
    """The demo's offset: computed once (newest post 30 minutes before now), then reused."""
    with session_scope(engine) as session:
        cursor = session.exec(select(SourceCursor).where(SourceCursor.source == DEMO_CURSOR)).first()
        if cursor is not None and "time_shift_seconds" in cursor.position:
            return timedelta(seconds=float(cursor.position["time_shift_seconds"]))
        shift = (now or utcnow()) - timedelta(minutes=30) - RECORDED_END
        shift = timedelta(seconds=round(shift.total_seconds() / 60) * 60)
        session.add(SourceCursor(source=DEMO_CURSOR, position={"time_shift_seconds": shift.total_seconds()}))
        return shift


def shifted_transactions(source: Path, target: Path, shift: timedelta) -> Path:
    """A copy of the CRM's transactions with dates moved by the demo's offset (whole days)."""
    days = timedelta(days=round(shift.total_seconds() / 86400))
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open(newline="", encoding="utf-8") as src, target.open("w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for row in reader:
            row["date"] = (date.fromisoformat(row["date"]) + days).isoformat()
            writer.writerow(row)
    return target


def import_crm(settings: Settings, engine: Engine, shift: timedelta) -> pipeline.StepResult:
    from engagement.customers.crm_import import import_customers, import_transactions

    customers = import_customers(engine, DEMO_DATA / "customers.csv")
    transactions_file = shifted_transactions(
        DEMO_DATA / "transactions.csv", settings.output_dir / "demo" / "transactions.csv", shift
    )
    transactions = import_transactions(engine, transactions_file)
    return pipeline.StepResult(
        "import CRM", {"customers": _report_counts(customers), "transactions": _report_counts(transactions)}
    )


def import_posts(settings: Settings, engine: Engine, shift: timedelta) -> pipeline.StepResult:
    from listener.importer import import_files

    counts: dict[str, Any] = {}
    for platform, source, pattern in POST_FILES:
        files = sorted(DEMO_DATA.glob(pattern))
        result = import_files(
            engine,
            platform=platform,
            paths=files,
            source=source,
            brand_handles=settings.listener.brand_handles,
            time_shift=shift,
        )
        counts[source] = {"added": result.added, "duplicates": result.duplicates, "rejected": result.rejected}
    return pipeline.StepResult("collect (bundled payloads)", counts)


def _report_counts(report: Any) -> dict[str, Any]:
    return {
        key: (len(value) if isinstance(value, list) else value)
        for key, value in vars(report).items()
        if isinstance(value, int | list) and not key.startswith("_")
    }


def run_demo(settings: Settings, engine: Engine, *, now: datetime | None = None) -> DemoResult:
    """Import the demo CRM and posts, then score, link, value, triage, report and notify."""
    settings = demo_settings(settings)
    shift = time_shift(engine, now=now)
    result = DemoResult(time_shift=shift, workdir=settings.output_dir)
    result.steps.append(import_crm(settings, engine, shift))
    result.steps.append(import_posts(settings, engine, shift))
    result.steps.append(pipeline.score(settings, engine, progress=True))
    result.steps.append(pipeline.link_and_value(settings, engine, now=now))
    ensure_demo_users(engine)  # before triage: it assigns new cases to the demo's agents
    result.steps.append(pipeline.triage(settings, engine, now=now))
    # The report queues its Slack summary, so it runs before notify delivers the outbox.
    result.steps.append(pipeline.weekly_report(settings, engine, week=demo_week(now), now=now))
    result.steps.append(pipeline.notify(settings, engine, now=now))
    return result


def demo_week(now: datetime | None = None) -> str:
    """The ISO week in the middle of the demo's recent posts (its last seven days)."""
    year, week, _ = ((now or utcnow()) - timedelta(days=3, hours=12)).isocalendar()
    return f"{year}-W{week:02d}"


DEMO_BRAND_NAME = "Skylark Air"
DEMO_REPLIES = {
    "apology-de": "Hallo {first_name}, das tut uns sehr leid. Bitte schicken Sie uns Ihre Buchungsnummer per DM "
    "(Fall {case_id}), {brand}.",
    "refund-en": "Hi {first_name}, {brand} here: we'll look into your refund today. Please DM us your booking "
    "reference (case {case_id}).",
    "refund-de": "Hallo {first_name}, hier ist {brand}: Wir kümmern uns heute um Ihre Erstattung. Bitte senden Sie "
    "uns Ihre Buchungsnummer per DM (Fall {case_id}).",
}
DEMO_USER_EMAIL = "demo@skylark.example"
DEMO_USER_PASSWORD = "skylark-demo"
DEMO_LEAD_NAME = "Lena"


@dataclass(frozen=True)
class DemoUser:
    """A person the demo signs up, with the password it prints (demo data, never a real one)."""

    email: str
    name: str
    role: str
    team: str
    password: str


#: an admin, a lead and an agent for every team the demo routes to (care, billing, the
#: German-reading DACH desk, the app team): a team its rules route to with nobody in it would
#: leave its cases unclaimable (an agent of another team gets a 403) and unassigned
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin@skylark.example", "Adam", "admin", DEMO_DEFAULT_TEAM, "skylark-admin"),
    DemoUser(DEMO_USER_EMAIL, DEMO_LEAD_NAME, "lead", DEMO_DEFAULT_TEAM, DEMO_USER_PASSWORD),
    DemoUser("ana@skylark.example", "Ana", "agent", DEMO_DEFAULT_TEAM, "skylark-ana"),
    DemoUser("ben@skylark.example", "Ben", "agent", "billing", "skylark-ben"),
    DemoUser("jonas@skylark.example", "Jonas", "agent", "dach", "skylark-jonas"),
    DemoUser("priya@skylark.example", "Priya", "agent", "app", "skylark-priya"),
)


def ensure_demo_users(engine: Engine) -> tuple[DemoUser, ...]:
    """Create the demo's people once (an existing email is left as it is)."""
    from engagement.users import create_user, get_user_by_email

    with session_scope(engine) as session:
        for person in DEMO_USERS:
            if get_user_by_email(session=session, email=person.email) is None:
                create_user(session=session, email=person.email, name=person.name, password=person.password,
                            role=person.role, team=person.team)  # fmt: skip
    return DEMO_USERS


def ensure_demo_user(engine: Engine) -> tuple[str, str]:
    """The demo lead's sign-in (after creating every demo user)."""
    ensure_demo_users(engine)
    return DEMO_USER_EMAIL, DEMO_USER_PASSWORD
