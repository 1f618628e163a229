"""Bidirectional-override characters in posts: neutralised for Slack, made visible on the web.

The threat (CVE-2021-42574, "Trojan Source"): U+202E RIGHT-TO-LEFT OVERRIDE and its kin make
text display in an order other than the one it is stored in, so "refund 0001$" can read as
"refund $1000" and a link can show one address while pointing at another. A post is stranger
input, so an agent must see what it really says: in Slack the controls are removed (the text
then reads in its stored order, and cannot reorder the notification around it); on the web
each is shown as a visible mark (``⟦RLO⟧``) so the agent also sees that the post tried.

Only the embedding/override/isolate controls are touched (U+202A-U+202E, U+2066-U+2069); the
marks U+200E/U+200F that right-to-left writers use in ordinary text change no order and stay.
"""

from __future__ import annotations

BIDI_CONTROLS: dict[str, str] = {
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
}
"""Each control and the short name the Unicode Bidirectional Algorithm (UAX #9) gives it."""

_REMOVE = str.maketrans(dict.fromkeys(BIDI_CONTROLS, None))
_REVEAL = str.maketrans({char: f"\u27e6{name}\u27e7" for char, name in BIDI_CONTROLS.items()})


def has_bidi_controls(text: str) -> bool:
    """True when ``text`` holds any embedding, override or isolate control."""
    return any(char in BIDI_CONTROLS for char in text)


def neutralise_bidi(text: str) -> str:
    """``text`` for Slack: the controls removed, so it reads in the order it is stored."""
    return text.translate(_REMOVE)


def reveal_bidi(text: str) -> str:
    """``text`` for the web: each control replaced by a visible mark such as ``⟦RLO⟧`` (escape
    the result for HTML as usual; the marks are plain characters)."""
    return text.translate(_REVEAL)
