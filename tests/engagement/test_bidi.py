"""Bidi controls: gone from Slack text, visible on the web, ordinary right-to-left text untouched."""

from __future__ import annotations

import unicodedata

import pytest

from engagement.bidi import BIDI_CONTROLS, has_bidi_controls, neutralise_bidi, reveal_bidi

# "Trojan Source" shapes: an override that flips an amount, and an isolate hiding a link's end
FLIPPED = "Please refund \u202e0001$\u202c now"
ISOLATED = "click \u2067moc.live\u2069 https://skylark.example"


def test_the_table_is_exactly_the_override_and_isolate_controls() -> None:
    expected = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    assert sorted(ord(c) for c in BIDI_CONTROLS) == expected
    assert all(unicodedata.bidirectional(c) == name for c, name in BIDI_CONTROLS.items())


@pytest.mark.parametrize("text", [FLIPPED, ISOLATED])
def test_slack_text_loses_the_controls(text: str) -> None:
    assert has_bidi_controls(text)
    clean = neutralise_bidi(text)
    assert not has_bidi_controls(clean)
    assert clean == "".join(c for c in text if c not in BIDI_CONTROLS)


def test_web_text_shows_each_control() -> None:
    assert reveal_bidi(FLIPPED) == "Please refund ⟦RLO⟧0001$⟦PDF⟧ now"
    assert reveal_bidi(ISOLATED) == "click ⟦RLI⟧moc.live⟦PDI⟧ https://skylark.example"


def test_ordinary_right_to_left_text_is_untouched() -> None:
    hebrew = "\u05e9\u05dc\u05d5\u05dd \u200fSkylark\u200f"  # with right-to-left marks, which reorder nothing
    arabic = "\u0634\u0643\u0631\u0627 \u061c123"
    for text in (hebrew, arabic, "plain text"):
        assert not has_bidi_controls(text)
        assert neutralise_bidi(text) == text == reveal_bidi(text)
