"""Secrets the web app signs with: the session key, CSRF tokens and API bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from engagement.settings import WebSettings

log = logging.getLogger(__name__)

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_TOKEN_SALT = "engagebot-api-token"


def resolve_session_secret(settings: WebSettings) -> str:
    """The configured secret, or (outside production) a random one for this process.

    A generated secret means logins do not survive a restart, which is fine for the demo and
    for tests; production refuses to start without a real one (``WebSettings`` validates it).
    """
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value()
    log.warning("no web session secret configured: generated one for this process (logins end on restart)")
    return secrets.token_urlsafe(48)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def password_stamp(password_hash: str) -> str:
    # Part of every API token: changing the password changes the stamp and revokes old tokens.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class ApiTokens:
    """Stateless API bearer tokens: ``{user id, password stamp}``, signed with a timestamp."""

    def __init__(self, secret: str, *, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_TOKEN_SALT)
        self._max_age_s = max_age_s

    def issue(self, *, user_id: int, password_hash: str) -> str:
        return self._serializer.dumps({"uid": user_id, "stamp": password_stamp(password_hash)})

    def user_id(self, token: str) -> tuple[int, str] | None:
        """``(user id, stamp)`` of a valid, unexpired token, else None."""
        try:
            data: Any = self._serializer.loads(token, max_age=self._max_age_s)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
            return None
        return data["uid"], str(data.get("stamp", ""))

    @staticmethod
    def stamp_matches(stamp: str, password_hash: str) -> bool:
        return hmac.compare_digest(stamp, password_stamp(password_hash))
