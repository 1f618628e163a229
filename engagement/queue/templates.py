"""Saved replies and their ``{variables}``: one fill-in used by the web page, the API and the CLI.

A reply text may name ``{first_name}``, ``{name}``, ``{handle}``, ``{case_id}``, ``{brand}``
and ``{agent}``; each is filled from the case. Any other ``{word}`` is refused with its name
(``UnknownVariable``) so a typo such as ``{firstname}`` never reaches a customer. Braces that do
not hold a plain word (``{ }``, ``{1,2}``) are left alone.

Saved replies come from two places: ``ReplySettings.templates`` (the defaults every team sees)
and ``SavedReply`` rows that leads manage in the web app; a row shared by all teams overrides a
default of the same name, and a team's own row overrides both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, or_, select

from db.models import Author, Case, Customer, SavedReply
from db.types import utcnow
from engagement.errors import NotFound
from engagement.queue.state import QueueError
from engagement.settings import ReplySettings
from engagement.settings_store import BRAND, stored

VARIABLES = ("first_name", "name", "handle", "case_id", "brand", "agent")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME_MAX = 100


class UnknownVariable(QueueError):
    """A ``{variable}`` that no case can fill (HTTP 422); ``variable`` is its name."""

    status_code = 422

    def __init__(self, variable: str) -> None:
        super().__init__(
            f"unknown variable {{{variable}}} in the reply: use " + ", ".join("{" + v + "}" for v in VARIABLES)
        )
        self.variable = variable


class UnknownTemplate(QueueError):
    """No saved reply of that name for the team (HTTP 400: the request names something unknown)."""

    status_code = 400

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown saved reply {name!r} (saved replies: {', '.join(known) or 'none'})")
        self.name = name


@dataclass(frozen=True)
class SavedReplyView:
    """A saved reply as the pages and the API list it; ``id`` None for a settings default."""

    name: str
    text: str
    team: str | None
    id: int | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def is_default(self) -> bool:
        return self.id is None


def variables_in(text: str) -> list[str]:
    """The ``{word}`` placeholders in ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def check_variables(text: str) -> None:
    """Refuse the first placeholder that is not one of ``VARIABLES`` (by its name)."""
    for name in variables_in(text):
        if name not in VARIABLES:
            raise UnknownVariable(name)


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with every variable filled; refuses unknown ones before filling anything."""
    check_variables(text)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)


def brand_name(settings: ReplySettings, session: Session | None = None) -> str:
    """What ``{brand}`` says: the brand profile's name (admins edit it in the app), else the
    configured brand, else the X account, else a neutral phrase."""
    if session is not None:
        profile = stored(session, BRAND) or {}
        if str(profile.get("name") or "").strip():
            return str(profile["name"]).strip()
    if settings.brand_name.strip():
        return settings.brand_name.strip()
    if settings.x_brand_handle:
        return "@" + settings.x_brand_handle.lstrip("@")
    return "our team"


def case_variables(session: Session, case: Case, *, agent: str, settings: ReplySettings) -> dict[str, str]:
    """The values of every variable for this case: the customer's name first, else the author's."""
    customer = session.get(Customer, case.customer_id) if case.customer_id is not None else None
    author = session.get(Author, case.author_id) if case.author_id is not None else None
    name = (customer.name if customer is not None else None) or (author.display_name if author else None) or ""
    handle = (author.handle or "") if author is not None else ""
    first = name.split()[0] if name.strip() else (f"@{handle}" if handle else "there")
    return {
        "first_name": first,
        "name": name.strip() or first,
        "handle": f"@{handle}" if handle else "",
        "case_id": str(case.id),
        "brand": brand_name(settings, session),
        "agent": agent,
    }


LANGUAGES = frozenset(
    {
        "ar",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fi",
        "fr",
        "he",
        "hi",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        "nl",
        "no",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "th",
        "tr",
        "uk",
        "vi",
        "zh",
    }
)
LANG_SUFFIX = re.compile(r"(?:[-_.]|\s*[\(\[])([a-z]{2})[\)\]]?$", re.IGNORECASE)


def reply_lang(name: str) -> str | None:
    """The language a saved reply is written in, from its name: ``apology-de``, ``apology_de``,
    ``Apology (de)``; None for one without (taken as the brand's default language).

    Variants are named rather than given a column so that a team's existing replies keep
    working and a German variant is one more saved reply, not a schema change."""
    match = LANG_SUFFIX.search(name.strip())
    code = match.group(1).lower() if match else None
    return code if code in LANGUAGES else None


def for_language(views: list[SavedReplyView], lang: str | None) -> list[SavedReplyView]:
    """``views`` with the replies in ``lang`` first (then the ones without a language), so a
    German complaint is offered the German apology before the English one."""
    if not lang:
        return views
    wanted = lang.split("-")[0].lower()

    def rank(view: SavedReplyView) -> int:
        found = reply_lang(view.name)
        return 0 if found == wanted else (1 if found is None else 2)

    return sorted(views, key=rank)


def saved_replies(
    session: Session, *, team: str | None, settings: ReplySettings, lang: str | None = None
) -> list[SavedReplyView]:
    """The saved replies a member of ``team`` can use (``team`` None: every row), by name;
    with ``lang`` (the case's language) its variants come first."""
    chosen: dict[str, SavedReplyView] = {
        name: SavedReplyView(name=name, text=text, team=None) for name, text in settings.templates.items()
    }
    query = select(SavedReply)
    if team is not None:
        query = query.where(or_(col(SavedReply.team).is_(None), col(SavedReply.team) == team))
    rows = sorted(session.exec(query).all(), key=lambda r: (r.team is not None, r.team or "", r.name))
    if team is None:
        listed = [SavedReplyView(name=n, text=t, team=None) for n, t in settings.templates.items()]
        overridden = {r.name for r in rows if r.team is None}
        return for_language([v for v in listed if v.name not in overridden] + [view_of(r) for r in rows], lang)
    for row in rows:
        chosen[row.name] = view_of(row)
    return for_language(sorted(chosen.values(), key=lambda v: v.name), lang)


class SavedReplyNotFound(NotFound):
    """No saved reply with that id (HTTP 404)."""

    def __init__(self, reply_id: int) -> None:
        super().__init__(f"saved reply {reply_id} not found")
        self.reply_id = reply_id


def view_of(row: SavedReply) -> SavedReplyView:
    return SavedReplyView(
        name=row.name, text=row.text, team=row.team, id=row.id, updated_by=row.updated_by, updated_at=row.updated_at
    )


def template_text(session: Session, name: str, *, team: str | None, settings: ReplySettings) -> str:
    """The text of the saved reply ``name`` as ``team`` sees it, or ``UnknownTemplate``."""
    available = saved_replies(session, team=team, settings=settings)
    for view in available:
        if view.name == name:
            return view.text
    raise UnknownTemplate(name, [v.name for v in available])


def save_reply(
    session: Session, *, name: str, text: str, team: str | None, by: str, reply_id: int | None = None
) -> SavedReply:
    """Create or update a saved reply (the caller commits); its variables are checked first."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise QueueError(f"a saved reply needs a name of 1 to {NAME_MAX} characters")
    if not text.strip():
        raise QueueError("a saved reply needs a text")
    check_variables(text)
    row = session.get(SavedReply, reply_id) if reply_id is not None else None
    if reply_id is not None and row is None:
        raise SavedReplyNotFound(reply_id)
    clash = session.exec(
        select(SavedReply).where(
            col(SavedReply.name) == name,
            col(SavedReply.team).is_(None) if team is None else col(SavedReply.team) == team,
        )
    ).first()
    if clash is not None and (row is None or clash.id != row.id):
        raise QueueError(f"a saved reply named {name!r} exists for {team or 'every team'} already")
    if row is None:
        row = SavedReply(name=name, text=text, team=team, updated_by=by)
    row.name, row.text, row.team, row.updated_by, row.updated_at = name, text, team, by, utcnow()
    session.add(row)
    session.flush()
    return row


def delete_reply(session: Session, reply_id: int) -> SavedReply:
    """Remove a saved reply (the caller commits); returns the removed row."""
    row = session.get(SavedReply, reply_id)
    if row is None:
        raise SavedReplyNotFound(reply_id)
    session.delete(row)
    session.flush()
    return row


def compose(
    session: Session,
    case: Case,
    *,
    text: str,
    template: str | None,
    agent: str,
    settings: ReplySettings,
) -> str:
    """The reply exactly as it will be sent, refused before anything is sent when it cannot be.

    The one path from what a person typed (or the saved reply they picked, as the case's team
    sees it) to the text posted, shared by the web app, the API and the CLI: unknown variables
    raise ``UnknownVariable``, an empty result ``QueueError``, and a text longer than the
    platform takes ``limits.ReplyTooLong``.
    """
    from engagement.queue.limits import require_within_limit

    source = template_text(session, template, team=case.team, settings=settings) if template else text
    body = fill(source, case_variables(session, case, agent=agent, settings=settings)).strip()
    if not body:
        raise QueueError("the reply is empty")
    require_within_limit(case.platform, body)
    return body
