"""Language: the platform's tag first, else a cautious detection that defaults to English."""

from __future__ import annotations

import pytest

from sentiment.language import detect_language, platform_language, post_language


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("pt_BR", "pt"),
        ("und", None),
        ("qme", None),
        (None, None),
        ("", None),
    ],
)
def test_platform_language(tag: str | None, expected: str | None) -> None:
    assert platform_language(tag) == expected


def test_detection_is_conservative() -> None:
    assert detect_language("Danke!") == "en"  # too short to tell
    assert detect_language("@lufthansa ok 👍 https://t.co/x") == "en"
    assert detect_language("The flight was delayed again and nobody told us anything at the gate") == "en"


def test_detection_finds_clear_other_languages() -> None:
    assert detect_language("Der Flug hatte wieder drei Stunden Verspätung und niemand hat uns informiert") == "de"
    assert detect_language("Le vol a encore été annulé et personne ne nous a donné la moindre information") == "fr"


def test_platform_tag_wins() -> None:
    assert post_language("Der Flug hatte wieder drei Stunden Verspätung und niemand", "en") == "en"
    assert post_language("short", "es") == "es"
