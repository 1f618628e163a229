"""The German catalogue is complete (issue 29), and the formatting helpers speak the locale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engagement import i18n

MIN_ENTRIES = 300


def test_the_german_catalogue_holds_every_string_translated_and_none_fuzzy() -> None:
    catalog = i18n.read_catalog("de")
    entries = [m for m in catalog if m.id]
    assert len(entries) >= MIN_ENTRIES, f"only {len(entries)} entries"
    untranslated = [m.id for m in entries if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == [], f"untranslated: {untranslated}"
    assert fuzzy == [], f"fuzzy: {fuzzy}"
    # each placeholder of the English text is in the German one, or formatting would fail
    for m in entries:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for placeholder in {p for text in ids for p in _placeholders(text)}:
            assert any(placeholder in s for s in strings), f"{m.id!r} lost {placeholder}"


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"%\(\w+\)", text)


def test_translators_and_the_pseudo_locale() -> None:
    assert i18n.translator("de").gettext("Sign in") == "Anmelden"
    assert i18n.translator("de_DE").gettext("Queue") == "Warteschlange"
    assert i18n.translator("en").gettext("Sign in") == "Sign in"
    assert i18n.translator("fr").gettext("Sign in") == "Sign in"  # no catalogue: English
    assert i18n.translator(i18n.PSEUDO).gettext("Sign in") == "⟦Sign in⟧"
    assert i18n.translator("de").ngettext("case", "cases", 2) == "Fälle"


def test_the_browser_language_by_its_q_values() -> None:
    assert i18n.negotiate("de-DE,de;q=0.9,en;q=0.8") == "de"
    assert i18n.negotiate("fr-FR,en;q=0.5,de;q=0.9") == "de"
    assert i18n.negotiate("fr-FR") is None
    assert i18n.negotiate("") is None


def test_dates_numbers_and_durations_in_the_locale_and_the_brands_zone() -> None:
    when = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)
    assert i18n.format_datetime(when, "de", "Europe/Berlin") == "07.12.2026 14:05"
    assert i18n.format_ago(timedelta(hours=3), "de") == "vor 3 Std."
    assert i18n.format_number(1234.5, "de", digits=1) == "1.234,5"
    assert i18n.format_number(1234.5, "en", digits=1) == "1,234.5"
    assert i18n.format_percent(0.42, "de") == "42\xa0%"
