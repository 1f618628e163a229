"""How long a reply may be on each platform, counted the way that platform counts.

- **X**: twitter-text v3's weighted length, at most 280. Code points in the Latin, Greek,
  Cyrillic and common-punctuation ranges (U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F,
  U+2032-U+2037) weigh 1; everything else (CJK, Hangul, most symbols) weighs 2; an emoji, even
  a multi-code-point sequence such as a family or a flag, weighs 2; every URL counts 23 however
  long it is (t.co shortens it). The text is NFC-normalised first, as X does.
- **Reddit**: 10,000 characters per comment.
- **App Store**: a developer response holds 5,970 characters.
- **Google Play**: a developer reply holds 350 characters.
- **Instagram**: a comment (and so a reply) holds 2,200 characters.
- **Facebook**: engagebot caps a comment reply at 8,000 characters (the Graph API takes longer
  comments, but no one reads them, and a cap keeps a pasted document out).

The published Python port of twitter-text (``twitter-text-parser``) imports ``pkg_resources``,
which current setuptools no longer ships, so the weighting is implemented here from the v3
configuration (``twitter-text/config/v3.json``) and pinned by tests.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import emoji

from engagement.i18n import N_
from engagement.queue.state import QueueError

X_URL_LENGTH = 23
X_WEIGHT_SCALE = 100
X_DEFAULT_WEIGHT = 200
# (first code point, last code point, weight) from twitter-text's v3.json.
X_WEIGHT_RANGES = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))
X_EMOJI_WEIGHT = 200

LIMITS: dict[str, int] = {
    "x": 280,
    "reddit": 10_000,
    "appstore": 5_970,
    "googleplay": 350,
    "instagram": 2_200,
    "facebook": 8_000,
}
# N_: the case page shows these in the person's language (``|t``).
UNITS: dict[str, str] = {"x": N_("weighted characters (URLs count 23, emoji and CJK 2)")}
DEFAULT_UNIT = N_("characters")

# URLs as twitter-text finds them: with a scheme, with www., or a bare domain under a common TLD.
# Trailing punctuation ends the URL (``see example.com.`` links ``example.com``).
_TLDS = (
    "com|net|org|edu|gov|io|co|ai|app|dev|me|ly|info|biz|eu|us|uk|de|fr|es|it|nl|be|ch|at|se|no"
    "|dk|fi|pl|pt|ie|ca|au|nz|jp|cn|in|br|mx|ru|tv|gg|to|xyz|shop|store|travel|aero"
)
_URL = re.compile(
    r"(?<![\w@.])(?:https?://[^\s<>\"]+|www\.[^\s<>\"]+|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:"
    + _TLDS
    + r")\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True)
class LengthCheck:
    """A reply's length on its platform, against that platform's limit (``limit`` None: none known)."""

    platform: str
    length: int
    limit: int | None
    unit: str

    @property
    def ok(self) -> bool:
        return self.limit is None or self.length <= self.limit

    @property
    def over_by(self) -> int:
        return 0 if self.limit is None else max(0, self.length - self.limit)


class ReplyTooLong(QueueError):
    """The reply is longer than its platform takes (HTTP 422: the text must change, not the case)."""

    status_code = 422

    def __init__(self, check: LengthCheck) -> None:
        super().__init__(
            f"the reply is {check.length:,} {check.unit} long; {check.platform} takes at most "
            f"{check.limit:,} (shorten it by {check.over_by:,})"
        )
        self.check = check


def _x_urls(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _x_code_point_weight(char: str) -> int:
    point = ord(char)
    for first, last, weight in X_WEIGHT_RANGES:
        if first <= point <= last:
            return weight
    return X_DEFAULT_WEIGHT


def x_weighted_length(text: str) -> int:
    """X's count of ``text``: what X compares with 280 (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFC", text)
    covered: dict[int, tuple[int, int]] = {}
    for start, end in _x_urls(text):
        covered[start] = (end, X_URL_LENGTH * X_WEIGHT_SCALE)
    for found in emoji.emoji_list(text):
        start, end = int(found["match_start"]), int(found["match_end"])
        if not any(s <= start < e for s, (e, _) in covered.items()):
            covered[start] = (end, X_EMOJI_WEIGHT)
    total = 0
    index = 0
    while index < len(text):
        if index in covered:
            end, weight = covered[index]
            total += weight
            index = end
            continue
        total += _x_code_point_weight(text[index])
        index += 1
    return total // X_WEIGHT_SCALE


def reply_length(platform: str, text: str) -> int:
    """The reply's length as ``platform`` counts it (code points where it has no special rule)."""
    if platform == "x":
        return x_weighted_length(text)
    return len(unicodedata.normalize("NFC", text))


def check_length(platform: str, text: str) -> LengthCheck:
    """The reply's length and its platform's limit, for the live counter and the send path."""
    return LengthCheck(
        platform=platform,
        length=reply_length(platform, text),
        limit=LIMITS.get(platform),
        unit=UNITS.get(platform, DEFAULT_UNIT),
    )


def require_within_limit(platform: str, text: str) -> LengthCheck:
    """The check, or ``ReplyTooLong`` when the platform would refuse the text."""
    check = check_length(platform, text)
    if not check.ok:
        raise ReplyTooLong(check)
    return check
