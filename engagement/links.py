"""Every link engagebot writes (Slack, the report, the CLI) built on the one ``public_url``.

Links point at the web app, never at files: a ``file://`` path means nothing on the phone of
the lead who reads Slack, and a report is served at ``/reports/<week>`` behind sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from engagement.settings import EngagementSettings


@dataclass(frozen=True)
class Links:
    """URLs into the web app at ``public_url`` (e.g. ``https://care.example.com``)."""

    public_url: str

    @classmethod
    def from_settings(cls, settings: EngagementSettings) -> Links:
        return cls(settings.public_url)

    def _url(self, path: str, query: dict[str, str | None] | None = None) -> str:
        base = self.public_url.rstrip("/")
        params = {key: value for key, value in (query or {}).items() if value not in (None, "")}
        return f"{base}{path}" + (f"?{urlencode(params)}" if params else "")

    def case(self, case_id: int | None) -> str:
        """The case page."""
        return self._url(f"/cases/{case_id}")

    def queue(self, *, team: str | None = None, tier: str | None = None, platform: str | None = None) -> str:
        """The reply queue filtered as given (the parameters of ``/queue``)."""
        return self._url("/queue", {"team": team, "tier": tier, "platform": platform})

    def reports(self) -> str:
        """The list of weekly reports."""
        return self._url("/reports")

    def report(self, week: str) -> str:
        """One week's report page (``2026-W47``)."""
        return self._url(f"/reports/{quote(week)}")

    def report_file(self, week: str, name: str) -> str:
        """A download of one week's report: ``weekly-report.pdf`` or ``csv/<table>.csv``."""
        return self._url(f"/reports/{quote(week)}/{quote(name)}")
