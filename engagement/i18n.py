"""The interface's language: gettext catalogues through Babel, and dates, times, numbers and
durations in a locale and the brand's time zone.

Catalogues are the ``.po`` files in ``engagement/locale/<lang>/LC_MESSAGES/messages.po``, read
directly at first use (``babel.messages.pofile``): no compile step, so an installed package,
a checkout and the tests all find the same texts. ``make i18n`` extracts and updates them.

Two ways to translate:

- code that knows its audience (Slack, the weekly report) asks ``translator(lang)`` for one;
- the web app activates the request's language (``activate``) and templates call the module's
  ``gettext``/``ngettext``, which read it. A context variable, so concurrent requests never
  see each other's language.

The CLI and logs stay English: nothing there goes through this module.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
# The languages a person can choose and a browser can get; English is the source text.
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
# The pseudo-locale: every translated string wrapped, so a test finds what was never marked.
PSEUDO = "xx"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"

_current: ContextVar[str] = ContextVar("engagebot_language", default=DEFAULT)


def language_of(code: str | None) -> str:
    """``de_DE``, ``de-AT``, ``DE`` -> ``de``; anything we have no catalogue for -> ``en``."""
    if not code:
        return DEFAULT
    base = code.replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES or base == PSEUDO else DEFAULT


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str) -> Catalog:
    """The ``.po`` file of ``lang`` as Babel's catalogue (tests count and check its entries)."""
    with catalog_path(lang).open("rb") as fp:
        return read_po(fp, locale=lang, domain=DOMAIN)


def _from_catalog(catalog: Catalog) -> Translations:
    """A catalogue as translations, through an in-memory ``.mo``: fuzzy entries are left out, as
    gettext would at build time, so a doubtful German text falls back to English."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _pseudo_catalog() -> Catalog:
    """Every message of the German catalogue (which holds them all), wrapped as ``⟦…⟧``."""
    source = read_catalog("de")
    pseudo = Catalog(locale="en", domain=DOMAIN)
    for message in source:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            wrapped: str | tuple[str, ...] = tuple(f"{PSEUDO_OPEN}{part}{PSEUDO_CLOSE}" for part in message.id)
        else:
            wrapped = f"{PSEUDO_OPEN}{message.id}{PSEUDO_CLOSE}"
        pseudo.add(message.id, wrapped, context=message.context)
    return pseudo


@lru_cache(maxsize=8)
def translator(lang: str | None) -> _gettext.NullTranslations:
    """The translations of ``lang`` (``en`` and unknown codes: the English source text)."""
    code = language_of(lang)
    if code == PSEUDO:
        return _from_catalog(_pseudo_catalog())
    if code == DEFAULT or not catalog_path(code).exists():
        return _gettext.NullTranslations()
    return _from_catalog(read_catalog(code))


def activate(lang: str | None) -> str:
    """Make ``lang`` the language of this request (or task); returns the code it settled on."""
    code = language_of(lang)
    _current.set(code)
    return code


def current() -> str:
    return _current.get()


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` inside the block (a Slack message for one channel, the weekly report),
    then whatever was active before: messages for channels of different languages are built
    in one run."""
    token = _current.set(language_of(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """``message`` in the active language (templates' ``_()`` and ``{% trans %}``)."""
    return translator(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translator(_current.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (a vocabulary word)."""
    return message


# Words of the vocabularies (db/vocab.py) that pages show as they are: statuses, roles,
# sentiment labels, tiers. Templates translate them with ``_(status)``; listed here so that
# ``make i18n`` extracts them.
VOCABULARY: tuple[str, ...] = (
    N_("open"),
    N_("active"),
    N_("claimed"),
    N_("pending_approval"),
    N_("escalated"),
    N_("replied"),
    N_("dismissed"),
    N_("closed"),
    N_("draft"),
    N_("sending"),
    N_("sent"),
    N_("not_sent"),
    N_("failed"),
    N_("running"),
    N_("ok"),
    N_("died"),
    N_("finished"),
    N_("negative"),
    N_("neutral"),
    N_("positive"),
    N_("unknown"),
    N_("confirmed"),
    N_("suggested"),
    N_("rejected"),
    N_("agent"),
    N_("lead"),
    N_("admin"),
    N_("top"),
    N_("high"),
    N_("mid"),
    N_("low"),
    N_("unlinked"),
    N_("standard"),
    N_("All"),
    N_("on time"),
    # the history's verbs (db.vocab.AuditVerb; "claimed", "closed"… are above)
    N_("opened"),
    N_("merged"),
    N_("sla_breached"),
    N_("noted"),
    N_("untagged"),
    N_("sessions_ended"),
    N_("signin_locked"),
    N_("signin_unlocked"),
    N_("comment_hidden"),
    N_("renewed"),
    N_("released"),
    N_("taken_over"),
    N_("reassigned"),
    N_("reopened"),
    N_("relabelled"),
    N_("reply_submitted"),
    N_("awaiting_approval"),
    N_("reply_approved"),
    N_("reply_rejected"),
    N_("reply_sent"),
    N_("reply_not_sent"),
    N_("reply_failed"),
    N_("reply_stale_outcome"),
    N_("answered_elsewhere"),
    N_("link_confirmed"),
    N_("link_rejected"),
    N_("tagged"),
    N_("overdue"),
)


def negotiate(accept_language: str | None) -> str | None:
    """The best language we have for a browser's ``Accept-Language`` (``de-DE,de;q=0.9,en;q=0.8``),
    by its q-values; ``None`` when it names none of ours (then the brand's setting decides)."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _q, _pos, tag in sorted(ranked):
        base = tag.replace("-", "_").split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return None


def babel_locale(lang: str | None) -> Locale:
    """The CLDR locale that formats for ``lang`` (the pseudo-locale formats as English)."""
    try:
        return Locale.parse(language_of(lang) if language_of(lang) != PSEUDO else DEFAULT)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return ZoneInfo("UTC")
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def format_datetime(when: datetime, lang: str | None, tz: str | tzinfo | None = None) -> str:
    """``07.12.2026 14:05`` (de), ``Dec 7, 2026 2:05 PM`` (en): the date a reader writes and the
    time in the brand's zone (``tz``), never the server's."""
    locale, zone = babel_locale(lang), _zone(tz)
    return f"{dates.format_date(when.astimezone(zone), 'medium', locale=locale)} {format_time(when, lang, tz)}"


def format_date(when: datetime, lang: str | None, tz: str | tzinfo | None = None) -> str:
    return dates.format_date(when.astimezone(_zone(tz)), "medium", locale=babel_locale(lang))


def format_time(when: datetime, lang: str | None, tz: str | tzinfo | None = None) -> str:
    return dates.format_time(when, "short", tzinfo=_zone(tz), locale=babel_locale(lang))


def format_ago(delta: timedelta, lang: str | None) -> str:
    """How long ago (a positive ``delta``) or how far ahead: ``vor 3 Std.``, ``3 hr. ago``."""
    return dates.format_timedelta(-delta, add_direction=True, format="short", locale=babel_locale(lang))


def format_number(value: float | int, lang: str | None, *, digits: int | None = None) -> str:
    """``1.234,5`` (de), ``1,234.5`` (en); ``digits`` fixes the decimals shown."""
    if digits is None:
        return numbers.format_decimal(value, locale=babel_locale(lang))
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=babel_locale(lang))


def format_percent(value: float, lang: str | None) -> str:
    """``0.42`` -> ``42 %`` (de), ``42%`` (en)."""
    return numbers.format_percent(value, locale=babel_locale(lang))
