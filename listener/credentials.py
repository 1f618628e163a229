"""Which collector errors are a missing, expired or refused credential, and the setting to fix.

Why: a Page token expires after 60 days, an App Store Connect key is revoked, and the collector
then fails on every run with an error deep in the job table. ``engagebot status`` reads the last
collect run of each source through ``credential_problem`` and prints one line per platform that
names the setting first, so the fix is on the first screen, not in a log.
"""

from __future__ import annotations

import re

#: The settings (environment variables) that hold each platform's collector credentials.
COLLECT_SETTINGS: dict[str, str] = {
    "facebook": "FACEBOOK_PAGE_TOKEN",
    "instagram": "INSTAGRAM_ACCESS_TOKEN",
    "appstore": "ASC_ISSUER_ID, ASC_KEY_ID, ASC_PRIVATE_KEY",  # or ASC_PRIVATE_KEY_PATH: the error says so
    "googleplay": "GOOGLE_APPLICATION_CREDENTIALS",
    "x": "X_BEARER_TOKEN",
    "reddit": "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET",
}

#: How the collectors word a credential problem (``MissingCredentials``, Graph's code 190
#: and OAuth errors, the stores' 401/403).
_MARKERS = (
    "MissingCredentials",
    "access token is expired or invalid",
    "refused the credentials",
    "OAuthException",
    "needs a team API key",
    "needs a service account key",
)


def credential_problem(error: str | None) -> str | None:
    """The error without its exception name when it is a credential problem, else None."""
    if not error or not any(marker in error for marker in _MARKERS):
        return None
    return re.sub(r"^[A-Za-z]+(Error|Credentials): ", "", error)


def setting_to_fix(platform: str, problem: str) -> str:
    """The setting a person sets to fix ``platform``'s collector: the table's entry, or the
    one the error names (``set X``) for a platform the table does not know."""
    if platform in COLLECT_SETTINGS:
        return COLLECT_SETTINGS[platform]
    named = re.search(r"\bset (?:a new one in )?([A-Z][A-Z0-9_]+)", problem)
    return named.group(1) if named else "the source's credentials"
