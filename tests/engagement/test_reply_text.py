"""Reply text: variables filled from the case or refused by name, and each platform's length rule."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Author, Case, Customer, Post, SavedReply
from db.types import utcnow
from engagement.queue import QueueError, limits, templates
from engagement.queue.limits import ReplyTooLong, check_length, require_within_limit, x_weighted_length
from engagement.settings import ReplySettings

URL = "https://www.skylark.example/help/refunds/a-very-long-path-that-x-shortens?ref=" + "q" * 60


def test_x_counts_latin_and_common_punctuation_as_one() -> None:
    assert x_weighted_length("a" * 280) == 280
    text = "Ça coûte 5 — “déjà” vu"  # Latin-1, dashes and curly quotes: weight 1
    assert x_weighted_length(text) == len(text)
    assert x_weighted_length("€5…") == 5  # U+20AC and U+2026 lie outside the weight-1 ranges


def test_x_counts_cjk_and_emoji_as_two_and_every_url_as_23() -> None:
    assert x_weighted_length("日本語") == 6
    assert x_weighted_length("😀") == 2
    assert x_weighted_length("👨\u200d👩\u200d👧") == 2  # one family emoji, five code points
    assert x_weighted_length("🇩🇪") == 2  # a flag: two regional indicators
    assert x_weighted_length("cafe\u0301") == 4  # NFC first: é is one code point
    assert len(URL) > 100 and x_weighted_length(URL) == 23
    assert x_weighted_length(f"See {URL} now") == 4 + 23 + 4
    assert x_weighted_length("see skylark.com.") == 4 + 23 + 1  # bare domain; the full stop is text
    assert x_weighted_length("v1.2 is out") == 11  # a version number is no URL


def test_limits_per_platform_and_the_refusal_says_by_how_much() -> None:
    assert check_length("x", "a" * 280).ok and not check_length("x", "a" * 300).ok
    assert check_length("reddit", "a" * 10_000).ok and not check_length("reddit", "a" * 10_001).ok
    assert check_length("appstore", "a" * 5_970).ok and not check_length("appstore", "a" * 5_971).ok
    assert check_length("googleplay", "a" * 350).ok and not check_length("googleplay", "a" * 351).ok
    assert check_length("csv", "a" * 50_000).limit is None  # no known limit: never refused
    with pytest.raises(ReplyTooLong, match=r"300 weighted characters .* x takes at most 280 \(shorten it by 20\)"):
        require_within_limit("x", "a" * 300)
    assert limits.LIMITS["x"] == 280


def test_unknown_variables_are_refused_by_name_and_plain_braces_stay() -> None:
    with pytest.raises(templates.UnknownVariable, match=r"\{firstname\}") as refused:
        templates.fill("Hi {firstname}, sorry", {"first_name": "Zoë"})
    assert refused.value.variable == "firstname"
    values = {"first_name": "Zoë", "case_id": "7", "brand": "Skylark Air"}
    assert templates.fill("Hi {first_name} (case {case_id}) from {brand}", values) == (
        "Hi Zoë (case 7) from Skylark Air"
    )
    assert templates.fill("a { } b {1,2} c", values) == "a { } b {1,2} c"
    assert templates.variables_in("{a}{b}{a}") == ["a", "b"]


def _case(session: object, *, team: str = "care", platform: str = "x") -> Case:
    from sqlmodel import Session

    assert isinstance(session, Session)
    customer = Customer(crm_id="C1", name="Zoë Martin")
    author = Author(platform=platform, external_id="u1", handle="zoe", display_name="Zoë M")
    session.add_all([customer, author])
    session.flush()
    post = Post(
        platform=platform, external_id="p1", source="t", text="lost bag", author_id=author.id, created_at=utcnow()
    )
    session.add(post)
    session.flush()
    case = Case(
        dedupe_key="k1", post_id=post.id or 0, author_id=author.id, customer_id=customer.id, team=team,
        platform=platform,
    )
    session.add(case)
    session.flush()
    return case


def test_case_variables_saved_replies_per_team_and_compose(sqlite_engine: Engine) -> None:
    settings = ReplySettings(brand_name="Skylark Air", templates={"apology": "Hi {first_name}, sorry (case {case_id})"})
    with session_scope(sqlite_engine) as session:
        case = _case(session)
        values = templates.case_variables(session, case, agent="Ana", settings=settings)
        assert values == {
            "first_name": "Zoë", "name": "Zoë Martin", "handle": "@zoe", "case_id": str(case.id),
            "brand": "Skylark Air", "agent": "Ana",
        }
        templates.save_reply(session, name="apology", text="Dear {name}, we are on it.", team="care", by="Lea")
        templates.save_reply(session, name="thanks", text="Thanks from {brand}!", team=None, by="Adam")
        templates.save_reply(session, name="billing-only", text="Refund on its way.", team="billing", by="Bo")
        care = {v.name: v.text for v in templates.saved_replies(session, team="care", settings=settings)}
        assert care == {"apology": "Dear {name}, we are on it.", "thanks": "Thanks from {brand}!"}
        body = templates.compose(session, case, text="", template="apology", agent="Ana", settings=settings)
        assert body == "Dear Zoë Martin, we are on it."
        with pytest.raises(templates.UnknownTemplate, match="billing-only"):
            templates.compose(session, case, text="", template="billing-only", agent="Ana", settings=settings)
        with pytest.raises(templates.UnknownVariable, match="firstname"):
            templates.save_reply(session, name="bad", text="Hi {firstname}", team="care", by="Lea")
        with pytest.raises(ReplyTooLong):
            templates.compose(session, case, text="x" * 300, template=None, agent="Ana", settings=settings)
        with pytest.raises(QueueError, match="exists"):
            templates.save_reply(session, name="thanks", text="again", team=None, by="Adam")
        assert session.get(SavedReply, 1) is not None
