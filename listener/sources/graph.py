"""A small Graph API client (httpx) shared by the Facebook and Instagram sources.

Why httpx and not python-facebook-api: the collectors need the raw body (the same body
``import-posts`` takes), the response headers (Meta's usage headers below) and a configurable
base URL (a proxy, or a test's local server); the library returns parsed models and handles
neither the headers nor a base URL. Each call is one documented GET.

Rate limits: Meta does not send 429. It reports usage as percentages in ``X-App-Usage``
(``{"call_count": 28, "total_cputime": 25, "total_time": 25}``) and, for Page and Instagram
calls, ``X-Business-Use-Case-Usage`` (``{"<business id>": [{"type": "pages", "call_count": 100,
..., "estimated_time_to_regain_access": 12}]}``, minutes). At or above the configured percent
the next call waits for the regain time (or a default) through the shared retry policy, whose
cap stops the run cleanly; a throttling error (codes 4, 17, 32, 613, 80001-80014) does the same.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from db.types import utcnow
from listener.ratelimit import RateLimited, Retriable
from listener.settings import SourceSettings

log = logging.getLogger(__name__)

THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
EXPIRED_TOKEN_CODE = 190
DEFAULT_WAIT_SECONDS = 300.0
"""Wait when usage is at the limit and Meta gives no regain time (its own guidance: back off)."""


class GraphError(RuntimeError):
    """A Graph error that retrying cannot fix (bad token, missing permission, unknown object)."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = status


def usage_wait(headers: Mapping[str, str], *, pause_percent: float) -> float | None:
    """Seconds to wait before the next call by Meta's usage headers; ``None`` when below the mark."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    highest = 0.0
    regain_minutes = 0.0
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        usage = _json(lowered.get(name))
        if isinstance(usage, Mapping):
            highest = max([highest, *(float(v) for v in usage.values() if isinstance(v, int | float))])
    business = _json(lowered.get("x-business-use-case-usage"))
    if isinstance(business, Mapping):
        for entries in business.values():
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, Mapping):
                    continue
                for key in ("call_count", "total_cputime", "total_time"):
                    value = entry.get(key)
                    if isinstance(value, int | float):
                        highest = max(highest, float(value))
                regain = entry.get("estimated_time_to_regain_access")
                if isinstance(regain, int | float):
                    regain_minutes = max(regain_minutes, float(regain))
    if regain_minutes > 0:
        return regain_minutes * 60
    if highest >= pause_percent:
        return DEFAULT_WAIT_SECONDS
    return None


def _json(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


class GraphClient:
    """GET calls on the Graph API with a Page (or Instagram) access token."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float,
        pause_percent: float = 90.0,
        token_setting: str = "FACEBOOK_PAGE_TOKEN",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout, transport=transport)
        self.token = token
        self.pause_percent = pause_percent
        self.token_setting = token_setting
        self.wait_before_next: float | None = None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The parsed body of ``GET {base}/{path}``; raises ``RateLimited``/``Retriable``/``GraphError``."""
        if self.wait_before_next is not None:
            wait, self.wait_before_next = self.wait_before_next, None
            raise RateLimited("Graph API usage at its limit", retry_after=wait)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.http.get(path.lstrip("/"), params=query, headers={"Authorization": f"Bearer {self.token}"})
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise Retriable(f"Graph connection error: {exc}") from exc
        self.wait_before_next = usage_wait(response.headers, pause_percent=self.pause_percent)
        if self.wait_before_next is not None:
            log.warning("Graph API usage high; pausing %.0fs before the next call", self.wait_before_next)
        return self._body(response)

    def _body(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, Mapping) else None
        if response.status_code < 400 and not isinstance(error, Mapping):
            return body
        code = error.get("code") if isinstance(error, Mapping) else None
        message = str(error.get("message")) if isinstance(error, Mapping) else response.text[:300]
        if code in THROTTLE_CODES or response.status_code == 429:
            wait = self.wait_before_next or DEFAULT_WAIT_SECONDS
            self.wait_before_next = None
            raise RateLimited(f"Graph API throttled (code {code}): {message}", retry_after=wait)
        if response.status_code >= 500 or (isinstance(error, Mapping) and error.get("is_transient")):
            raise Retriable(f"Graph API {response.status_code}: {message}")
        if code == EXPIRED_TOKEN_CODE or response.status_code == 401:
            raise GraphError(
                f"the Graph access token is expired or invalid ({message}): set a new one in {self.token_setting}",
                code=code,
                status=response.status_code,
            )
        status = response.status_code
        raise GraphError(f"Graph API {status} (code {code}): {message}", code=code, status=status)


def next_params(body: Any) -> dict[str, str] | None:
    """Query parameters of the next page, or ``None`` on the last page.

    Comment and media edges page with ``cursors.after``; a Page feed pages by time, its
    ``paging.next`` URL carrying ``until`` and ``__paging_token`` instead.
    """
    paging = body.get("paging") if isinstance(body, Mapping) else None
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    if after:
        return {"after": str(after)}
    query = httpx.URL(str(paging["next"])).params
    kept = {k: query[k] for k in ("after", "until", "since", "__paging_token") if query.get(k)}
    return kept or None


class GraphSource:
    """What a Facebook Page and an Instagram account source share: their settings, the client,
    the clock, and the state a pass starts from (its start time and the queue of objects whose
    comments it still has to read)."""

    platform = "graph"

    def __init__(self, source: SourceSettings, client: GraphClient, *, now: Callable[[], datetime] = utcnow) -> None:
        self.name = source.name
        self.settings = source
        self.client = client
        self.now = now  # the pass's start (and so its lookback) comes from here; tests fix it

    def _pass_state(self, position: Mapping[str, Any]) -> dict[str, Any]:
        state = dict(position)
        state.setdefault("pass_start", self.now().isoformat())
        state.setdefault("queue", [])
        return state
