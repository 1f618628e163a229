"""Where settings live: what admins edit in the app is stored in the database, with a trail.

``engagebot.toml`` keeps infrastructure and secrets. The routing rules and the brand profile
are people's decisions that change while the app runs, so they live in ``admin_settings``:
seeded from the TOML on the app's first start (``seed``), edited through ``/api/admin/``,
each change recorded in ``admin_setting_changes`` (who, when, before, after), and read by
``effective`` wherever they are used, so triage routes the next post by a new rule without a
restart. Precedence: once a key is stored, the database wins over the TOML for that key; a
key never stored falls back to the TOML.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.engine import session_scope
from db.models import AdminSetting, AdminSettingChange
from db.types import utcnow
from engagement.errors import BadInput
from engagement.settings import EngagementSettings, MoneySettings, RoutingRule

ROUTING_RULES = "routing_rules"
BRAND = "brand"
TEAM_CHANNELS = "slack_team_channels"
"""Team -> Slack channel as set on the Slack admin page, laid over ``slack.team_channels``."""
SEED_ACTOR = "engagebot.toml"


class BrandProfile(BaseModel):
    """Who the brand is: its name (``{brand}`` in replies), accounts, money and where it lives."""

    name: str = Field(default="", max_length=100)
    handles: dict[str, list[str]] = Field(default_factory=dict, description="platform -> the brand's accounts")
    currency: str = "USD"
    locale: str = "en_US"
    public_url: str = ""
    time_zone: str = "UTC"


def stored(session: Session, key: str) -> Any:
    """The stored value of ``key`` (None when never stored)."""
    row = session.get(AdminSetting, key)
    return None if row is None else row.value


def save(
    session: Session, key: str, value: Any, *, actor: str, action: str = "updated", now: datetime | None = None
) -> None:
    """Store ``value`` under ``key`` and record the change (nothing when it is unchanged)."""
    now = now or utcnow()
    row = session.get(AdminSetting, key)
    before = None if row is None else row.value
    if row is not None and before == value:
        return
    if row is None:
        row = AdminSetting(key=key, value=value, updated_by=actor, updated_at=now)
    else:
        row.value, row.updated_by, row.updated_at = value, actor, now
    session.add(row)
    session.add(AdminSettingChange(key=key, actor=actor, action=action, before=before, after=value, created_at=now))
    session.flush()


def history(session: Session, key: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest changes of ``key``, newest first."""
    rows = session.exec(
        select(AdminSettingChange)
        .where(col(AdminSettingChange.key) == key)
        .order_by(col(AdminSettingChange.id).desc())
        .limit(limit)
    ).all()
    return [
        {"actor": r.actor, "action": r.action, "at": r.created_at.isoformat(), "before": r.before, "after": r.after}
        for r in rows
    ]


def rules_value(rules: list[RoutingRule]) -> list[dict[str, Any]]:
    """Rules as stored: plain JSON, unset fields left out."""
    return [rule.model_dump(exclude_defaults=True) for rule in rules]


def parse_rules(value: Any) -> list[RoutingRule]:
    """Validated rules from JSON (``BadInput`` saying which rule and why)."""
    if not isinstance(value, list):
        raise BadInput("routing rules are a list of rules")
    rules: list[RoutingRule] = []
    for number, item in enumerate(value, 1):
        try:
            rules.append(RoutingRule.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "rule"
            raise BadInput(f"routing rule {number}: {where}: {first['msg']}") from None
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise BadInput("routing rules need distinct names")
    return rules


def brand_from_settings(settings: EngagementSettings) -> BrandProfile:
    """The brand profile the TOML implies (the seed)."""
    handle = settings.replies.x_brand_handle
    return BrandProfile(
        name=settings.replies.brand_name,
        handles={"x": [handle.lstrip("@")]} if handle else {},
        currency=settings.money.currency,
        locale=settings.money.locale,
        public_url=settings.public_url,
    )


def brand(session: Session, settings: EngagementSettings) -> BrandProfile:
    """The brand profile: stored, else from the TOML."""
    value = stored(session, BRAND)
    return BrandProfile.model_validate(value) if value is not None else brand_from_settings(settings)


def parse_brand(value: Any) -> BrandProfile:
    """A validated brand profile (its currency and locale checked as ``engagement.money`` does)."""
    try:
        profile = BrandProfile.model_validate(value)
        MoneySettings(currency=profile.currency, locale=profile.locale)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInput(f"brand: {'.'.join(str(p) for p in first['loc']) or 'value'}: {first['msg']}") from None
    return profile


def seed(engine: Engine, settings: EngagementSettings, *, now: datetime | None = None) -> None:
    """On first start, store the TOML's routing rules and brand profile (a stored key is kept)."""
    with session_scope(engine, write=True) as session:
        if session.get(AdminSetting, ROUTING_RULES) is None:
            save(
                session, ROUTING_RULES, rules_value(settings.routing.rules), actor=SEED_ACTOR, action="seeded", now=now
            )
        if session.get(AdminSetting, BRAND) is None:
            value = brand_from_settings(settings).model_dump()
            save(session, BRAND, value, actor=SEED_ACTOR, action="seeded", now=now)


def effective(session: Session, settings: EngagementSettings) -> EngagementSettings:
    """``settings`` with what admins edited in the app (routing rules, brand, team channels)
    laid over it."""
    rules = stored(session, ROUTING_RULES)
    profile = stored(session, BRAND)
    channels = stored(session, TEAM_CHANNELS)
    if rules is None and profile is None and channels is None:
        return settings
    merged = settings.model_copy(deep=True)
    if isinstance(channels, dict):
        merged.slack.team_channels = {**settings.slack.team_channels, **channels}
    if rules is not None:
        merged.routing.rules = parse_rules(rules)
    if profile is not None:
        current = BrandProfile.model_validate(profile)
        merged.replies.brand_name = current.name
        merged.money = MoneySettings(currency=current.currency, locale=current.locale)
        if current.public_url:
            merged.public_url = current.public_url
    return merged
