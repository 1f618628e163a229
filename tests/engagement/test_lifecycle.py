"""Case lifecycle on both backends: relabel closes and reopens, snooze, reopen, bulk, notes with
@mentions, tags, "mine"/"unassigned", similar cases, unscorable languages, full-text search."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import queue_factories as f
from queue_factories import NOW, person
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import AuditEvent, Case, CasePost, LabelCorrection, Outbox, User
from db.vocab import OutboxChannel
from engagement import queue
from engagement.commands import AddNote, perform
from engagement.commands.bulk import BulkAction, BulkRequest, bulk
from engagement.commands.relabel import relabel
from engagement.notify.deliver import deliver_pending
from engagement.notify.notices import take_unseen
from engagement.queue.notes import add_note, case_notes, mentions_in
from engagement.queue.reads import similar_cases
from engagement.queue.tags import tag_case
from engagement.settings import EngagementSettings, RoutingRule, RoutingSettings, SlackSettings
from engagement.triage.cases import NEEDS_PERSON, triage

SETTINGS = EngagementSettings()


def _case_of(engine: Engine, post_id: int) -> Case:
    with session_scope(engine) as session:
        case_id = session.execute(select(col(CasePost.case_id)).where(col(CasePost.post_id) == post_id)).scalar_one()
        return queue.get_case(session, case_id)


def _open_ids(engine: Engine, **filters: Any) -> list[int]:
    with session_scope(engine) as session:
        return [c.id or 0 for c in queue.list_cases(session, status=queue.ACTIVE_STATUSES, now=NOW, **filters)]


def _two_post_case(engine: Engine) -> tuple[Case, list[int]]:
    ada = f.author(engine, handle="ada")
    first = f.post(engine, author_id=ada, text="my bag is lost", conversation_id="t1",
                   created_at=NOW - timedelta(hours=2))  # fmt: skip
    second = f.post(engine, author_id=ada, text="still no bag", conversation_id="t1",
                    created_at=NOW - timedelta(hours=1))  # fmt: skip
    f.user(engine, name="amy")
    triage(engine, SETTINGS, now=NOW)
    return _case_of(engine, first), [first, second]


def test_relabelling_every_post_closes_and_negative_reopens_at_once(engine: Engine) -> None:
    case, (first, second) = _two_post_case(engine)
    assert case.id is not None and case.money_at_risk > 0
    amy = person("amy")
    one = relabel(engine, case.id, post_id=first, label="neutral", actor=amy, settings=SETTINGS, now=NOW)
    assert one.status == "open", "one post of two is still negative: the case stays, re-priced"
    both = relabel(engine, case.id, post_id=second, label="positive", actor=amy, settings=SETTINGS, now=NOW)
    assert (both.status, both.close_reason) == ("closed", "relabelled")
    assert case.id not in _open_ids(engine)
    # The scheduled run agrees: it neither reopens the case nor opens a new one.
    counts = triage(engine, SETTINGS, now=NOW + timedelta(minutes=5))
    assert counts["created"] == 0 and case.id not in _open_ids(engine)

    back = relabel(engine, case.id, post_id=second, label="negative", actor=amy, settings=SETTINGS, now=NOW)
    assert (back.status, back.close_reason) == ("open", None)
    reopened = _case_of(engine, first)
    assert reopened.money_at_risk > 0 and case.id in _open_ids(engine)
    with session_scope(engine) as session:
        actions = [e.action for e in queue.case_audit(session, case.id)]
        assert session.execute(select(func.count()).select_from(LabelCorrection)).scalar_one() == 3
    assert actions.count("relabelled") == 3 and "closed" in actions and actions[-2:] == ["relabelled", "reopened"]


def test_relabel_refuses_a_post_of_another_case(engine: Engine) -> None:
    case, _ = _two_post_case(engine)
    bob = f.author(engine, handle="bob")
    other = f.post(engine, author_id=bob, text="rude staff", conversation_id="t9")
    assert case.id is not None
    with pytest.raises(queue.QueueError, match="is not part of case"):
        relabel(engine, case.id, post_id=other, label="neutral", actor=person("amy"), settings=SETTINGS, now=NOW)


def test_snooze_hides_until_due_and_reopen_brings_back_finished_cases(engine: Engine) -> None:
    case, _ = _two_post_case(engine)
    assert case.id is not None
    queue.snooze(engine, case.id, actor=person("amy"), until=NOW + timedelta(hours=2), now=NOW)
    assert case.id not in _open_ids(engine)
    with session_scope(engine) as session:
        snoozed = queue.list_cases(session, status=queue.ACTIVE_STATUSES, snoozed="only", now=NOW)
        assert [c.id for c in snoozed] == [case.id]
        later = queue.list_cases(session, status=queue.ACTIVE_STATUSES, now=NOW + timedelta(hours=2, seconds=1))
        assert case.id in [c.id for c in later], "due again: back in the open list by itself"
    queue.dismiss(engine, case.id, actor=person("amy"), reason="spam", now=NOW)
    assert case.id not in _open_ids(engine, snoozed="any")
    reopened = queue.reopen(engine, case.id, actor=person("amy"), reason="not spam after all", now=NOW)
    assert (reopened.status, reopened.close_reason, reopened.snoozed_until) == ("open", None, None)


def test_bulk_dismiss_reports_each_case_and_audits_each(engine: Engine) -> None:
    ada, bob = f.author(engine, handle="ada"), f.author(engine, handle="bob")
    posts = [f.post(engine, author_id=a, text=f"lost bag {i}", conversation_id=f"b{i}")
             for i, a in enumerate((ada, bob, ada))]  # fmt: skip
    f.user(engine, name="amy")
    f.user(engine, name="ben")
    triage(engine, SETTINGS, now=NOW)
    ids = [_case_of(engine, p).id or 0 for p in posts]
    queue.claim(engine, ids[2], actor=person("ben"), now=NOW)
    outcomes = bulk(engine, [*ids, 999_999], BulkRequest(BulkAction.DISMISS, reason="duplicate"),
                    actor=person("amy"), settings=SETTINGS, now=NOW)  # fmt: skip
    done = [(o.case_id, o.ok, o.status) for o in outcomes[:2]]
    assert done == [(ids[0], True, "dismissed"), (ids[1], True, "dismissed")]
    assert not outcomes[2].ok and "ben" in (outcomes[2].error or "")
    assert not outcomes[3].ok and "not found" in (outcomes[3].error or "")
    with session_scope(engine) as session:
        dismissed = (
            session.execute(
                select(col(AuditEvent.case_id)).where(
                    col(AuditEvent.action) == "dismissed", col(AuditEvent.actor) == "amy"
                )
            )
            .scalars()
            .all()
        )
    assert sorted(dismissed) == sorted(ids[:2])
    with pytest.raises(queue.QueueError, match="needs reason"):
        bulk(engine, ids, BulkRequest(BulkAction.DISMISS), actor=person("amy"), settings=SETTINGS)


def test_bulk_snooze_assign_and_label(engine: Engine) -> None:
    ada, bob = f.author(engine, handle="ada"), f.author(engine, handle="bob")
    posts = [f.post(engine, author_id=a, text="seat broken", conversation_id=f"s{i}") for i, a in enumerate((ada, bob))]
    f.user(engine, name="amy")
    f.user(engine, name="lena", role="lead")
    triage(engine, SETTINGS, now=NOW)
    ids = [_case_of(engine, p).id or 0 for p in posts]
    lead = person("lena")
    assigned = bulk(engine, ids, BulkRequest(BulkAction.ASSIGN, to="amy@example.com"), actor=lead, settings=SETTINGS,
                    now=NOW)  # fmt: skip
    assert all(o.ok for o in assigned)
    assert _open_ids(engine, mine="amy") == ids and _open_ids(engine, unassigned=True) == []
    refused = bulk(engine, ids, BulkRequest(BulkAction.ASSIGN, to="lena"), actor=person("amy"), settings=SETTINGS)
    assert not any(o.ok for o in refused), "assigning needs the lead role"
    snoozed = bulk(engine, ids[:1], BulkRequest(BulkAction.SNOOZE, until=NOW + timedelta(hours=1)), actor=lead,
                   settings=SETTINGS, now=NOW)  # fmt: skip
    assert snoozed[0].ok and _open_ids(engine) == ids[1:]
    labelled = bulk(engine, ids[1:], BulkRequest(BulkAction.LABEL, label="neutral"), actor=lead, settings=SETTINGS,
                    now=NOW)  # fmt: skip
    assert [(o.ok, o.status) for o in labelled] == [(True, "closed")]


def test_notes_with_mentions_reach_the_person_at_once(engine: Engine, tmp_path: Path) -> None:
    """A note's @mention is a direct message to that person, queued at once (no quiet hours, no
    public channel); a person without a Slack id gets none; an unknown name is a warning only."""
    case, _ = _two_post_case(engine)
    f.user(engine, name="lena", role="lead", slack_user_id="U0LENA01")
    f.user(engine, name="ben", role="agent")
    assert case.id is not None
    assert mentions_in("ask @lena and @amy@example.com, not bob@x.com or @lena twice") == ["lena", "amy@example.com"]
    slack = SlackSettings(team_channels={"default": "#care"}, quiet_hours={"#care": "00:00-23:59"})
    settings = EngagementSettings(slack=slack, public_url="https://eb.example")
    amy = person("amy")
    done = perform(engine, amy, case.id, AddNote(text="@lena refund? cc @ben @nobody <b>x</b>"), settings=settings,
                   now=NOW)  # fmt: skip
    assert done.mentioned == ("ben", "lena") and done.warnings == ("nobody is called @nobody: not notified",)
    with session_scope(engine) as session:
        notes = case_notes(session, case.id)
        mentions = select(Outbox).where(col(Outbox.kind) == "mention", col(Outbox.channel) == OutboxChannel.SLACK)
        messages = session.execute(mentions).scalars().all()
    assert [n.text for n in notes] == ["@lena refund? cc @ben @nobody <b>x</b>"]
    assert len(messages) == 1 and messages[0].payload["channel"] == "U0LENA01"  # Lena's DM; Ben has no Slack id
    assert messages[0].next_attempt_at == NOW  # at once, although #care is in its quiet hours
    text = messages[0].payload["text"]
    assert text.startswith("amy mentioned you on <https://eb.example/cases/") and "&lt;b&gt;" in text
    with pytest.raises(queue.QueueError, match="needs some text"):
        add_note(engine, case.id, actor=amy, text="  ", settings=settings)
    # delivered like any other message (here to the sink file the demo uses)
    sink = tmp_path / "slack.jsonl"
    sent = deliver_pending(engine, slack.model_copy(update={"sink": str(sink)}), NOW)
    delivered = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    assert sent["sent"] == 1 and [m["channel"] for m in delivered] == ["U0LENA01"] and "refund?" in delivered[0]["text"]

    # Both get an in-app notice on their next page (Ben's only way to hear of it), shown once.
    with session_scope(engine) as session:
        ids = {u.name: u.id for u in session.execute(select(User)).scalars()}
    [ben_notice] = take_unseen(engine, ids["ben"], NOW)
    assert ben_notice.text == f"amy mentioned you on case {case.id}: @lena refund? cc @ben @nobody <b>x</b>"
    assert ben_notice.case_id == case.id and take_unseen(engine, ids["ben"], NOW) == []
    assert [n.text[:21] for n in take_unseen(engine, ids["lena"], NOW)] == ["amy mentioned you on "]
    # the Slack sender never takes a notice
    assert deliver_pending(engine, slack.model_copy(update={"sink": str(sink)}), NOW)["sent"] == 0


def test_tags_add_remove_and_filter(engine: Engine) -> None:
    case, _ = _two_post_case(engine)
    assert case.id is not None
    assert tag_case(engine, case.id, actor=person("amy"), add=["Refund", "#press"]) == ["press", "refund"]
    assert _open_ids(engine, tag="refund") == [case.id] and _open_ids(engine, tag="vip") == []
    assert tag_case(engine, case.id, actor=person("amy"), remove=["press"]) == ["refund"]
    with pytest.raises(queue.QueueError, match="one word"):
        tag_case(engine, case.id, actor=person("amy"), add=["two words"])


def test_near_identical_texts_of_different_authors_group_as_similar(engine: Engine) -> None:
    template = "@SkylarkAir my bag arrived in {city} soaked and the handle ripped off. Claim denied. Terrible."
    authors = [f.author(engine, handle=h) for h in ("ada", "bob", "cy", "dee")]
    posts = [
        f.post(engine, author_id=a, text=template.format(city=c), conversation_id=f"g{i}")
        for i, (a, c) in enumerate(zip(authors, ("Atlanta", "Denver", "Portland", "Seattle"), strict=True))
    ]
    posts.append(f.post(engine, author_id=authors[0], text="Skylark Air my bag arrived in Phoenix soaked and the "
                        "handle ripped off. Claim denied. Terrible.", conversation_id="g9"))  # fmt: skip
    other = f.post(engine, author_id=authors[1], text="The app crashes when I open my booking", conversation_id="g5")
    triage(engine, SETTINGS, now=NOW)
    cases = [_case_of(engine, p) for p in posts]
    groups = {c.similar_group for c in cases}
    assert len(groups) == 1 and None not in groups
    assert _case_of(engine, other).similar_group is None
    with session_scope(engine) as session:
        first = queue.get_case(session, cases[0].id or 0)
        assert sorted(c.id or 0 for c in similar_cases(session, first)) == sorted(c.id or 0 for c in cases[1:])


def test_unscorable_language_opens_a_case_for_valuable_authors_and_low_stars(engine: Engine) -> None:
    vip = f.author(engine, handle="vip")
    f.customer(engine, handle="vip", rclv=9000.0, name="Élodie Martin")
    nobody = f.author(engine, handle="nobody")
    reviewer = f.author(engine, handle="rev", platform="appstore")

    def french(author_id: int, text: str, thread: str, *, rating: int | None = None) -> int:
        platform = "x" if rating is None else "appstore"
        return f.post(engine, author_id=author_id, text=text, conversation_id=thread, rating=rating, platform=platform,
                      label="unsupported_language", p_negative=0.0, lang="fr")  # fmt: skip

    valued = french(vip, "Vol annulé, personne ne répond", "f1")
    french(nobody, "Vol en retard", "f2")
    low = french(reviewer, "Application inutilisable", "f3", rating=1)
    happy = french(reviewer, "Super application", "f4", rating=5)
    settings = EngagementSettings(
        routing=RoutingSettings(rules=[RoutingRule(name="france", team="fr-desk", languages=["fr"])])
    )
    counts = triage(engine, settings, now=NOW)
    assert counts["created"] == 2 and counts["needs_person"] == 2 and counts["unsupported_language"] == 2
    for post_id in (valued, low):
        case = _case_of(engine, post_id)
        assert case.team == "fr-desk" and case.reasons["sentiment"] == "unknown"
        assert str(case.reasons["why"]).endswith("; " + NEEDS_PERSON) and case.money_at_risk > 0
    with session_scope(engine) as session:
        case_posts = set(session.execute(select(col(CasePost.post_id))).scalars())
    assert happy not in case_posts
    again = triage(engine, settings, now=NOW + timedelta(minutes=5))
    assert again["created"] == 0 and str(_case_of(engine, valued).reasons["why"]).count(NEEDS_PERSON) == 1


def test_full_text_search_matches_every_word_in_any_order(engine: Engine) -> None:
    ada = f.author(engine, handle="ada")
    texts = ["Tapping refund does nothing", "My bag arrived in Zürich soaked", "Refunded twice?", "Flight delayed"]
    posts = [f.post(engine, author_id=ada, text=t, conversation_id=f"q{i}") for i, t in enumerate(texts)]
    triage(engine, SETTINGS, now=NOW)
    ids = [_case_of(engine, p).id for p in posts]

    def found(q: str, method: str = "fulltext") -> set[int | None]:
        with session_scope(engine) as session:
            got = queue.list_cases(session, status=queue.ACTIVE_STATUSES, search=q, search_method=method, now=NOW)
            assert queue.count_cases(session, status=queue.ACTIVE_STATUSES, search=q, search_method=method,
                                     now=NOW) == len(got)  # fmt: skip
            return {c.id for c in got}

    assert found("refund") == {ids[0]} and found("REFUNDED") == {ids[2]}, "whole words, any case"
    assert found("BAG soaked") == {ids[1]} and found("soaked bag") == {ids[1]}, "every word, any order"
    assert found("bag flight") == set()
    assert found('" OR 1=1 --') == set() and found("refund:* | bag") == set(), "no query syntax gets through"
    assert found("bag soaked", "like") == set(), "the old substring scan needs the exact phrase"
    assert found("😡") == set()
