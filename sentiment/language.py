"""Which language a post is in: the platform's tag if given, else a cautious, seeded detection."""

from __future__ import annotations

import re

from langdetect import DetectorFactory, LangDetectException, detect_langs

from sentiment.text import normalise_text

DetectorFactory.seed = 0  # langdetect is random by default; the same post must get the same answer

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_UNDETERMINED = {"und", "zxx", "qme", "qht", "qam", "qct", "qst", "art", ""}


def platform_language(tag: str | None) -> str | None:
    """``en-GB`` -> ``en``; None for missing or "undetermined" tags (X uses ``und``, ``qme``...)."""
    if not tag:
        return None
    code = tag.strip().lower().replace("_", "-").split("-")[0]
    return None if code in _UNDETERMINED else code


def detect_language(text: str, *, min_letters: int = 30, min_probability: float = 0.9) -> str:
    """ISO 639-1 code of ``text``; ``en`` unless detection is clearly confident.

    Short or mixed posts ("ok thx @user 👍") fool detectors, so a post must have at least
    ``min_letters`` letters (after mentions and links are normalised away) and the top language
    must reach ``min_probability``; otherwise it counts as English and gets scored.
    """
    cleaned = normalise_text(text).replace("@user", " ")
    if len(_LETTER.findall(cleaned)) < min_letters:
        return "en"
    try:
        candidates = detect_langs(cleaned)
    except LangDetectException:
        return "en"
    best = candidates[0]
    if best.prob < min_probability:
        return "en"
    return str(best.lang).split("-")[0]


def post_language(text: str, tag: str | None, *, min_letters: int = 30) -> str:
    """The platform's language tag where it gave one, else ``detect_language``."""
    return platform_language(tag) or detect_language(text, min_letters=min_letters)
