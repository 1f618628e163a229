"""Settings of the collectors (one section of ``engagebot.toml``: ``[listener]``).

Credentials are secrets: they come from the environment (``X_BEARER_TOKEN``,
``REDDIT_CLIENT_ID`` ... or ``ENGAGEBOT_LISTENER__X_BEARER_TOKEN``), never from a file in
the repository, and are never logged. See docs/sources.md for every source's settings.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from db.files.raw import MAX_CELL_CHARS
from listener.records import MAX_TEXT_CHARS

PLATFORMS = ("x", "reddit", "appstore", "googleplay", "facebook", "instagram", "file")
KINDS = {
    "x": ("search", "mentions"),
    "reddit": ("search", "subreddit", "mentions"),
    "appstore": ("reviews", "connect"),
    "googleplay": ("reviews", "api"),
    "facebook": ("page",),
    "instagram": ("comments", "mentions"),
    "file": ("file",),
}
GRAPH_API_BASE = "https://graph.facebook.com/v21.0"
_PLACEHOLDERS = frozenset({"changeme", "change-me", "xxx", "your-token", "todo", "secret", "<token>"})


class SourceSettings(BaseModel):
    """One configured source: a platform, what to fetch, and how often."""

    name: str = Field(min_length=1, max_length=128)
    platform: str = Field(description="x | reddit | appstore | googleplay | facebook | instagram | file")
    kind: str = Field(
        default="search",
        description="x: search | mentions; reddit: search | subreddit | mentions; appstore: reviews (RSS) | "
        "connect (App Store Connect API); googleplay: reviews (scraper) | api (Android Publisher); "
        "facebook: page; instagram: comments | mentions; file",
    )
    query: str | None = Field(default=None, description="x search query (operators allowed) or reddit search terms")
    languages: list[str] = Field(default_factory=list, description="x: only these languages (adds lang: operators)")
    exclude_retweets: bool = Field(
        default=True, description="x search: add -is:retweet (retweets repeat text and cost reads)"
    )
    handle: str | None = Field(default=None, description="x mentions: the brand account whose mentions to fetch")
    user_id: str | None = Field(default=None, description="x mentions: the account's numeric id (saves a lookup)")
    subreddits: list[str] = Field(default_factory=list, description="reddit: subreddits to search or watch")
    keywords: list[str] = Field(
        default_factory=list,
        description="reddit subreddit: keep only items containing one of these",
    )
    listings: list[str] = Field(
        default_factory=lambda: ["comments", "submissions"],
        description="reddit subreddit: which new-item listings to watch (comments, submissions)",
    )
    app_id: str | None = Field(default=None, description="appstore: numeric app id; googleplay: package name")
    countries: list[str] = Field(
        default_factory=lambda: ["us"], description="appstore/googleplay: storefront countries"
    )
    lang: str = Field(default="en", description="googleplay: review language to request")
    page_id: str | None = Field(default=None, description="facebook: the Page's numeric id")
    ig_user_id: str | None = Field(default=None, description="instagram: the Instagram business account's id")
    lookback_days: int = Field(
        default=14, ge=1, le=365, description="facebook/instagram: how far back posts and media are checked"
    )
    files: list[str] = Field(default_factory=list, description="file: paths or glob patterns of payload files")
    file_platform: str = Field(default="x", description="file: x | reddit | appstore | googleplay | csv | jsonl")
    column_map: dict[str, str] = Field(default_factory=dict, description="file (csv/jsonl): COLUMN -> field")
    interval_minutes: float = Field(default=15.0, gt=0)
    max_pages: int | None = Field(
        default=None, ge=1, description="page cap per run (default: listener.max_pages_per_run)"
    )
    page_size: int = Field(default=100, ge=1, le=100)
    enabled: bool = True

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        value = value.lower()
        if value not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r} (one of {', '.join(PLATFORMS)})")
        return value

    @model_validator(mode="after")
    def _kind_fits(self) -> SourceSettings:
        kinds = KINDS[self.platform]
        if self.kind not in kinds:
            if self.kind == "search":  # the default: the platform's first kind
                self.kind = kinds[0]
            else:
                raise ValueError(
                    f"source {self.name!r}: kind {self.kind!r} is not one of {', '.join(kinds)} for {self.platform}"
                )
        if self.platform == "x" and self.kind == "search" and not self.query:
            raise ValueError(f"source {self.name!r}: x search needs a query")
        if self.platform == "x" and self.kind == "mentions" and not (self.handle or self.user_id):
            raise ValueError(f"source {self.name!r}: x mentions needs handle or user_id")
        if self.platform == "reddit" and self.kind == "search" and not self.query:
            raise ValueError(f"source {self.name!r}: reddit search needs a query")
        if self.platform == "reddit" and self.kind == "subreddit" and not self.subreddits:
            raise ValueError(f"source {self.name!r}: reddit subreddit needs subreddits")
        bad = sorted(set(self.listings) - {"comments", "submissions"})
        if bad or not self.listings:
            raise ValueError(f"source {self.name!r}: listings must be comments and/or submissions")
        if self.platform in ("appstore", "googleplay") and not self.app_id:
            raise ValueError(f"source {self.name!r}: {self.platform} needs app_id")
        if self.platform == "facebook" and not self.page_id:
            raise ValueError(f"source {self.name!r}: facebook needs page_id")
        if self.platform == "instagram" and not self.ig_user_id:
            raise ValueError(f"source {self.name!r}: instagram needs ig_user_id")
        if self.platform == "file" and not self.files:
            raise ValueError(f"source {self.name!r}: file source needs files")
        return self


class RetrySettings(BaseModel):
    """Bounded retries: back-off with jitter on 5xx/timeouts, capped waits on rate limits."""

    max_attempts: int = Field(default=5, ge=1, le=20, description="tries per page, the first included")
    backoff_seconds: float = Field(default=2.0, ge=0, description="base of the exponential back-off")
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    max_rate_limit_wait_seconds: float = Field(
        default=900.0,
        ge=0,
        description="longest wait for a rate-limit reset; beyond it the run stops and resumes",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="HTTP timeout per request")


class ImportSettings(BaseModel):
    """Caps on what one imported record may hold (see docs/sources.md, "Bad records")."""

    max_text_chars: int = Field(
        default=MAX_TEXT_CHARS,
        ge=1,
        description="a post's text beyond this is cut and the post flagged text_truncated",
    )
    max_cell_chars: int = Field(
        default=MAX_CELL_CHARS,
        ge=1,
        description="a CSV row with a longer cell is quarantined",
    )


class AppStoreConnectSettings(BaseModel):
    """App Store Connect API (reviews and developer responses): a team API key, ES256 JWTs.

    The key (issuer id, key id, the ``.p8`` private key) comes from ``ASC_ISSUER_ID``,
    ``ASC_KEY_ID`` and ``ASC_PRIVATE_KEY`` (the PEM text) or ``ASC_PRIVATE_KEY_PATH``.
    """

    api_base: str = Field(default="https://api.appstoreconnect.apple.com", description="API base URL")
    issuer_id: str | None = Field(default=None, description="the team's issuer id (or ASC_ISSUER_ID)")
    key_id: str | None = Field(default=None, description="the API key's id (or ASC_KEY_ID)")
    private_key: SecretStr | None = Field(
        default=None, description="the .p8 key's PEM text (or ASC_PRIVATE_KEY, or a file in ASC_PRIVATE_KEY_PATH)"
    )
    token_minutes: int = Field(default=15, ge=1, le=20, description="JWT lifetime; Apple refuses more than 20")


class GooglePlayApiSettings(BaseModel):
    """Android Publisher API (reviews.list, reviews.reply): a service account with access to the app.

    The service account's JSON key comes from ``GOOGLE_APPLICATION_CREDENTIALS`` (a path) or
    ``service_account_json`` (the JSON text).
    """

    api_base: str = Field(default="https://androidpublisher.googleapis.com", description="API base URL")
    service_account_json: SecretStr | None = Field(
        default=None, description="the service account key's JSON text (or a path in GOOGLE_APPLICATION_CREDENTIALS)"
    )


class ListenerSettings(BaseModel):
    """What to collect, from where, how much, and who the brand is on each platform."""

    brand_handles: dict[str, list[str]] = Field(
        default_factory=dict,
        description="the brand's own accounts per platform, e.g. {x = ['acmeair']}",
    )
    sources: list[SourceSettings] = Field(default_factory=list)
    max_pages_per_run: int = Field(default=10, ge=1, description="page cap per source and run")
    x_monthly_read_budget: int | None = Field(
        default=10000,
        ge=0,
        description="X posts read per calendar month (UTC) across all X sources; None = unlimited",
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    x_bearer_token: SecretStr | None = Field(default=None, description="X API v2 app bearer token (or X_BEARER_TOKEN)")
    reddit_client_id: SecretStr | None = Field(default=None, description="or REDDIT_CLIENT_ID")
    reddit_client_secret: SecretStr | None = Field(default=None, description="or REDDIT_CLIENT_SECRET")
    reddit_username: str | None = Field(default=None, description="the brand's Reddit account (or REDDIT_USERNAME)")
    reddit_password: SecretStr | None = Field(default=None, description="or REDDIT_PASSWORD")
    reddit_user_agent: str = Field(default="engagebot/0.1 (social listening)", description="or REDDIT_USER_AGENT")
    facebook_page_token: SecretStr | None = Field(
        default=None, description="a Page access token (or FACEBOOK_PAGE_TOKEN)"
    )
    instagram_access_token: SecretStr | None = Field(
        default=None, description="the token of the Page linked to the Instagram account (or INSTAGRAM_ACCESS_TOKEN)"
    )
    graph_api_base: str = Field(
        default=GRAPH_API_BASE, description="Graph API base URL with its version (a proxy or a local fake may stand in)"
    )
    graph_usage_pause_percent: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description="Meta usage headers (X-App-Usage, X-Business-Use-Case-Usage) at or above this pause the source",
    )
    appstore_connect: AppStoreConnectSettings = Field(default_factory=lambda: AppStoreConnectSettings())
    googleplay_api: GooglePlayApiSettings = Field(default_factory=lambda: GooglePlayApiSettings())

    @field_validator("brand_handles")
    @classmethod
    def _lower_handles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k.lower(): [h.strip().lstrip("@").lower() for h in v if h.strip()] for k, v in value.items()}

    @field_validator(
        "x_bearer_token",
        "reddit_client_id",
        "reddit_client_secret",
        "reddit_password",
        "facebook_page_token",
        "instagram_access_token",
    )
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("a placeholder is not a credential: set the real value in the environment")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> ListenerSettings:
        names = [s.name for s in self.sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique: {', '.join(duplicates)}")
        return self

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        raise LookupError(f"no source named {name!r} (configured: {', '.join(s.name for s in self.sources) or 'none'})")
