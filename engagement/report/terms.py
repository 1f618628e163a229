"""What people complain about: terms of this week's negative posts against last week's.

Explainable on purpose: each term (a word, or two words side by side) is counted once per post
that mentions it. The rise is the log-odds ratio, with 0.5 added to every cell (Haldane-Anscombe),
of a negative post mentioning the term this week against last week:
``ln((a+.5)/(A-a+.5)) - ln((b+.5)/(B-b+.5))`` where a of A posts this week and b of B last week
mention it. 0 means as often as last week; +0.7 about twice the odds.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

from engagement.i18n import gettext as _
from engagement.report.rows import ReportData
from engagement.report.tables import Column, Table, share

# fmt: off
STOP_WORDS = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
    "during", "each", "few", "for", "from", "further", "get", "got", "had", "has", "have",
    "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i",
    "if", "in", "into", "is", "it", "its", "itself", "just", "let", "me", "more", "most",
    "my", "myself", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "im",
    "ive", "id", "youre", "its", "thats", "theres", "amp", "rt", "via", "one", "us",
    "still", "even", "really", "going", "go", "much", "many", "way", "back", "like", "know",
    "think", "make", "made", "today", "day", "time", "thanks", "thank", "please", "hi",
    "hello", "hey", "yes", "ok", "okay",
])
# fmt: on

# Negations are kept for phrases ("not processed", "no refund", "never again" are what complaints
# are made of) but are not listed on their own.
NEGATIONS = frozenset(
    ["no", "not", "never", "nothing", "nobody", "none", "cant", "cannot", "dont", "doesnt", "didnt", "wont", "isnt"]
)
EXTRA_STOP_WORDS = frozenset(["every", "ever", "another", "since", "yet", "two", "three", "first", "last", "next"])

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_WORD = re.compile(r"[a-z0-9]+")
_BREAK = re.compile(r"[.,;:!?()\[\]\"/|…]+")
MIN_POSTS = 2


class Vocabulary:
    """How texts become terms: stop words, and the brand's own names left out.

    ``brand_names`` are the display names and handles of the brand's accounts: each is removed
    from the text as a phrase ("Skylark Air" also matches "SkylarkAir"), and the words all its
    multi-word names share ("skylark") become stop words.
    """

    def __init__(self, extra_stop_words: Iterable[str] = (), brand_names: Iterable[str] = ()) -> None:
        names = sorted({n.strip().lower() for n in brand_names if n and n.strip()}, key=len, reverse=True)
        phrases = [r"[\s_-]*".join(map(re.escape, _WORD.findall(n))) for n in names if _WORD.findall(n)]
        self.brand = re.compile(r"\b(?:" + "|".join(phrases) + r")\b") if phrases else None
        self.stop = STOP_WORDS | EXTRA_STOP_WORDS | {w.lower() for w in extra_stop_words} | _shared_words(names)

    def tokens(self, text: str) -> list[str | None]:
        """Lower-cased words without URLs, @mentions and brand names; stop words, punctuation and
        removed names become None (gaps no phrase spans)."""
        clean = _MENTION.sub(" ", _URL.sub(" ", text.lower().replace("’", "'")))
        pieces = self.brand.split(clean) if self.brand is not None else [clean]
        result: list[str | None] = []
        for piece in (part for chunk in pieces for part in _BREAK.split(chunk)):
            if result:
                result.append(None)
            for raw in _TOKEN.findall(piece):
                token = raw.replace("'", "")
                result.append(None if token in self.stop or len(token) < 2 or token.isdigit() else token)
        return result

    def terms_of(self, text: str) -> set[str]:
        """The distinct words (negations aside) and two-word phrases (no stop word inside) of a text."""
        words = self.tokens(text)
        found = {w for w in words if w is not None and w not in NEGATIONS}
        found |= {f"{a} {b}" for a, b in pairwise(words) if a is not None and b is not None}
        return found

    def document_frequency(self, texts: Sequence[str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(self.terms_of(text))
        return counts


def _shared_words(names: Sequence[str]) -> set[str]:
    """Words (3+ letters) every multi-word brand name has, e.g. 'skylark' of 'Skylark Air' and
    'Skylark Air Support'; a single name gives its first word."""
    multi = [set(_WORD.findall(n)) for n in names if len(_WORD.findall(n)) > 1]
    if not multi:
        return set()
    if len(multi) == 1:
        first = _WORD.findall(next(n for n in names if len(_WORD.findall(n)) > 1))[0]
        return {first} if len(first) >= 3 else set()
    return {w for w in set.intersection(*multi) if len(w) >= 3}


def log_odds(a: int, total_a: int, b: int, total_b: int) -> float:
    """Log-odds ratio of a term in a of total_a texts vs b of total_b, 0.5 added to each cell."""
    return math.log((a + 0.5) / (total_a - a + 0.5)) - math.log((b + 0.5) / (total_b - b + 0.5))


def complaint_terms(data: ReportData, *, limit: int, extra_stop_words: Iterable[str] = ()) -> Table:
    """The terms most mentioned in this week's negative posts, last week's count and the rise."""
    this_week = [t.text for t in data.texts if data.week.contains(t.created_at)]
    previous = data.week.previous()
    last_week = [t.text for t in data.texts if previous.contains(t.created_at)]
    vocabulary = Vocabulary(extra_stop_words, data.brand_names)
    now, before = vocabulary.document_frequency(this_week), vocabulary.document_frequency(last_week)
    candidates = [term for term, count in now.items() if count >= MIN_POSTS]
    # Most mentioned first; two-word phrases before single words at equal counts (they say more).
    candidates.sort(key=lambda term: (-now[term], -term.count(" "), term))
    rows = [
        {
            "term": term,
            "posts": now[term],
            "share": share(now[term], len(this_week)),
            "posts_last_week": before[term],
            "log_odds": log_odds(now[term], len(this_week), before[term], len(last_week)),
        }
        for term in _drop_covered(candidates, now)[:limit]
    ]
    columns = [
        Column("term", _("Term")),
        Column("posts", _("Negative posts"), "int"),
        Column("share", _("Of negative posts"), "share"),
        Column("posts_last_week", _("Last week"), "int"),
        Column("log_odds", _("Rise (log-odds)"), "float"),
    ]
    return Table(
        "complaint_terms",
        _("What people complain about"),
        columns,
        rows,
        note=f"{len(this_week)} negative posts this week, {len(last_week)} last week. Words and two-word "
        f"phrases (common words and the brand's own names left out) in at least {MIN_POSTS} negative posts; "
        "'rise' is the log-odds ratio of a negative post mentioning the term this week vs last week "
        "(0: as often, +0.7: about twice the odds, negative: less).",
        empty=f"Too few negative posts this week to find recurring terms ({len(this_week)}).",
    )


def _drop_covered(candidates: list[str], counts: Counter[str]) -> list[str]:
    """Drop a single word when a listed phrase holding it is mentioned by exactly as many posts."""
    phrases = [term for term in candidates if " " in term]
    return [
        term
        for term in candidates
        if " " in term or not any(counts[p] == counts[term] and term in p.split() for p in phrases)
    ]
