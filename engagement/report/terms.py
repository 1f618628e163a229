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

# Negations stay: "not working", "no refund", "never again" are what complaints are made of.

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MIN_POSTS = 2


def tokens(text: str, extra_stop_words: Iterable[str] = ()) -> list[str | None]:
    """Lower-cased words without URLs and @mentions; stop words become None (gaps for bigrams)."""
    stop = STOP_WORDS | {w.lower() for w in extra_stop_words}
    clean = _MENTION.sub(" ", _URL.sub(" ", text.lower().replace("’", "'")))
    result: list[str | None] = []
    for token in _TOKEN.findall(clean):
        token = token.replace("'", "")
        if token in stop or len(token) < 2 or token.isdigit():
            result.append(None)
        else:
            result.append(token)
    return result


def terms_of(text: str, extra_stop_words: Iterable[str] = ()) -> set[str]:
    """The distinct words and two-word phrases (no stop word inside) of one text."""
    words = tokens(text, extra_stop_words)
    found = {w for w in words if w is not None}
    found |= {f"{a} {b}" for a, b in pairwise(words) if a is not None and b is not None}
    return found


def document_frequency(texts: Sequence[str], extra_stop_words: Iterable[str] = ()) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(terms_of(text, extra_stop_words))
    return counts


def log_odds(a: int, total_a: int, b: int, total_b: int) -> float:
    """Log-odds ratio of a term in a of total_a texts vs b of total_b, 0.5 added to each cell."""
    return math.log((a + 0.5) / (total_a - a + 0.5)) - math.log((b + 0.5) / (total_b - b + 0.5))


def complaint_terms(data: ReportData, *, limit: int, extra_stop_words: Iterable[str] = ()) -> Table:
    """The terms most mentioned in this week's negative posts, last week's count and the rise."""
    this_week = [t.text for t in data.texts if data.week.contains(t.created_at)]
    previous = data.week.previous()
    last_week = [t.text for t in data.texts if previous.contains(t.created_at)]
    now, before = (
        document_frequency(this_week, extra_stop_words),
        document_frequency(last_week, extra_stop_words),
    )
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
        Column("term", "Term"),
        Column("posts", "Negative posts", "int"),
        Column("share", "Of negative posts", "share"),
        Column("posts_last_week", "Last week", "int"),
        Column("log_odds", "Rise (log-odds)", "float"),
    ]
    return Table(
        "complaint_terms",
        "What people complain about",
        columns,
        rows,
        note=f"{len(this_week)} negative posts this week, {len(last_week)} last week. Terms in "
        "at least "
        f"{MIN_POSTS} negative posts; 'rise' is the log-odds ratio of a negative post mentioning "
        "the term "
        "this week vs last week (0: as often, +0.7: about twice the odds, negative: less).",
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
