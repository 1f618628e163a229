"""Near-identical complaints from different authors: grouped as "similar" when cases open.

The same outage brings the same words from many people ("Tapping refund does nothing" three
times, "my bag arrived in <city> soaked" four times). Agents should see and act on those
together. Two texts are similar when the Jaccard overlap of their word sets is at least
``THRESHOLD`` (mentions, links and case ignored; one changed city name in fifteen words still
matches). Comparing each new case with every open one would be quadratic, so each case stores
banded MinHash keys (``CaseSketch``): cases sharing a band are the only candidates checked,
one index look-up per new case. ``P(candidate) = 1 - (1 - J^ROWS)^BANDS``: 0.9995 at J = 0.78.

A group is named by its oldest case's id (``Case.similar_group``); only active cases of other
authors join a group.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from db.models import Case, CaseSketch, Post
from engagement.queue import ACTIVE_STATUSES

HASHES = 16
ROWS = 2
BANDS = HASHES // ROWS
THRESHOLD = 0.7
MIN_WORDS = 4
_PRIME = (1 << 61) - 1
# Fixed coefficients: the same text gives the same sketch in every process and release.
_COEFFICIENTS = [
    (int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest(), "big") % _PRIME or 1,
     int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest(), "big") % _PRIME)
    for i in range(HASHES)
]  # fmt: skip
_NOISE = re.compile(r"https?://\S+|[@#]\w+", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> frozenset[str]:
    """The text's words, lower-cased, without mentions, hashtags and links."""
    return frozenset(w.lower() for w in _WORD.findall(_NOISE.sub(" ", text)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")


def bands(word_set: frozenset[str]) -> list[str]:
    """The MinHash band keys of a word set (``BANDS`` strings of at most 32 characters)."""
    hashed = [_hash(w) for w in word_set]
    signature = [min((a * h + b) % _PRIME for h in hashed) for a, b in _COEFFICIENTS]
    keys = []
    for band in range(BANDS):
        rows = ",".join(str(v) for v in signature[band * ROWS : (band + 1) * ROWS])
        keys.append(f"{band}:{hashlib.blake2b(rows.encode(), digest_size=12).hexdigest()}")
    return keys


@dataclass(frozen=True)
class NewCase:
    """A case triage just opened, with its opening post's text."""

    case: Case
    text: str


def group_similar(session: Session, opened: Sequence[NewCase]) -> int:
    """Sketch each new case and join it to the group of a similar active case of another author.

    Runs in triage's transaction (under its lock). Returns how many cases joined a group.
    """
    joined = 0
    for new in opened:
        case = new.case
        assert case.id is not None
        word_set = words(new.text)
        if len(word_set) < MIN_WORDS:
            continue
        keys = bands(word_set)
        candidates = session.exec(
            select(Case, Post.text)
            .join(Post, col(Post.id) == col(Case.post_id))
            .where(
                col(Case.id).in_(select(CaseSketch.case_id).where(col(CaseSketch.band).in_(keys))),
                col(Case.id) != case.id,
                col(Case.status).in_(ACTIVE_STATUSES),
            )
        ).all()
        matches = [
            other
            for other, text in candidates
            if (other.author_id is None or other.author_id != case.author_id)
            and jaccard(word_set, words(text)) >= THRESHOLD
        ]
        session.add_all(CaseSketch(case_id=case.id, band=key) for key in keys)
        if not matches:
            continue
        group = min(other.similar_group or other.id or 0 for other in matches)
        for other in matches:
            if other.similar_group is None:
                other.similar_group = group
                session.add(other)
        case.similar_group = group
        session.add(case)
        joined += 1
    return joined
