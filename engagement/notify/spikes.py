"""Negative spikes: a source or keyword whose negative posts in the last window are well above
their recent baseline, with the posts that show what it is about."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from db.models import Author, Post, Score
from db.scores import current_score_id
from engagement.notify.blocks import Example
from engagement.settings import EngagementSettings


@dataclass(frozen=True)
class Spike:
    """A source or keyword whose negative volume is well above its recent baseline."""

    kind: str
    name: str
    count: int
    baseline: float


def detect_spikes(
    current: Mapping[str, int],
    history: Mapping[str, Sequence[int]],
    *,
    ratio: float,
    min_count: int,
    kind: str,
) -> list[Spike]:
    """Pure check: current >= max(min_count, ratio x mean of the earlier windows)."""
    spikes = []
    for name, count in sorted(current.items()):
        past = list(history.get(name, []))
        baseline = sum(past) / len(past) if past else 0.0
        if count >= min_count and count >= ratio * baseline:
            spikes.append(Spike(kind=kind, name=name, count=count, baseline=baseline))
    return spikes


@dataclass
class NegativeWindows:
    """Negative posts per window (oldest first, the last is the current one) by source and by
    keyword, and the most negative posts of the current window for each."""

    by_source: dict[str, list[int]]
    by_keyword: dict[str, list[int]]
    examples: dict[tuple[str, str], list[tuple[float, Example]]] = field(default_factory=dict)

    def examples_for(self, spike: Spike, limit: int) -> list[Example]:
        ranked = sorted(self.examples.get((spike.kind, spike.name), []), key=lambda pair: -pair[0])
        return [example for _p, example in ranked[:limit]]

    def spikes(self, *, ratio: float, min_count: int) -> list[Spike]:
        found: list[Spike] = []
        for kind, series in (("source", self.by_source), ("keyword", self.by_keyword)):
            found += detect_spikes(
                {k: v[-1] for k, v in series.items()},
                {k: v[:-1] for k, v in series.items()},
                ratio=ratio,
                min_count=min_count,
                kind=kind,
            )
        return found


def negative_windows(
    session: Session, settings: EngagementSettings, now: datetime, *, history: Mapping[str, datetime] | None = None
) -> NegativeWindows:
    """Count the negative posts (current score, ``db.scores``) of each window before ``now``;
    ``history`` (backfilled sources, ``notify.backfill``) is left out: an import is no spike."""
    slack = settings.slack
    width = timedelta(hours=slack.spike_window_hours)
    windows = slack.spike_baseline_windows + 1
    start = now - width * windows
    rows = session.execute(
        select(col(Post.source), col(Post.text), col(Post.created_at), col(Score.p_negative), col(Author.handle))
        .join(Score, col(Score.id) == current_score_id(col(Post.id)))
        .outerjoin(Author, col(Author.id) == col(Post.author_id))
        .where(
            col(Post.created_at) >= start,
            col(Post.created_at) < now,
            col(Post.is_brand).is_(False),
            col(Score.p_negative) >= settings.triage.negative_threshold,
            col(Score.label) != "unsupported_language",
        )
    ).all()
    by_source: dict[str, list[int]] = defaultdict(lambda: [0] * windows)
    by_keyword: dict[str, list[int]] = defaultdict(lambda: [0] * windows)
    examples: dict[tuple[str, str], list[tuple[float, Example]]] = defaultdict(list)
    keywords = [k.lower() for k in slack.spike_keywords]
    for source, text, created, p_negative, handle in rows:
        until = (history or {}).get(str(source))
        if until is not None and created <= until:
            continue
        index = min(windows - 1, int((created - start) / width))
        current = index == windows - 1
        example = Example(text=str(text), author=f"@{handle}" if handle else None)
        by_source[str(source)][index] += 1
        if current:
            examples[("source", str(source))].append((float(p_negative), example))
        lowered = str(text).lower()
        for word in keywords:
            if word in lowered:
                by_keyword[word][index] += 1
                if current:
                    examples[("keyword", word)].append((float(p_negative), example))
    return NegativeWindows(dict(by_source), dict(by_keyword), dict(examples))
