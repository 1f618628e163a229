"""``/api/admin/``: people, teams, routing rules, the brand profile, saved replies, sources, the CRM.

Everything an admin sets up to go live, as JSON, under the same policy as the pages: admins
change things, leads read what helps them run a team (teams, rules, the rule tester, the
brand, sources), agents get 403. The admin pages (``/admin/...``) are built on these calls.
What is edited here is stored in the database (``engagement.settings_store``) and used by the
next triage run without a restart.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from db.engine import session_scope
from db.models import Case, Customer, Post, User
from engagement.actors import link_slack
from engagement.customers import crm_upload
from engagement.errors import BadInput, NotFound
from engagement.invites import create_invite, invite_link, unusable_password
from engagement.notify import slack_app
from engagement.queue import templates
from engagement.settings import RoutingRule
from engagement.settings_store import (
    BRAND,
    ROUTING_RULES,
    TEAM_CHANNELS,
    BrandProfile,
    brand,
    effective,
    history,
    parse_brand,
    parse_rules,
    rules_value,
    save,
    stored,
)
from engagement.teams import teams
from engagement.triage.routing import CaseFacts, explain, validate_rules
from engagement.users import create_user, deactivate_user, reactivate_user, validate_user_fields
from engagement.web import ops_view
from engagement.web.deps import CsrfUser, DbSession, Forbidden, LeadUser, State
from engagement.web.ids import DbId

router = APIRouter(prefix="/api/admin", tags=["admin"])


def _csrf_admin(user: CsrfUser) -> User:
    if user.role != "admin":
        raise Forbidden("this needs the admin role")
    return user


CsrfAdmin = Annotated[User, Depends(_csrf_admin)]


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "team": user.team,
        "away": user.is_away,
        "slack_user_id": user.slack_user_id,
        "active": user.deactivated_at is None,
        "deactivated_at": user.deactivated_at.isoformat() if user.deactivated_at else None,
    }


class UserIn(BaseModel):
    """A person to add. Without a password they get a one-time sign-in link (``invite_link``)."""

    email: str = Field(max_length=255)
    name: str = Field(max_length=255)
    role: str = "agent"
    team: str = "default"
    slack_user_id: str | None = Field(default=None, max_length=32)
    password: str | None = Field(default=None, max_length=1024)


class UserChange(BaseModel):
    """What to change about a person; fields left out stay as they are."""

    role: str | None = None
    team: str | None = None
    away: bool | None = None
    slack_user_id: str | None = Field(default=None, max_length=32)
    active: bool | None = Field(default=None, description="false deactivates (ends their sessions), true restores")


@router.get("/users")
def list_users(session: DbSession, user: LeadUser) -> list[dict[str, Any]]:
    """Everyone, active or not, by team, role and name."""
    rows = session.exec(select(User).order_by(User.team, User.role, User.name)).all()
    return [user_out(u) for u in rows]


@router.post("/users", status_code=201)
def add_user(state: State, user: CsrfAdmin, body: UserIn) -> dict[str, Any]:
    """Add a person; without a password the answer carries a one-time ``invite_link`` to copy."""
    with session_scope(state.engine, write=True) as session:
        person = create_user(
            session=session,
            email=body.email,
            name=body.name,
            password=body.password or unusable_password(),
            role=body.role,
            team=body.team,
        )
        if body.slack_user_id:
            link_slack(session, person, body.slack_user_id)
        out = user_out(person)
        if not body.password:
            public = effective(session, state.settings).public_url
            out["invite_link"] = invite_link(public, create_invite(session, person, created_by=user.name))
        return out


@router.post("/users/{user_id}/invite")
def new_invite(state: State, user: CsrfAdmin, user_id: DbId) -> dict[str, Any]:
    """A fresh one-time sign-in link for a person (the earlier one stops working)."""
    with session_scope(state.engine, write=True) as session:
        person = session.get(User, user_id)
        if person is None:
            raise NotFound(f"no user {user_id}")
        public = effective(session, state.settings).public_url
        return {
            **user_out(person),
            "invite_link": invite_link(public, create_invite(session, person, created_by=user.name)),
        }


@router.patch("/users/{user_id}")
def change_user(state: State, user: CsrfAdmin, user_id: DbId, body: UserChange) -> dict[str, Any]:
    """Change role, team, away or Slack id; ``active: false`` deactivates and ends their sessions."""
    with session_scope(state.engine, write=True) as session:
        person = session.get(User, user_id)
        if person is None:
            raise NotFound(f"no user {user_id}")
        validate_user_fields(
            email=person.email,
            name=person.name,
            role=body.role or person.role,
            team=body.team or person.team,
            password="x" * 8,
        )
        if body.role is not None:
            person.role = body.role
        if body.team is not None:
            person.team = body.team
        if body.away is not None:
            person.is_away = body.away
        if body.slack_user_id is not None:
            link_slack(session, person, body.slack_user_id or None)
        ended = 0
        if body.active is False and person.deactivated_at is None:
            if person.id == user.id:
                raise Forbidden("you cannot deactivate yourself")
            ended = deactivate_user(session=session, user=person, now=state.clock())
        elif body.active is True and person.deactivated_at is not None:
            reactivate_user(session=session, user=person)
        session.add(person)
        session.flush()
        return {**user_out(person), "sessions_ended": ended}


@router.get("/teams")
def list_teams(state: State, session: DbSession, user: LeadUser) -> list[dict[str, Any]]:
    """Each team: agents, leads, who is away, the rules routing to it, open cases, warnings."""
    routing = effective(session, state.settings).routing
    return [t.as_dict() for t in teams(session, routing)]


class RulesIn(BaseModel):
    """The whole ordered list of rules (first match wins)."""

    rules: list[dict[str, Any]]


@router.get("/routing-rules")
def get_rules(state: State, session: DbSession, user: LeadUser) -> dict[str, Any]:
    """The rules in force (first match wins), the default team, and the latest changes."""
    routing = effective(session, state.settings).routing
    return {
        "rules": rules_value(routing.rules),
        "default_team": routing.default_team,
        "history": history(session, ROUTING_RULES, limit=20),
    }


@router.put("/routing-rules")
def put_rules(state: State, user: CsrfAdmin, body: RulesIn) -> dict[str, Any]:
    """Replace the rules; the next triage run routes by them (no restart)."""
    rules = parse_rules(body.rules)
    routing = state.settings.routing.model_copy(update={"rules": rules})
    validate_rules(routing)
    with session_scope(state.engine, write=True) as session:
        save(session, ROUTING_RULES, rules_value(rules), actor=user.name, now=state.clock())
        return {"rules": rules_value(rules), "history": history(session, ROUTING_RULES, limit=20)}


@router.post("/routing-rules", status_code=201)
def add_rule(state: State, user: CsrfAdmin, body: RoutingRule, position: int | None = None) -> dict[str, Any]:
    """Add one rule (at ``position``, 1-based; default last)."""
    with session_scope(state.engine, write=True) as session:
        rules = list(effective(session, state.settings).routing.rules)
        place = len(rules) if position is None else max(0, min(len(rules), position - 1))
        rules.insert(place, body)
        rules = parse_rules(rules_value(rules))
        validate_rules(state.settings.routing.model_copy(update={"rules": rules}))
        save(session, ROUTING_RULES, rules_value(rules), actor=user.name, now=state.clock())
        return {"rules": rules_value(rules)}


@router.delete("/routing-rules/{name}")
def delete_rule(state: State, user: CsrfAdmin, name: str) -> dict[str, Any]:
    """Remove the rule named ``name``."""
    with session_scope(state.engine, write=True) as session:
        rules = list(effective(session, state.settings).routing.rules)
        kept = [r for r in rules if r.name != name]
        if len(kept) == len(rules):
            raise NotFound(f"no routing rule named {name!r}")
        save(session, ROUTING_RULES, rules_value(kept), actor=user.name, now=state.clock())
        return {"rules": rules_value(kept)}


class RuleTest(BaseModel):
    """A post to route: its text, language and platform (and optionally tier, segment, stars)."""

    text: str = Field(max_length=20_000)
    lang: str | None = Field(default=None, max_length=16)
    platform: str | None = Field(default=None, max_length=32)
    tier: str | None = Field(default=None, max_length=16)
    segment: str | None = Field(default=None, max_length=64)
    rating: int | None = Field(default=None, ge=1, le=5)


@router.post("/routing-rules/test")
def test_rule(state: State, session: DbSession, user: LeadUser, body: RuleTest) -> dict[str, Any]:
    """Which team a post would go to and by which rule (``rule`` null: the default team)."""
    routing = effective(session, state.settings).routing
    decision = explain(
        CaseFacts(
            text=body.text,
            platform=body.platform,
            lang=body.lang,
            segment=body.segment,
            tier=body.tier,
            rating=body.rating,
        ),
        routing,
    )
    return {"team": decision.team, "rule": decision.rule, "why": decision.why}


@router.get("/routing-rules/replay")
def replay_rules(
    state: State,
    session: DbSession,
    user: LeadUser,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> dict[str, Any]:
    """What would have gone where: the cases opened in the last ``days`` routed by the rules in
    force now, by team, and the ones that would move (before an admin saves a rule change)."""
    routing = effective(session, state.settings).routing
    since = state.clock() - timedelta(days=days)
    rows = session.execute(
        select(Case, Post, Customer)
        .join(Post, col(Post.id) == col(Case.post_id))
        .outerjoin(Customer, col(Customer.id) == col(Case.customer_id))
        .where(col(Case.created_at) >= since)
        .order_by(col(Case.id))
    ).all()
    by_team: dict[str, int] = {}
    moved: list[dict[str, Any]] = []
    for case, post, customer in rows:
        text = " ".join(x for x in (post.title, post.text) if x)
        facts = CaseFacts(text=text, platform=post.platform, lang=post.lang, tier=case.tier, rating=post.rating,
                          segment=customer.segment if customer is not None else None)  # fmt: skip
        decision = explain(facts, routing)
        by_team[decision.team] = by_team.get(decision.team, 0) + 1
        if decision.team != case.team:
            moved.append({"case_id": case.id, "from": case.team, "to": decision.team, "rule": decision.rule})
    return {"days": days, "cases": len(rows), "by_team": by_team, "moved": moved}


@router.get("/brand")
def get_brand(state: State, session: DbSession, user: LeadUser) -> dict[str, Any]:
    """The brand profile: name (``{brand}`` in replies), handles, currency, locale, URL, time zone."""
    return {**brand(session, state.settings).model_dump(), "history": history(session, BRAND, limit=20)}


@router.put("/brand")
def put_brand(state: State, user: CsrfAdmin, body: BrandProfile) -> dict[str, Any]:
    """Replace the brand profile (used at once by replies, links and amounts)."""
    profile = parse_brand(body.model_dump())
    with session_scope(state.engine, write=True) as session:
        save(session, BRAND, profile.model_dump(), actor=user.name, now=state.clock())
    return profile.model_dump()


@router.get("/saved-replies")
def saved_replies(
    state: State,
    session: DbSession,
    user: LeadUser,
    team: Annotated[str | None, Query(max_length=64)] = None,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> list[dict[str, Any]]:
    """Saved replies a team can use, ``lang``'s first (a reply named ``...-de`` or ``... (de)``
    is German); ``{brand}`` comes from the brand profile."""
    views = templates.saved_replies(session, team=team, settings=state.settings.replies, lang=lang)
    return [{"name": v.name, "text": v.text, "team": v.team, "lang": templates.reply_lang(v.name)} for v in views]


@router.get("/sources")
def sources(state: State, session: DbSession, user: LeadUser) -> list[dict[str, Any]]:
    """Each collector: configured or not, last run and its outcome, next run, last error, posts
    stored. ``POST sources/{name}/run`` and ``sources/{name}/test`` act on one (admins)."""
    out = []
    for status in ops_view.source_statuses(session=session, configured=state.sources):
        last, error = status.last_run, status.last_error
        interval = status.config.get("interval_minutes")
        due = last.started_at + timedelta(minutes=float(interval)) if last and interval else None
        out.append(
            {
                "name": status.name,
                "configured": bool(status.config),
                "platform": status.config.get("platform"),
                "last_run": last.started_at.isoformat() if last else None,
                "last_status": last.status if last else None,
                "next_run": due.isoformat() if due and status.config.get("enabled", True) else None,
                # a collect run counts the posts it stored as "added" (listener SourceResult)
                "items": (last.counts or {}).get("added", (last.counts or {}).get("stored")) if last else None,
                "last_error": error.error if error else None,
                "last_error_at": error.started_at.isoformat() if error else None,
                "failing": bool(last and last.status == "failed"),
                "posts": status.posts,
            }
        )
    return out


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded file, refused past ``crm_upload.MAX_UPLOAD_BYTES`` without reading it all."""
    data = await file.read(crm_upload.MAX_UPLOAD_BYTES + 1)
    if len(data) > crm_upload.MAX_UPLOAD_BYTES:
        raise BadInput(f"the file is over {crm_upload.MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    return data


def parse_mapping(text: str) -> dict[str, str]:
    """A mapping sent as a form field: a JSON object ``{"column": "field"}`` (empty: none)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadInput('mapping: a JSON object such as {"Kundennr": "crm_id"}') from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadInput('mapping: a JSON object such as {"Kundennr": "crm_id"}')
    return value


@router.get("/crm")
def crm_mapping(state: State, session: DbSession, user: LeadUser) -> dict[str, Any]:
    """The column mapping confirmed at the last web import (offered for the next file)."""
    return {
        "mapping": crm_upload.remembered_map(session),
        "history": history(session, crm_upload.CRM_COLUMNS, limit=10),
    }


@router.post("/crm/preview")
async def crm_preview(
    state: State,
    user: CsrfAdmin,
    file: Annotated[UploadFile | None, File(description="the CRM's customers CSV, headers as it comes")] = None,
    upload: Annotated[str, Form(max_length=64, description="a file uploaded before (its token)")] = "",
    mapping: Annotated[str, Form(max_length=20_000, description='JSON {"column": "field"} changes')] = "",
) -> dict[str, Any]:
    """Upload a customers CSV (or name one uploaded before) and see, without writing anything,
    its first rows, the column mapping (remembered, your changes, else guessed) and what the
    import would change: new and updated customers, rejected rows with their reasons."""
    if file is not None:
        upload = crm_upload.keep_upload(await read_upload(file))
    if not upload:
        raise BadInput("send the CSV as file (or the upload token of an earlier preview)")
    max_clv = state.settings.clv.max_imported_clv
    return crm_upload.preview(state.engine, upload, parse_mapping(mapping), max_clv=max_clv).as_dict()


class CrmImportIn(BaseModel):
    """An upload to import (the token from ``/crm/preview``) with the mapping confirmed."""

    upload: str = Field(max_length=64)
    mapping: dict[str, str] = Field(default_factory=dict, description="column -> field; - ignores a column")


@router.post("/crm/import")
def crm_import(state: State, user: CsrfAdmin, body: CrmImportIn) -> dict[str, Any]:
    """Import the previewed file with the confirmed mapping, and remember the mapping."""
    max_clv = state.settings.clv.max_imported_clv
    report = crm_upload.import_upload(state.engine, body.upload, body.mapping, actor=user.name, max_clv=max_clv)
    return {
        "rows": report.rows,
        "new": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "identities": report.identities,
        "rejected": [{"line": x.line, "reason": x.reason} for x in report.rejected],
        "warnings": report.warnings,
        "mapping": report.mapping,
    }


CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{6,20})$")


def slack_overview(state: State, session: DbSession) -> dict[str, Any]:
    """Slack as the app sees it: how messages leave (and whether Slack takes the token), the
    channels, each team's channel (set here, in the TOML, or the default)."""
    slack = effective(session, state.settings).slack
    stored_channels = stored(session, TEAM_CHANNELS) or {}
    names = sorted({t.name for t in teams(session, effective(session, state.settings).routing)})
    return {
        "token": slack_app.token_status(slack).as_dict(),
        "default_channel": slack.default_channel,
        "lead_channel": slack.lead_channel or slack.default_channel,
        "teams": [
            {
                "team": name,
                "channel": slack.team_channels.get(name, slack.default_channel),
                "set_here": name in stored_channels,
                "default": name not in slack.team_channels,
            }
            for name in names
        ],
        "scopes": list(slack_app.SCOPES),
        "manifest_url": "/api/admin/slack/manifest",
    }


@router.get("/slack")
def get_slack(state: State, session: DbSession, user: LeadUser) -> dict[str, Any]:
    """Token status (one ``auth.test`` with a bot token), channels, each team's channel, scopes."""
    return slack_overview(state, session)


@router.get("/slack/manifest", response_class=PlainTextResponse)
def slack_manifest(state: State, session: DbSession, user: LeadUser) -> PlainTextResponse:
    """The Slack app manifest (YAML) with every scope the code uses and this app's
    interactivity URL: paste it at api.slack.com/apps, Create New App, From an app manifest."""
    text = slack_app.manifest(effective(session, state.settings).public_url)
    return PlainTextResponse(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="engagebot-slack-manifest.yaml"'},
    )


@router.put("/slack/channels")
def put_team_channels(
    state: State,
    user: CsrfAdmin,
    body: Annotated[dict[str, str], Body(description='team -> "#channel" or a channel id; blank: the default')],
) -> dict[str, Any]:
    """Each team's Slack channel (stored with its trail; the next notify run uses it)."""
    channels: dict[str, str] = {}
    for team, channel in body.items():
        channel = channel.strip()
        if not channel:
            continue
        if not CHANNEL.match(channel):
            raise BadInput(f"{team}: {channel!r} is not a channel: write #name (lower case) or its id (C0123ABC)")
        channels[team.strip()[:64]] = channel
    with session_scope(state.engine, write=True) as session:
        save(session, TEAM_CHANNELS, channels, actor=user.name, now=state.clock())
    return {"team_channels": channels}


class SlackTest(BaseModel):
    """Where to send the test message: a channel, or a team's channel (else the default)."""

    channel: str = Field(default="", max_length=100)
    team: str = Field(default="", max_length=64)


@router.post("/slack/test")
def slack_test(state: State, user: CsrfAdmin, body: SlackTest) -> dict[str, Any]:
    """Send a test message through the outbox and deliver it now; says whether it went."""
    with session_scope(state.engine) as session:
        slack = effective(session, state.settings).slack
    channel = body.channel.strip() or slack.team_channels.get(body.team.strip(), slack.default_channel)
    if not CHANNEL.match(channel):
        raise BadInput(f"{channel!r} is not a channel: write #name (lower case) or its id (C0123ABC)")
    return {"channel": channel, **slack_app.send_test_message(state.engine, slack, channel=channel, actor=user.name,
                                                              now=state.clock())}  # fmt: skip


__all__ = ["router", "slack_overview", "user_out"]
