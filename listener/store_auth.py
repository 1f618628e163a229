"""Credentials of the app stores' own APIs, shared by the review collectors and the reply adapters.

- App Store Connect: a team API key signs a short JWT (ES256, ``kid`` = key id, ``iss`` = issuer
  id, ``aud`` = ``appstoreconnect-v1``, at most 20 minutes: Apple refuses longer ones).
- Android Publisher: a service account's key (google-auth) exchanged for an OAuth access token
  with the ``androidpublisher`` scope; google-auth signs the exchange and caches the token.

Both come from the environment first (``ASC_*``, ``GOOGLE_APPLICATION_CREDENTIALS``); a missing
one raises ``MissingCredentials`` naming the variable to set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from listener.base import MissingCredentials
from listener.settings import AppStoreConnectSettings, GooglePlayApiSettings

ASC_AUDIENCE = "appstoreconnect-v1"
ASC_MAX_MINUTES = 20
ANDROIDPUBLISHER_SCOPE = "https://www.googleapis.com/auth/androidpublisher"


@dataclass(frozen=True)
class AppStoreConnectKey:
    """A team API key: who issued it, its id, and the ``.p8`` private key (PEM)."""

    issuer_id: str
    key_id: str
    private_key: str
    minutes: int = 15

    def token(self, *, now: float | None = None) -> str:
        """A fresh ES256 JWT for one call (cheap to sign, so never cached past its life)."""
        issued = int(time.time() if now is None else now)
        lifetime = min(self.minutes, ASC_MAX_MINUTES) * 60
        payload = {"iss": self.issuer_id, "iat": issued, "exp": issued + lifetime, "aud": ASC_AUDIENCE}
        return jwt.encode(payload, self.private_key, algorithm="ES256", headers={"kid": self.key_id, "typ": "JWT"})


def appstore_connect_key(settings: AppStoreConnectSettings, env: Mapping[str, str]) -> AppStoreConnectKey:
    issuer = env.get("ASC_ISSUER_ID") or settings.issuer_id
    key_id = env.get("ASC_KEY_ID") or settings.key_id
    pem = env.get("ASC_PRIVATE_KEY") or (settings.private_key.get_secret_value() if settings.private_key else None)
    if not pem and env.get("ASC_PRIVATE_KEY_PATH"):
        pem = Path(env["ASC_PRIVATE_KEY_PATH"]).read_text(encoding="utf-8")
    missing = [name for name, value in (("ASC_ISSUER_ID", issuer), ("ASC_KEY_ID", key_id),
                                        ("ASC_PRIVATE_KEY or ASC_PRIVATE_KEY_PATH", pem)) if not value]  # fmt: skip
    if missing or not (issuer and key_id and pem):
        raise MissingCredentials(f"App Store Connect needs a team API key: set {', '.join(missing)}")
    return AppStoreConnectKey(issuer_id=issuer, key_id=key_id, private_key=pem, minutes=settings.token_minutes)


class GooglePlayToken:
    """An OAuth access token for Android Publisher from a service account (refreshed when stale)."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        self.credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(info), scopes=[ANDROIDPUBLISHER_SCOPE]
        )

    def header(self) -> str:
        """``Bearer <token>``, fetching a new token from the key's ``token_uri`` when needed."""
        if not self.credentials.valid:
            self.credentials.refresh(Request())
        return f"Bearer {self.credentials.token}"


def googleplay_token(settings: GooglePlayApiSettings, env: Mapping[str, str]) -> GooglePlayToken:
    text = settings.service_account_json.get_secret_value() if settings.service_account_json else None
    if not text and env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        text = Path(env["GOOGLE_APPLICATION_CREDENTIALS"]).read_text(encoding="utf-8")
    if not text:
        raise MissingCredentials(
            "Google Play's API needs a service account key: set GOOGLE_APPLICATION_CREDENTIALS (a path to its JSON)"
        )
    return GooglePlayToken(json.loads(text))
