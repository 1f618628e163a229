"""One HTTP call of a reply adapter, its failure classified for the exactly-once protocol.

- refused before anything was sent (connection refused, DNS) or rate limited (429, Graph's
  throttling codes): ``TransientPostError``, safe to send again;
- sent but no answer (a timeout while reading, a dropped connection, 5xx): ``UnknownOutcome``,
  so ``replies`` asks ``find_existing`` before trying again;
- refused (4xx): ``PermanentPostError``, naming the setting to fix for a bad or expired token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from engagement.queue.platforms.base import PermanentPostError, TransientPostError, UnknownOutcome

GRAPH_THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})


def call(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    token_setting: str,
    ok_missing: bool = False,
    **kwargs: Any,
) -> Any:
    """The JSON body of a successful call (``None`` for 404 when ``ok_missing``)."""
    try:
        response = http.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise TransientPostError(f"{what}: could not connect ({exc})") from exc
    except httpx.HTTPError as exc:  # read timeouts, dropped connections: it may have been posted
        raise UnknownOutcome(f"{what}: no answer ({type(exc).__name__}: {exc})") from exc
    if ok_missing and response.status_code == 404:
        return None
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, Mapping) else None
    code = error.get("code") if isinstance(error, Mapping) else None
    detail = _detail(body) or response.text[:300]
    if response.status_code == 429 or code in GRAPH_THROTTLE_CODES:
        raise TransientPostError(f"{what}: rate limited ({detail})")
    if response.status_code >= 500:
        raise UnknownOutcome(f"{what}: {response.status_code} ({detail})")
    if response.status_code in (401, 403) or code == 190:
        raise PermanentPostError(f"{what}: the credentials were refused ({detail}): check {token_setting}")
    if response.status_code >= 400 or error is not None:
        raise PermanentPostError(f"{what}: {response.status_code} ({detail})")
    return body


def _detail(body: Any) -> str | None:
    """Graph's ``error.message`` or App Store Connect's ``errors[].detail``."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        return str(error["message"])
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return str(errors[0].get("detail") or errors[0].get("title") or "")
    return None
