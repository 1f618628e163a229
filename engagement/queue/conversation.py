"""The conversation a case sits in: the post it answers, the case's post, and the replies under it.

Why: a case used to show one post and the customer's earlier posts, so an agent could answer a
complaint that the brand had already answered in the thread, or miss what the customer was
replying to (issue 25). The collectors store what each platform says about threads in two
columns, and this module reads both:

- ``in_reply_to_id``: the parent's external id (a Reddit comment's parent, a Facebook or
  Instagram comment's parent comment or media, the review a developer response answers). The
  chain is followed up to ``MAX_PARENTS`` posts: "the post it answers".
- ``conversation_id``: the thread key (X ``conversation_id``, a Facebook post or Instagram media
  id, a Reddit submission): every post in it, plus direct replies to the case's posts.

Brand posts (``Post.is_brand``: the brand's own accounts) are marked, so a reply already given on
the platform stands out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import or_
from sqlmodel import Session, col, select

from db.models import Author, Post
from engagement.bidi import neutralise_bidi

MAX_PARENTS = 10
MAX_POSTS = 60


class Role(StrEnum):
    """Where a post stands relative to the case."""

    PARENT = "parent"  # the case's post answers it (directly or further up)
    EARLIER = "earlier"  # earlier in the thread, not in the case's parent chain
    CASE = "case"  # one of the case's own posts
    REPLY = "reply"  # in the thread, after or under the case's posts


@dataclass(frozen=True)
class Entry:
    """One post of the conversation, oldest first."""

    post: Post
    author: Author | None
    role: Role

    @property
    def is_brand(self) -> bool:
        return bool(self.post.is_brand or (self.author is not None and self.author.is_brand))

    @property
    def handle(self) -> str:
        author = self.author
        return (author.handle or author.display_name or author.external_id) if author else "unknown"


def _parents(session: Session, post: Post) -> list[tuple[Post, Author | None]]:
    """The chain of posts ``post`` answers, nearest first (stops at a post not stored)."""
    chain: list[tuple[Post, Author | None]] = []
    seen = {post.external_id}
    parent_id = post.in_reply_to_id
    while parent_id and parent_id not in seen and len(chain) < MAX_PARENTS:
        seen.add(parent_id)
        row = session.exec(
            select(Post, Author)
            .outerjoin(Author, col(Author.id) == col(Post.author_id))
            .where(col(Post.platform) == post.platform, col(Post.external_id) == parent_id)
        ).first()
        if row is None:
            break
        chain.append((row[0], row[1]))
        parent_id = row[0].in_reply_to_id
    return chain


def conversation(session: Session, posts: Sequence[Post]) -> list[Entry]:
    """The conversation around a case's ``posts`` (its first post leads), oldest first.

    Empty when there is nothing beyond the case's own posts, so callers can show the section
    only when it adds something."""
    if not posts:
        return []
    lead = posts[0]
    own = {p.id for p in posts}
    parents = _parents(session, lead)
    conditions = [col(Post.in_reply_to_id).in_([p.external_id for p in posts])]
    threads = {p.conversation_id for p in posts if p.conversation_id}
    if threads:
        conditions.append(col(Post.conversation_id).in_(threads))
    around = session.exec(
        select(Post, Author)
        .outerjoin(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.platform) == lead.platform, or_(*conditions))
        .order_by(col(Post.created_at), col(Post.id))
        .limit(MAX_POSTS)
    ).all()
    parent_ids = {p.id for p, _ in parents}
    entries: dict[int | None, Entry] = {}
    for post, author in reversed(parents):
        entries[post.id] = Entry(post, author, Role.PARENT)
    for post, author in around:
        if post.id in entries:
            continue
        if post.id in own:
            role = Role.CASE
        elif post.id in parent_ids or post.created_at < lead.created_at:
            role = Role.EARLIER  # earlier in the thread: context the customer may be answering
        else:
            role = Role.REPLY
        entries[post.id] = Entry(post, author, role)
    for post in posts:  # the case's posts always stand in their place
        if post.id not in entries:
            entries[post.id] = Entry(post, session.get(Author, post.author_id) if post.author_id else None, Role.CASE)
    ordered = sorted(entries.values(), key=lambda e: (e.post.created_at, e.post.id or 0))
    if all(e.role is Role.CASE for e in ordered):
        return []
    return ordered


def as_lines(entries: Sequence[Entry], *, width: int = 160) -> list[str]:
    """The conversation as plain text lines for ``engagebot queue show``: when, where the post
    stands (answers / earlier / CASE / reply), who, [brand] for the brand's own posts, the text."""
    marks = {Role.PARENT: "answers", Role.EARLIER: "earlier", Role.CASE: "CASE", Role.REPLY: "reply"}
    lines = []
    for entry in entries:
        brand = " [brand]" if entry.is_brand else ""
        text = " ".join(neutralise_bidi(entry.post.text).split())  # a terminal reorders too
        line = f"  {entry.post.created_at:%Y-%m-%d %H:%M} {marks[entry.role]:<7} @{entry.handle}{brand}: {text}"
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    return lines
