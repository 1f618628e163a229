"""Parse Google Play reviews (google-play-scraper's dicts, or those dicts saved as JSON).

There is no user id, only the name: the author id is a stable hash of it. ``at`` and
``repliedAt`` come from the scraper as naive host-local datetimes (converted to UTC); in JSON
files naive timestamps are read as UTC. A ``replyContent`` means the brand already answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from listener.records import (
    ParsedAuthor,
    ParsedPage,
    ParsedPost,
    RecordError,
    as_int,
    as_text,
    clean_handle,
    parse_time,
    reject,
    stable_id,
)

PLATFORM = "googleplay"


def author_id_for(name: str) -> str:
    """Google Play has no user id; the same name always maps to the same id."""
    return f"name:{stable_id(name.casefold())}"


def parse_review(review: Mapping[str, Any], *, naive_tz: tzinfo | None, app_id: str | None = None) -> ParsedPost:
    review_id = as_text(review.get("reviewId"))
    if not review_id:
        raise RecordError("review without reviewId")
    text = as_text(review.get("content"))
    if text is None:
        raise RecordError("review without content")
    created = parse_time(review.get("at"), naive_as=naive_tz)
    rating = as_int(review.get("score"))
    if rating is not None and not 1 <= rating <= 5:
        raise RecordError(f"score out of range: {review.get('score')!r}")
    name = as_text(review.get("userName"))
    author = (
        ParsedAuthor(
            platform=PLATFORM,
            external_id=author_id_for(name),
            handle=clean_handle(name),
            display_name=name,
        )
        if name
        else None
    )
    answered = None
    if review.get("replyContent") is not None:
        replied = review.get("repliedAt")
        answered = parse_time(replied, naive_as=naive_tz) if replied else created
    url = f"https://play.google.com/store/apps/details?id={app_id}&reviewId={review_id}" if app_id else None
    raw = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in review.items()}
    return ParsedPost(
        platform=PLATFORM,
        external_id=review_id,
        text=text,
        created_at=created,
        author=author,
        url=url,
        conversation_id=review_id,
        rating=rating,
        engagement=as_int(review.get("thumbsUpCount")),
        app_version=as_text(review.get("reviewCreatedVersion")) or as_text(review.get("appVersion")),
        answered_at=answered,
        raw=raw,
    )


def parse_reviews(body: Any, *, naive_tz: tzinfo | None = None, app_id: str | None = None) -> ParsedPage:
    """A list of review dicts (also ``{"reviews": [...]}`` or ``[reviews, token]``).

    ``naive_tz=None`` reads naive times as host-local (the live scraper); files pass UTC.
    """
    page = ParsedPage()
    reviews: Any = body
    if isinstance(body, Mapping):
        reviews = body.get("reviews", body.get("data"))
        if reviews is None and "reviewId" in body:
            reviews = [body]
    elif isinstance(body, list) and len(body) == 2 and isinstance(body[0], list) and not isinstance(body[1], Mapping):
        reviews = body[0]
    if not isinstance(reviews, list):
        page.rejected.append(reject(None, "not a list of Google Play reviews", body))
        return page
    for index, review in enumerate(reviews):
        if not isinstance(review, Mapping):
            page.rejected.append(reject(f"[{index}]", "review is not an object", review))
            continue
        try:
            page.posts.append(parse_review(review, naive_tz=naive_tz, app_id=app_id))
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(review.get("reviewId", f"[{index}]"), exc, review))
    return page


def _api_time(value: Any) -> Any:
    """Android Publisher's ``Timestamp`` is ``{"seconds": "…", "nanos": …}`` (seconds as text)."""
    if isinstance(value, Mapping):
        seconds = as_int(value.get("seconds"))
        if seconds is None:
            raise RecordError(f"unreadable timestamp: {value!r}")
        return seconds
    return value


def parse_api_review(review: Mapping[str, Any], *, app_id: str | None = None) -> ParsedPost:
    """One ``reviews.list`` review (androidpublisher v3): ``comments`` holds the user's comment
    and, once answered, a ``developerComment``; the review is then stored as answered."""
    review_id = as_text(review.get("reviewId"))
    if not review_id:
        raise RecordError("review without reviewId")
    user: Mapping[str, Any] | None = None
    developer: Mapping[str, Any] | None = None
    for comment in review.get("comments") or []:
        if isinstance(comment, Mapping) and isinstance(comment.get("userComment"), Mapping):
            user = user or comment["userComment"]
        if isinstance(comment, Mapping) and isinstance(comment.get("developerComment"), Mapping):
            developer = comment["developerComment"]
    if user is None:
        raise RecordError("review without a userComment")
    text = as_text(user.get("text"))
    if text is None:
        raise RecordError("userComment without text")
    created = parse_time(_api_time(user.get("lastModified")))
    rating = as_int(user.get("starRating"))
    if rating is not None and not 1 <= rating <= 5:
        raise RecordError(f"starRating out of range: {user.get('starRating')!r}")
    name = as_text(review.get("authorName"))
    author = (
        ParsedAuthor(platform=PLATFORM, external_id=author_id_for(name), handle=clean_handle(name), display_name=name)
        if name
        else None
    )
    answered = None
    if developer is not None:
        replied = developer.get("lastModified")
        answered = parse_time(_api_time(replied)) if replied else created
    url = f"https://play.google.com/store/apps/details?id={app_id}&reviewId={review_id}" if app_id else None
    return ParsedPost(
        platform=PLATFORM,
        external_id=review_id,
        text=text.strip(),
        created_at=created,
        author=author,
        url=url,
        conversation_id=review_id,
        rating=rating,
        lang=as_text(user.get("reviewerLanguage")),
        engagement=as_int(user.get("thumbsUpCount")),
        app_version=as_text(user.get("appVersionName")),
        answered_at=answered,
        raw=dict(review),
    )


def parse_api_reviews(body: Any, *, app_id: str | None = None) -> ParsedPage:
    """One ``reviews.list`` page: ``{"reviews": [...], "tokenPagination": {...}}``."""
    page = ParsedPage()
    reviews = body.get("reviews") if isinstance(body, Mapping) else None
    if reviews is None and isinstance(body, Mapping) and "reviewId" in body:
        reviews = [body]  # reviews.get
    if reviews is None and isinstance(body, Mapping) and not body.get("tokenPagination"):
        reviews = []  # no reviews this week: the API leaves the key out
    if not isinstance(reviews, list):
        page.rejected.append(reject(None, "not an Android Publisher reviews body", body))
        return page
    for index, review in enumerate(reviews):
        if not isinstance(review, Mapping):
            page.rejected.append(reject(f"reviews[{index}]", "review is not an object", review))
            continue
        try:
            page.posts.append(parse_api_review(review, app_id=app_id))
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(review.get("reviewId", f"reviews[{index}]"), exc, review))
    return page
