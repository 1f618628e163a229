"""Settings of engagement: value, triage, routing, Slack, reports, web (``[engagement]``)."""

from __future__ import annotations

import re
import warnings
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from engagement.errors import BadInput
from listener.settings import GRAPH_API_BASE, AppStoreConnectSettings, GooglePlayApiSettings


class TriageSettings(BaseModel):
    """When a post becomes a case and how much it is worth (see ``engagement.triage.priority``)."""

    negative_threshold: float = Field(default=0.5, description="P(negative) at or above which a post is negative")
    window_hours: float = Field(default=72.0, description="only posts this recent become cases")
    churn_if_unanswered: float = Field(default=0.5, description="P(churn) of an unhappy customer left unanswered")
    rating_weight: float = Field(
        default=0.5, description="weight of a review's star rating against its text in P(negative) (0 = text only)"
    )
    rating_p_negative: dict[int, float] = Field(
        default_factory=lambda: {1: 0.95, 2: 0.85, 3: 0.45, 4: 0.1, 5: 0.05},
        description="P(negative) implied by each star rating",
    )
    aging_weight: float = Field(default=1.0, description="priority grows by this x (age / SLA): 2x when due")
    aging_cap: float = Field(default=2.0, description="age / SLA stops counting above this (breached cases)")
    chunk_size: int = Field(default=500, description="posts triaged and committed per chunk")
    unscored_tiers: list[str] = Field(
        default_factory=lambda: ["top", "high"],
        description="a post the model cannot score (unsupported_language) still opens a case for these tiers",
    )
    unscored_min_value: float = Field(
        default=1000.0, description="...or when its author's rCLV (else CLV) is at least this"
    )
    unscored_max_rating: int = Field(default=2, description="...or when it is a review with at most this many stars")
    unscored_p_negative: float = Field(
        default=0.5, description="P(negative) assumed for such a post without stars (sentiment unknown)"
    )
    backlog_days: float = Field(
        default=14.0,
        ge=0,
        description="the backlog (a new install's first triage, triage --backlog): posts this many days old "
        "but older than the window still become cases for valued authors",
    )
    backlog_max: int = Field(default=50, ge=0, description="...at most this many backlog cases, the most money first")
    backlog_tiers: list[str] = Field(
        default_factory=lambda: ["top", "high"], description="...for authors of these value tiers"
    )
    tier_fractions: dict[str, float] = Field(
        default_factory=lambda: {"top": 0.05, "high": 0.15},
        description="value tiers by rCLV rank, best first: share of customers in each; the rest are 'standard'",
    )


class SlackSettings(BaseModel):
    """Where and when Slack hears about cases (``engagement.notify``)."""

    bot_token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    signing_secret: SecretStr | None = Field(default=None, description="verifies Slack's interactivity requests")
    base_url: str = Field(default="https://slack.com/api/", description="Slack Web API root (tests use a local server)")
    default_channel: str = "#social-care"
    team_channels: dict[str, str] = Field(default_factory=dict, description="team -> channel, {billing = '#billing'}")
    lead_channel: str | None = Field(default=None, description="SLA breaches and spikes go here (else default_channel)")
    web_base_url: str | None = Field(
        default=None, description="deprecated: use engagement.public_url (still read, with a warning)"
    )
    sink: str | None = Field(default=None, description="deliver to a local file instead of Slack (the demo)")
    immediate_tiers: list[str] = Field(default_factory=lambda: ["top"], description="tiers notified at once")
    immediate_min_priority: float = Field(default=500.0, description="cases at or above this priority notify at once")
    digest_minutes: float = Field(default=60.0, description="the rest roll into one digest per team this often")
    flood_threshold: int = Field(
        default=5,
        ge=1,
        description="more cases than this notifying in one run (first run, backfill, an outage ending) "
        "become ONE digest per channel instead of one message each",
    )
    digest_top: int = Field(default=5, ge=1, le=20, description="cases listed by value in a digest")
    breach_min_money: dict[str, float] = Field(
        default_factory=lambda: {"top": 0.0, "high": 250.0, "standard": 1000.0, "unlinked": 1000.0},
        description="SLA breaches alert only at or above this money at risk, per tier",
    )
    breach_default_min_money: float = Field(
        default=1000.0, description="the threshold for tiers missing from breach_min_money"
    )
    breach_interval_minutes: float = Field(
        default=60.0, description="breaches are grouped into one alert per team this often"
    )
    breach_repeat_hours: float = Field(
        default=24.0, description="a case still breached alerts again at most this often"
    )
    lead_mentions: dict[str, str] = Field(
        default_factory=dict,
        description="team -> Slack user id (U...) or user group id (S...) mentioned in breach alerts; "
        "key '*' for every other team",
    )
    spike_examples: int = Field(default=3, ge=0, le=10, description="example posts shown in a spike alert")
    quiet_hours: dict[str, str] = Field(
        default_factory=dict,
        description="channel -> 'HH:MM-HH:MM' (in quiet_timezone) when nothing is posted there; "
        "messages wait until the quiet hours end",
    )
    quiet_timezone: str = Field(default="UTC", description="IANA zone of quiet_hours")
    channel_languages: dict[str, str] = Field(
        default_factory=dict,
        description="channel -> language of its messages ('de', 'en'), where it differs from engagement.language",
    )
    backfill: bool = Field(
        default=False, description="history is being imported: notify sends nothing (as import-posts --backfill)"
    )
    spike_window_hours: float = Field(default=1.0, description="window of the negative-spike check")
    spike_baseline_windows: int = Field(default=24, description="how many earlier windows make the baseline")
    spike_ratio: float = Field(default=3.0, description="alert when the window holds this x the baseline mean")
    spike_min_count: int = Field(default=10, description="...and at least this many negative posts")
    spike_keywords: list[str] = Field(default_factory=list, description="keywords whose negative volume is watched too")
    max_attempts: int = Field(default=8, description="deliveries tried before a message is marked failed")
    backoff_seconds: float = Field(default=30.0, description="first retry delay; doubles each attempt (with jitter)")
    backoff_cap_seconds: float = Field(default=3600.0, description="longest wait between attempts (Retry-After too)")
    timeout_seconds: int = Field(default=15, ge=1, description="how long one Slack call may take")
    send_lease_seconds: float = Field(
        default=60.0,
        description="a sender holds each message this long; a message whose sender died is taken over "
        "after it (and checked in Slack first). Must exceed timeout_seconds",
    )
    snooze_minutes: float = Field(default=60.0, description="how long the Snooze button hides a case")
    user_map: dict[str, str] = Field(
        default_factory=dict,
        description="Slack member id -> engagebot user (email or name), for members without users.slack_user_id",
    )

    @field_validator("lead_mentions")
    @classmethod
    def _slack_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for team, who in value.items():
            if not SLACK_ID.match(who):
                raise BadInput(
                    f"lead_mentions[{team!r}] = {who!r}: use a Slack user id (U0123ABCD) or user group id "
                    "(S0123ABCD), not a name"
                )
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_spans(cls, value: dict[str, str]) -> dict[str, str]:
        for channel, span in value.items():
            if not QUIET_SPAN.match(span.strip()):
                raise BadInput(f"quiet_hours[{channel!r}] = {span!r}: use 'HH:MM-HH:MM', e.g. '22:00-07:00'")
        return value

    @field_validator("quiet_timezone")
    @classmethod
    def _quiet_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> SlackSettings:
        # a send still in flight when its lease ends could be taken over and sent twice
        if self.send_lease_seconds <= self.timeout_seconds:
            raise BadInput(
                f"send_lease_seconds ({self.send_lease_seconds}) must exceed timeout_seconds ({self.timeout_seconds})"
            )
        return self


class RoutingRule(BaseModel):
    """One routing rule: every condition given must match (lists match any of their items)."""

    name: str
    team: str
    assignee: str | None = None
    platforms: list[str] = Field(default_factory=list, description="x, reddit, appstore, googleplay (any of them)")
    languages: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="case-insensitive words or phrases, any of them")
    regex: str | None = Field(default=None, description="a Python regular expression searched in the text")
    segments: list[str] = Field(default_factory=list, description="customer segments from the CRM")
    tiers: list[str] = Field(default_factory=list, description="value tiers (top, high, standard, unlinked)")
    max_rating: int | None = Field(default=None, description="reviews with at most this many stars")
    min_rating: int | None = Field(default=None, description="reviews with at least this many stars")


class RoutingSettings(BaseModel):
    """Which team gets a case, by when, and who in it (``engagement.triage.routing``)."""

    rules: list[RoutingRule] = Field(default_factory=list, description="first match wins")
    default_team: str = "default"
    sla_hours: dict[str, float] = Field(
        default_factory=lambda: {"top": 1.0, "high": 4.0, "standard": 24.0, "unlinked": 24.0},
        description="time to first reply by value tier",
    )
    default_sla_hours: float = Field(default=24.0, description="time to first reply for a tier missing from sla_hours")
    lead: str = Field(default="lead", description="who SLA breaches and escalations go to")
    lease_minutes: float = Field(default=15.0, description="a claim expires after this long without action")
    auto_assign: bool = Field(default=False, description="assign new cases round-robin inside their team")
    agent_capacity: int = Field(default=10, description="open cases an agent holds before auto-assign skips them")


class ReplySettings(BaseModel):
    """Posting replies: dry-run until turned on and given credentials (``engagement.queue.replies``)."""

    dry_run: bool = Field(default=True, description="log replies instead of posting them")
    templates: dict[str, str] = Field(
        default_factory=lambda: {
            "apology": "Hi {first_name}, we're sorry about this. Please DM us your booking reference (case {case_id}).",
        },
        description="default saved replies (leads add more in the web app); variables: {first_name}, {name}, "
        "{handle}, {case_id}, {brand}, {agent}",
    )
    brand_name: str = Field(
        default="", max_length=100, description="what {brand} says in replies (else the X account, else 'our team')"
    )
    approval_tiers: list[str] = Field(
        default_factory=list, description="replies to cases of these tiers wait for a lead's approval"
    )
    x_consumer_key: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    x_brand_handle: str | None = Field(default=None, description="the X account replies are posted from")
    reddit_client_id: SecretStr | None = None
    reddit_client_secret: SecretStr | None = None
    reddit_username: str | None = None
    reddit_password: SecretStr | None = None
    reddit_user_agent: str = "engagebot/0.1"
    facebook_page_token: SecretStr | None = Field(
        default=None, description="Page access token for Facebook replies and hiding (or FACEBOOK_PAGE_TOKEN)"
    )
    facebook_page_id: str | None = Field(
        default=None, description="the Page replies come from (found with GET /me when unset)"
    )
    instagram_access_token: SecretStr | None = Field(
        default=None, description="token for Instagram replies (or INSTAGRAM_ACCESS_TOKEN, else FACEBOOK_PAGE_TOKEN)"
    )
    instagram_username: str | None = Field(
        default=None, description="the Instagram account replies come from (finds an earlier reply)"
    )
    graph_api_base: str = Field(default=GRAPH_API_BASE, description="Graph API base URL for replies")
    appstore_connect: AppStoreConnectSettings = Field(default_factory=lambda: AppStoreConnectSettings())
    googleplay_api: GooglePlayApiSettings = Field(default_factory=lambda: GooglePlayApiSettings())
    googleplay_package: str | None = Field(
        default=None, description="the app's package name, for Google Play replies (reviews.reply)"
    )


SLACK_ID = re.compile(r"^[US][A-Z0-9]{2,}$")
QUIET_SPAN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def known_zone(value: str) -> str:
    """Refuse a time zone name the IANA database does not know, with an example."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInput(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Berlin')") from exc
    return value


class MoneySettings(BaseModel):
    """How amounts read everywhere (Slack, web app, report, CLI): ``engagement.money.format_money``."""

    currency: str = Field(default="USD", description="ISO 4217 code of CLV and money at risk, e.g. USD, EUR")
    locale: str = Field(default="en_US", description="CLDR locale of amounts, e.g. en_US -> $8,169, de_DE -> 8.169 €")

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or get_currency_name(code, locale="en") == code:
            raise BadInput(f"unknown currency {value!r}: use an ISO 4217 code such as USD or EUR")
        return code

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            Locale.parse(value.replace("-", "_"))
        except (UnknownLocaleError, ValueError) as exc:
            raise BadInput(f"unknown locale {value!r}: use a CLDR locale such as en_US or de_DE") from exc
        return value.replace("-", "_")


PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "please-change", "placeholder", "xxx"})


class LoginThrottleSettings(BaseModel):
    """Failed sign-ins: growing waits, then a lock, per account and per client address."""

    account_free_failures: int = Field(default=3, ge=1, description="failures per email before waits start")
    account_lock_failures: int = Field(default=10, ge=1, description="failures per email that lock it")
    address_free_failures: int = Field(default=10, ge=1, description="failures per client address before waits")
    address_lock_failures: int = Field(default=50, ge=1, description="failures per client address that lock it")
    first_delay_s: float = Field(default=1.0, gt=0, description="the first wait; it doubles with each failure")
    max_delay_s: float = Field(default=60.0, gt=0, description="the longest wait before a lock")
    lock_minutes: float = Field(default=15.0, gt=0, description="how long a lock lasts")
    forget_after_minutes: float = Field(
        default=60.0, gt=0, description="failures are forgotten this long after the last one (a success: at once)"
    )


class WebSettings(BaseModel):
    """The web app: session secret, cookie flags, polling; secrets only from env or a secrets file."""

    session_secret: SecretStr | None = Field(
        default=None,
        description="signs session cookies and API tokens (ENGAGEBOT_ENGAGEMENT__WEB__SESSION_SECRET); "
        "left unset outside production, a random one is generated per process",
    )
    production: bool = Field(default=False, description="refuse a missing or placeholder session secret")
    secure_cookies: bool = Field(
        default=True, description="send the session cookie over HTTPS only (browsers treat localhost as secure)"
    )
    session_max_age_s: int = Field(
        default=12 * 3600, ge=60, description="absolute lifetime of a sign-in, however active (seconds)"
    )
    session_idle_timeout_s: int = Field(
        default=30 * 60, ge=60, description="a sign-in ends after this long without a request (seconds)"
    )
    login_throttle: LoginThrottleSettings = Field(default_factory=LoginThrottleSettings)
    api_token_max_age_days: int = Field(
        default=90, ge=1, description="how long an API token from 'engagebot users token' lasts"
    )
    poll_seconds: int = Field(default=10, ge=2, description="how often the queue page refreshes itself")
    page_size: int = Field(default=50, ge=5, le=500, description="queue rows per page")

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> WebSettings:
        if not self.production:
            return self
        secret = self.session_secret.get_secret_value() if self.session_secret else ""
        if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < 32:
            raise BadInput(
                "engagement.web.session_secret must be set to a random value of at least 32 characters "
                "in production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self


class ReportSettings(BaseModel):
    """The weekly sentiment-to-CLV report (``engagement.report``); ``[ops.scheduler]`` says when it runs."""

    timezone: str = Field(default="UTC", description="IANA zone of the report's weeks")
    trend_weeks: int = Field(default=12, ge=2, le=52, description="weeks in the trends, the report's week included")
    base_url: str | None = Field(
        default=None, description="deprecated: use engagement.public_url (still read, with a warning)"
    )
    slack_channel: str | None = Field(
        default=None, description="channel of the Slack summary (default: slack.default_channel)"
    )
    currency: str | None = Field(
        default=None, description="deprecated: use engagement.money.currency (still read, with a warning)"
    )
    top_cases: int = Field(default=10, ge=1, description="unanswered high-value cases listed")
    top_terms: int = Field(default=15, ge=1, description="terms listed in 'what people complain about'")
    high_value_tiers: list[str] = Field(
        default_factory=lambda: ["top", "high"], description="tiers that count as high value"
    )
    pdf: bool = Field(default=True, description="also write a PDF (charts and key tables) with matplotlib")
    count_dry_run_replies: bool = Field(
        default=True, description="dry-run replies count as answered (the demo and trials run in dry-run)"
    )
    stop_words: list[str] = Field(
        default_factory=list, description="extra words left out of the complaint terms, e.g. the brand's own name"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="before")
    @classmethod
    def _unread_schedule(cls, data: object) -> object:
        """``day_of_week`` and ``hour`` were never read: say where the schedule is set."""
        if isinstance(data, dict) and {"day_of_week", "hour"} & set(data):
            warnings.warn(
                "engagement.report.day_of_week and engagement.report.hour were removed (nothing read them): "
                "the weekly report runs at ops.scheduler.weekly_report_day and weekly_report_hour (UTC)",
                FutureWarning,
                stacklevel=2,
            )
            data = {k: v for k, v in data.items() if k not in ("day_of_week", "hour")}
        return data


class RclvSettings(BaseModel):
    """Reach value, the one formula of what a voice is worth (``engagement.customers.value``): it
    is added to a linked customer's CLV (rCLV) and values an unlinked author's case on its own."""

    base_value: float = Field(default=10.0, ge=0, description="what any voice is worth before followers and engagement")
    value_per_follower: float = Field(
        default=0.02, ge=0, description="value of each follower (of the author, or of a customer's linked accounts)"
    )
    value_per_engagement: float = Field(
        default=0.5, ge=0, description="value of each like/reply/repost on their recent posts"
    )
    engagement_window_days: float = Field(default=90.0, gt=0, description="posts this recent count towards engagement")
    reach_value_cap: float = Field(
        default=5000.0, ge=0, description="the most a voice is worth (added to CLV, or an unlinked author's value)"
    )


class ClvSettings(BaseModel):
    """How CLV, P(alive) and rCLV are fitted (``engagement.customers.value``, ``engagement.customers.clv``)."""

    horizon_days: float = Field(
        default=365.0, gt=0, description="CLV is the discounted value expected over this horizon"
    )
    annual_discount_rate: float = Field(default=0.10, gt=-1, description="yearly discount rate of future purchases")
    time_unit_days: float = Field(
        default=7.0, gt=0, description="time unit of the BG/NBD fit (7: weeks, as Fader & Hardie)"
    )
    min_customers: int = Field(default=30, ge=2, description="customers with purchases needed to fit; fewer: fallback")
    min_repeat_customers: int = Field(
        default=10, ge=2, description="repeat buyers needed to fit Gamma-Gamma; fewer: fallback"
    )
    min_purchase_amount: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="a purchase below this is refused (per row) on import"
    )
    max_purchase_amount: float = Field(
        default=1_000_000.0,
        gt=0,
        allow_inf_nan=False,
        description="a purchase above this is refused (per row) on import: a typo or 1e308 must not make CLV Infinity",
    )
    max_imported_clv: float = Field(
        default=100_000_000.0, gt=0, allow_inf_nan=False, description="a CRM clv above this is refused (per row)"
    )
    rclv: RclvSettings = Field(default_factory=RclvSettings)


DEFAULT_PUBLIC_URL = "http://localhost:8000"


#: Reach settings that ``[engagement.triage]`` had until the one reach-value rule: old key -> new key in
#: ``[engagement.clv.rclv]``.
MOVED_REACH_SETTINGS = {
    "reach_base_value": "base_value",
    "value_per_follower": "value_per_follower",
    "reach_value_cap": "reach_value_cap",
}


class EngagementSettings(BaseModel):
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL,
        description="where people reach the web app; every link (Slack, report, CLI) is built on it (engagement.links)",
    )
    language: str = Field(
        default="en",
        description="the brand's language ('en', 'de'): Slack, the weekly report, and the web app "
        "for people whose browser asks for none of ours",
    )
    money: MoneySettings = Field(default_factory=MoneySettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    replies: ReplySettings = Field(default_factory=ReplySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    clv: ClvSettings = Field(default_factory=ClvSettings)

    @model_validator(mode="before")
    @classmethod
    def _moved_reach_settings(cls, data: object) -> object:
        """Move ``triage.reach_base_value``, ``triage.value_per_follower`` and
        ``triage.reach_value_cap`` to ``clv.rclv`` with a warning; refuse them where ``clv.rclv``
        sets the same weight to another value (which one was meant cannot be known)."""
        if not isinstance(data, dict) or not isinstance(data.get("triage"), dict):
            return data
        triage = dict(data["triage"])
        moved = {old: triage.pop(old) for old in list(triage) if old in MOVED_REACH_SETTINGS}
        if not moved:
            return data
        clv = data.get("clv") or {}
        rclv = clv.get("rclv") or {} if isinstance(clv, dict) else None
        if not isinstance(clv, dict) or not isinstance(rclv, dict):
            raise BadInput(
                f"engagement.triage.{', '.join(moved)} moved to the table engagement.clv.rclv: set them there"
            )
        clv, rclv = dict(clv), dict(rclv)
        for old, value in moved.items():
            new = MOVED_REACH_SETTINGS[old]
            if new in rclv and rclv[new] != value:
                raise BadInput(
                    f"engagement.triage.{old} = {value!r} was removed and conflicts with "
                    f"engagement.clv.rclv.{new} = {rclv[new]!r}: reach value has one formula now; "
                    f"delete engagement.triage.{old}"
                )
            rclv.setdefault(new, value)
            warnings.warn(
                f"engagement.triage.{old} was removed: reach value has one formula and one settings "
                f"section, engagement.clv.rclv (used as engagement.clv.rclv.{new}; move it there)",
                FutureWarning,
                stacklevel=2,
            )
        clv["rclv"] = rclv
        return {**data, "triage": triage, "clv": clv}

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        code = value.replace("-", "_").split("_")[0].lower()
        if code not in ("en", "de"):
            raise BadInput(f"unknown language {value!r}: engagebot speaks 'en' and 'de'")
        return code

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise BadInput(f"public_url {value!r} must start with http:// or https:// (no file:// links)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _deprecated_names(self) -> EngagementSettings:
        """Read ``slack.web_base_url``, ``report.base_url`` and ``report.currency`` as before, with a
        warning, where the new setting was not given."""
        for old, value in (("slack.web_base_url", self.slack.web_base_url), ("report.base_url", self.report.base_url)):
            if value is None:
                continue
            warnings.warn(f"engagement.{old} is deprecated: set engagement.public_url", FutureWarning, stacklevel=2)
            if "public_url" not in self.model_fields_set:
                self.public_url = self._http_url(value)
        if self.report.currency is not None:
            warnings.warn(
                "engagement.report.currency is deprecated: set engagement.money.currency",
                FutureWarning,
                stacklevel=2,
            )
            if "money" not in self.model_fields_set:
                self.money = MoneySettings(currency=self.report.currency, locale=self.money.locale)
        return self
