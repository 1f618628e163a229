"""Write parsed posts and their authors in bulk, idempotently.

``INSERT ... ON CONFLICT DO NOTHING`` on the natural keys (both SQLite and PostgreSQL) makes
a rerun cost one round trip per chunk and change nothing. Authors are upserted so follower
counts stay current. Rejected records go to ``db.files.quarantine`` (shared with the CRM
import). The caller owns the transaction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.types import utcnow
from listener.records import MAX_TEXT_CHARS, ParsedAuthor, ParsedPost
from listener.threads import mark_answered

AUTHORS: Table = SQLModel.metadata.tables["authors"]
POSTS: Table = SQLModel.metadata.tables["posts"]
_SELECT_CHUNK = 500


@dataclass(slots=True)
class StoreCounts:
    """What one ``store_posts`` call did."""

    added: int = 0
    duplicates: int = 0
    quarantined: int = 0
    answered: int = 0

    def merge(self, other: StoreCounts) -> None:
        self.added += other.added
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.answered += other.answered


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {dialect!r}")


def normalise_brand_handles(
    brand_handles: Mapping[str, Sequence[str]] | None,
) -> dict[str, frozenset[str]]:
    """Per platform, the brand's handles lower-case and without '@'."""
    result: dict[str, frozenset[str]] = {}
    for platform, handles in (brand_handles or {}).items():
        result[platform.lower()] = frozenset(h.strip().lstrip("@").lower() for h in handles if h and h.strip())
    return result


def _json_safe(value: Any) -> Any:
    """The raw payload as strict JSON (PostgreSQL refuses NaN/Infinity and NUL characters).

    Checked with one ``dumps``; only a payload that fails is rebuilt (the common case is free).
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        text = json.dumps(_scrub(value), allow_nan=False, default=str)
        return json.loads(text.replace("\\u0000", ""))
    if "\\u0000" in text:
        return json.loads(text.replace("\\u0000", ""))
    return value


def _scrub(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _cut_strings(value: Any, limit: int) -> Any:
    """The raw record with every string cut to ``limit`` characters."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, Mapping):
        return {k: _cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_strings(v, limit) for v in value]
    return value


def _clean_text(value: str | None) -> str | None:
    return None if value is None else value.replace("\x00", "")


def upsert_authors(
    session: Session, authors: Iterable[ParsedAuthor], brand: Mapping[str, frozenset[str]]
) -> dict[tuple[str, str], tuple[int, bool]]:
    """Insert new authors, refresh changed ones; return ``(platform, id) → (row id, is_brand)``.

    Reads first and writes only what is new or changed, so a rerun costs one SELECT per
    chunk. Known values are never overwritten with unknowns (a payload without
    ``includes.users`` does not erase a handle), and brand/verified flags only turn on.
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for author in authors:
        key = (author.platform, author.external_id)
        handle = _clean_text(author.handle)
        fresh = {
            "handle": handle[:255] if handle else None,
            "display_name": (_clean_text(author.display_name) or "")[:255] or None,
            "followers": author.followers,
            "verified": author.verified,
            # Facebook Pages have no handle in a comment's ``from``: the page id names the brand
            "is_brand": bool(
                (handle and handle in brand.get(author.platform, frozenset()))
                or author.external_id.lower() in brand.get(author.platform, frozenset())
            ),
        }
        row = merged.get(key)
        if row is None:
            merged[key] = fresh
        else:  # a fuller description of the same account later in the batch fills gaps
            _merge_into(row, fresh)
    if not merged:
        return {}
    existing = _select_authors(session, list(merged))
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    updated_keys: list[tuple[str, str]] = []
    # Rows in key order: two imports upserting overlapping authors then lock them in the same
    # order, so they wait for each other instead of deadlocking.
    for key, values in sorted(merged.items()):
        current = existing.get(key)
        if current is None:
            inserts.append({"platform": key[0], "external_id": key[1], **values, "updated_at": now})
            continue
        target = dict(current)
        _merge_into(target, values)
        if any(target[name] != current[name] for name in values):
            updated_keys.append(key)
            updates.append({"a_id": current["id"], **{f"a_{k}": target[k] for k in values}, "a_now": now})
    if inserts:
        stmt = _insert(session, AUTHORS).on_conflict_do_nothing(index_elements=["platform", "external_id"])
        session.execute(stmt, inserts)
        existing.update(_select_authors(session, [(r["platform"], r["external_id"]) for r in inserts]))
    if updates:
        stmt = (
            update(AUTHORS)
            .where(AUTHORS.c.id == bindparam("a_id"))
            .values(
                handle=bindparam("a_handle"),
                display_name=bindparam("a_display_name"),
                followers=bindparam("a_followers"),
                verified=bindparam("a_verified"),
                is_brand=bindparam("a_is_brand"),
                updated_at=bindparam("a_now"),
            )
        )
        session.connection().execute(stmt, updates)
        for key, row in zip(updated_keys, updates, strict=True):
            existing[key] = {**existing[key], "is_brand": row["a_is_brand"]}
    return {key: (row["id"], bool(row["is_brand"])) for key, row in existing.items() if key in merged}


def _merge_into(row: dict[str, Any], fresh: Mapping[str, Any]) -> None:
    for name in ("handle", "display_name", "followers"):
        if fresh[name] is not None:
            row[name] = fresh[name]
    row["verified"] = bool(row["verified"] or fresh["verified"])
    row["is_brand"] = bool(row["is_brand"] or fresh["is_brand"])


def _select_authors(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    columns = AUTHORS.c
    found: dict[tuple[str, str], dict[str, Any]] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, []).append(external_id)
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), _SELECT_CHUNK):
            rows = session.execute(
                select(
                    columns.id,
                    columns.external_id,
                    columns.handle,
                    columns.display_name,
                    columns.followers,
                    columns.verified,
                    columns.is_brand,
                ).where(
                    columns.platform == platform,
                    columns.external_id.in_(ids[start : start + _SELECT_CHUNK]),
                )
            )
            for row in rows:
                found[(platform, row.external_id)] = {
                    "id": row.id,
                    "handle": row.handle,
                    "display_name": row.display_name,
                    "followers": row.followers,
                    "verified": bool(row.verified),
                    "is_brand": bool(row.is_brand),
                }
    return found


def store_posts(
    session: Session,
    *,
    source: str,
    posts: Sequence[ParsedPost],
    brand_handles: Mapping[str, frozenset[str]] | None = None,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> StoreCounts:
    """Upsert a batch of posts (and their authors), then mark threads the brand answered.

    A text longer than ``max_text_chars`` is cut there and the post stored with
    ``text_truncated``; long strings in its raw record are cut alike (a 10 MB post is neither
    stored nor served whole).
    """
    counts = StoreCounts()
    unique: dict[tuple[str, str], ParsedPost] = {}
    for post in posts:
        key = (post.platform, post.external_id)
        if key in unique:
            counts.duplicates += 1
        else:
            unique[key] = post
    if not unique:
        return counts
    brand = dict(brand_handles or {})
    authors = upsert_authors(session, (p.author for p in unique.values() if p.author is not None), brand)
    # Posts already stored cost one indexed SELECT per chunk, not an insert attempt with its
    # serialised payload: what makes a rerun that adds nothing cheap.
    known = _existing_posts(session, list(unique))
    fresh = [post for key, post in unique.items() if key not in known]
    now = utcnow()
    rows = []
    for post in fresh:
        author = authors.get((post.author.platform, post.author.external_id)) if post.author else None
        truncated = len(post.text) > max_text_chars
        raw = post.raw if not truncated or post.raw is None else _cut_strings(post.raw, max_text_chars)
        rows.append(
            {
                "platform": post.platform,
                "external_id": post.external_id,
                "source": source[:128],
                "text": _clean_text(post.text[:max_text_chars]) or "",
                "text_truncated": truncated,
                "title": _clean_text(post.title),
                "lang": post.lang,
                "url": _clean_text(post.url),
                "conversation_id": post.conversation_id,
                "in_reply_to_id": post.in_reply_to_id,
                "is_brand": bool(author and author[1]),
                "rating": post.rating,
                "engagement": post.engagement,
                "app_version": (_clean_text(post.app_version) or "")[:64] or None,
                "author_id": author[0] if author else None,
                "created_at": post.created_at,
                "collected_at": now,
                "answered_at": post.answered_at,
                "raw": None if raw is None else _json_safe(raw),
            }
        )
    # No RETURNING: drivers then use their fast executemany (psycopg pipelines it), and the
    # summed rowcount says how many rows were new.
    stmt = (
        _insert(session, POSTS)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .execution_options(preserve_rowcount=True)
    )
    counts.added = _rowcount(session.execute(stmt, rows)) if rows else 0
    counts.duplicates += len(unique) - counts.added
    counts.answered += _apply_native_answers(session, (unique[key] for key in known))
    by_platform: dict[str, set[str]] = {}
    replied_to: dict[str, set[str]] = {}
    for post in fresh:  # threads only change when something new arrives in them
        if post.conversation_id:
            by_platform.setdefault(post.platform, set()).add(post.conversation_id)
        elif post.in_reply_to_id or post.answered_at is None:
            # no thread key (exports): look for direct brand replies either way round
            ids = replied_to.setdefault(post.platform, set())
            ids.add(post.external_id)
            if post.in_reply_to_id:
                ids.add(post.in_reply_to_id)
    for platform in set(by_platform) | set(replied_to):
        counts.answered += mark_answered(
            session,
            platform=platform,
            conversation_ids=by_platform.get(platform, ()),
            post_ids=replied_to.get(platform, ()),
        )
    return counts


def _existing_posts(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, []).append(external_id)
    found: set[tuple[str, str]] = set()
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), _SELECT_CHUNK):
            chunk = ids[start : start + _SELECT_CHUNK]
            rows = session.execute(
                select(POSTS.c.external_id).where(POSTS.c.platform == platform, POSTS.c.external_id.in_(chunk))
            )
            found.update((platform, row[0]) for row in rows)
    return found


def _rowcount(result: Any) -> int:
    return max(0, int(getattr(result, "rowcount", 0) or 0))


def _apply_native_answers(session: Session, posts: Iterable[ParsedPost]) -> int:
    """A platform-reported reply (Google Play, Trustpilot) seen on a post we already had.

    Newly inserted posts already carry their ``answered_at``, so only older rows change.
    """
    params = [
        {"p_platform": p.platform, "p_external_id": p.external_id, "p_answered_at": p.answered_at}
        for p in posts
        if p.answered_at is not None
    ]
    if not params:
        return 0
    stmt = (
        update(POSTS)
        .where(
            POSTS.c.platform == bindparam("p_platform"),
            POSTS.c.external_id == bindparam("p_external_id"),
            POSTS.c.answered_at.is_(None),
        )
        .values(answered_at=bindparam("p_answered_at"))
        .execution_options(preserve_rowcount=True)
    )
    return _rowcount(session.connection().execute(stmt, params))
