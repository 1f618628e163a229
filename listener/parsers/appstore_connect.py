"""Parse App Store Connect ``customerReviews`` bodies (JSON:API, ``include=response``).

Built to Apple's published OpenAPI document: ``GET /v1/apps/{id}/customerReviews`` returns
``data`` of ``customerReviews`` (``attributes``: ``rating``, ``title``, ``body``,
``reviewerNickname``, ``createdDate``, ``territory``; ``relationships.response.data`` names the
developer response) and, with ``include=response``, ``included`` ``customerReviewResponses``
(``responseBody``, ``lastModifiedDate``, ``state``). A review with a response is stored as
answered at the response's time, so triage opens no case for it.

Reviews keep platform ``appstore`` (the same channel as the RSS feed, answered through
``customerReviewResponses``); the reviewer has only a nickname, so the author id is its hash.
"""

from __future__ import annotations

from collections.abc import Mapping
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

PLATFORM = "appstore"


def _responses(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``customerReviewResponses`` of ``included`` by id."""
    found: dict[str, Mapping[str, Any]] = {}
    for item in body.get("included") or []:
        if isinstance(item, Mapping) and item.get("type") == "customerReviewResponses" and item.get("id"):
            found[str(item["id"])] = item
    return found


def _response_id(review: Mapping[str, Any]) -> str | None:
    relationships = review.get("relationships")
    if not isinstance(relationships, Mapping):
        return None
    response = relationships.get("response")
    data = response.get("data") if isinstance(response, Mapping) else None
    return as_text(data.get("id")) if isinstance(data, Mapping) else None


def parse_review(review: Mapping[str, Any], responses: Mapping[str, Mapping[str, Any]]) -> ParsedPost:
    review_id = as_text(review.get("id"))
    if not review_id:
        raise RecordError("customerReview without id")
    attributes = review.get("attributes")
    if not isinstance(attributes, Mapping):
        raise RecordError("customerReview without attributes")
    rating = as_int(attributes.get("rating"))
    if rating is None or not 1 <= rating <= 5:
        raise RecordError(f"rating out of range: {attributes.get('rating')!r}")
    title = as_text(attributes.get("title"))
    text = as_text(attributes.get("body"))
    if text is None and title is None:
        raise RecordError("review without body or title")
    created = parse_time(attributes.get("createdDate"))
    nickname = as_text(attributes.get("reviewerNickname"))
    author = (
        ParsedAuthor(
            platform=PLATFORM,
            external_id=f"name:{stable_id(nickname.casefold())}",
            handle=clean_handle(nickname),
            display_name=nickname,
        )
        if nickname
        else None
    )
    answered = None
    response_id = _response_id(review)
    raw = dict(review)
    if response_id:
        response = responses.get(response_id)
        response_attributes = response.get("attributes") if isinstance(response, Mapping) else None
        when = response_attributes.get("lastModifiedDate") if isinstance(response_attributes, Mapping) else None
        # a response named but not included still means the developer answered
        answered = parse_time(when) if when else created
        if response is not None:
            raw["response"] = dict(response)
    return ParsedPost(
        platform=PLATFORM,
        external_id=review_id,
        text=text if text is not None else (title or ""),
        title=title,
        created_at=created,
        author=author,
        conversation_id=review_id,
        rating=rating,
        answered_at=answered,
        raw=raw,
    )


def parse_reviews(body: Any) -> ParsedPage:
    """One ``customerReviews`` page (or a single review document)."""
    page = ParsedPage()
    if not isinstance(body, Mapping) or "data" not in body:
        page.rejected.append(reject(None, "not an App Store Connect customerReviews body (no data)", body))
        return page
    data = body["data"]
    reviews = [data] if isinstance(data, Mapping) else data
    if not isinstance(reviews, list):
        page.rejected.append(reject(None, "data is neither a list nor an object", body))
        return page
    responses = _responses(body)
    for index, review in enumerate(reviews):
        if not isinstance(review, Mapping):
            page.rejected.append(reject(f"data[{index}]", "review is not an object", review))
            continue
        if review.get("type") not in (None, "customerReviews"):
            page.skipped += 1
            continue
        try:
            page.posts.append(parse_review(review, responses))
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(review.get("id") or f"data[{index}]", exc, review))
    return page
