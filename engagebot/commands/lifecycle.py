"""CLI commands for a case's life beyond one reply: ``queue snooze|reopen|label|note|notes|tag|
similar|bulk``, each taking one or several case ids.

They perform the same case commands as the web app, the API and Slack (``engagement.commands``),
so the permissions, the state machine, the audit trail and the side effects are the same
whichever surface acts.
Several ids are one bulk action: each case is checked and audited on its own, and a refusal
on one case is reported without stopping the others.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

from engagebot.commands.ids import MAX_ID
from engagebot.commands.queue import AGENT, JSON, _actor, _engine, amounts, queue_app
from engagebot.runtime import console, friendly_errors

if TYPE_CHECKING:
    from engagement.commands.bulk import BulkOutcome, BulkRequest

IDS = typer.Argument(..., min=1, max=MAX_ID, help="One or more case ids.")


def _until(until: str | None, hours: float | None) -> datetime:
    from db.types import utcnow

    if (until is None) == (hours is None):
        raise ValueError("give --until (ISO 8601 with a zone) or --hours, not both")
    if hours is not None:
        return utcnow() + timedelta(hours=hours)
    assert until is not None
    parsed = datetime.fromisoformat(until)
    if parsed.tzinfo is None:
        raise ValueError(f"--until {until!r}: give a time zone, e.g. 2026-12-07T09:00:00+00:00")
    return parsed


def _run(ids: list[int], request: BulkRequest, agent: str, as_json: bool) -> None:
    """Apply ``request`` to each case, print one line per case; exit 1 if any was refused."""
    from engagement.commands.bulk import bulk

    settings, engine = _engine()
    outcomes = bulk(engine, ids, request, actor=_actor(engine, agent), settings=settings.engagement)
    _report(outcomes, request.action.value, as_json)


def _report(outcomes: list[BulkOutcome], verb: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([vars(o) for o in outcomes], indent=2))
    else:
        for o in outcomes:
            line = f"case {o.case_id}: {o.status}" if o.ok else f"case {o.case_id}: not done: {o.error}"
            console.print(line, highlight=False, markup=False)
        done = sum(1 for o in outcomes if o.ok)
        console.print(f"{verb}: {done} of {len(outcomes)} case(s)", highlight=False)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@friendly_errors
def snooze_command(
    case_ids: list[int] = IDS,
    agent: str = AGENT,
    until: str | None = typer.Option(None, "--until", help="When the case comes back (ISO 8601 with a zone)."),
    hours: float | None = typer.Option(None, "--hours", min=0.01, max=2160, help="...or this many hours from now."),
    as_json: bool = JSON,
) -> None:
    """Hide cases from the open list until a time; they come back by themselves, due.

    Example: engagebot queue snooze 12 --agent amy --until 2026-12-07T09:00:00+00:00
    """
    from engagement.commands.bulk import BulkAction, BulkRequest

    _run(case_ids, BulkRequest(BulkAction.SNOOZE, until=_until(until, hours)), agent, as_json)


@friendly_errors
def reopen_command(case_ids: list[int] = IDS, agent: str = AGENT, as_json: bool = JSON) -> None:
    """Bring replied, dismissed or closed cases back to the open queue.

    Example: engagebot queue reopen 12 --agent lena
    """
    from engagement.commands.bulk import BulkAction, BulkRequest

    _run(case_ids, BulkRequest(BulkAction.REOPEN), agent, as_json)


@friendly_errors
def label_command(
    case_ids: list[int] = IDS,
    agent: str = AGENT,
    label: str = typer.Option(..., "--label", help="negative, neutral or positive."),
    post: int | None = typer.Option(
        None, "--post", help="Only this post of the case (one case id); default every post."
    ),
    as_json: bool = JSON,
) -> None:
    """Correct the sentiment label of a case's posts; the case follows at once.

    Every post not negative: the case closes ("relabelled", reopenable). A post made negative:
    the case reopens or is re-prioritised.

    Example: engagebot queue label 12 --agent amy --label neutral
    """
    from engagement import commands
    from engagement.commands.bulk import BulkAction, BulkOutcome, BulkRequest

    if post is None:
        _run(case_ids, BulkRequest(BulkAction.LABEL, label=label), agent, as_json)
        return
    if len(case_ids) != 1:
        raise ValueError("--post names a post of one case: give exactly one case id")
    settings, engine = _engine()
    command = commands.Relabel(post_id=post, label=label)
    done = commands.perform(engine, _actor(engine, agent), case_ids[0], command, settings=settings.engagement)
    _report([BulkOutcome(case_id=case_ids[0], ok=True, status=done.case.status)], "label", as_json)


@friendly_errors
def note_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The case id."),
    agent: str = AGENT,
    text: str = typer.Option(..., "--text", help="The note; @name or @email tells that user in Slack."),
    as_json: bool = JSON,
) -> None:
    """Add an internal note to a case (never posted); @mentions are sent to Slack by notify.

    Example: engagebot queue note 12 --agent amy --text "@lena refund over 500, your call"
    """
    from engagement import commands

    settings, engine = _engine()
    done = commands.perform(engine, _actor(engine, agent), case_id, commands.AddNote(text=text),
                            settings=settings.engagement)  # fmt: skip
    if as_json:
        data = {"case_id": case_id, "message": done.message, "mentioned": list(done.mentioned)}
        typer.echo(json.dumps(data | {"warnings": list(done.warnings)}, indent=2))
        return
    console.print(done.message, highlight=False, markup=False)
    for warning in done.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)


@friendly_errors
def notes_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The case id."), as_json: bool = JSON
) -> None:
    """A case's internal notes, oldest first.

    Example: engagebot queue notes 12
    """
    from db.engine import session_scope
    from engagement.queue.notes import case_notes
    from engagement.queue.reads import get_case

    _, engine = _engine()
    with session_scope(engine) as session:
        get_case(session, case_id)
        notes = [{"author": n.author, "text": n.text, "mentions": n.mentions, "at": n.created_at.isoformat()}
                 for n in case_notes(session, case_id)]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(notes, indent=2, ensure_ascii=False))
        return
    for note in notes:
        console.print(f"{note['at'][:16]} {note['author']}: {note['text']}", highlight=False, markup=False)
    if not notes:
        console.print(f"case {case_id} has no notes", highlight=False)


@friendly_errors
def tag_command(
    case_ids: list[int] = IDS,
    agent: str = AGENT,
    add: list[str] = typer.Option([], "--add", help="A tag to add (repeat for more)."),
    remove: list[str] = typer.Option([], "--remove", help="A tag to remove (repeat for more)."),
    as_json: bool = JSON,
) -> None:
    """Add or remove tags on cases (filter with queue list --tag).

    Example: engagebot queue tag 12 14 --agent amy --add refund
    """
    from engagement import commands
    from engagement.queue.state import CaseNotFound, QueueError

    if not add and not remove:
        raise ValueError("give --add or --remove")
    settings, engine = _engine()
    actor = _actor(engine, agent)
    command = commands.Tag(add=add, remove=remove)
    results: list[dict[str, Any]] = []
    for case_id in dict.fromkeys(case_ids):
        try:
            done = commands.perform(engine, actor, case_id, command, settings=settings.engagement)
            results.append({"case_id": case_id, "ok": True, "tags": done.tags or []})
        except (QueueError, CaseNotFound) as exc:
            results.append({"case_id": case_id, "ok": False, "error": str(exc)})
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        for r in results:
            shown = ", ".join(r["tags"]) or "no tags" if r["ok"] else f"not done: {r['error']}"
            console.print(f"case {r['case_id']}: {shown}", highlight=False, markup=False)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@friendly_errors
def similar_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The case id."), as_json: bool = JSON
) -> None:
    """Open cases with near-identical text: reply to each (queue bulk reply); only the same
    author's may be dismissed as duplicates.

    Example: engagebot queue similar 12
    """
    from db.engine import session_scope
    from engagement.queue.reads import case_to_dict, get_case, opening_texts, same_author, similar_cases

    settings, engine = _engine()
    money = amounts(settings)
    with session_scope(engine) as session:
        case = get_case(session, case_id)
        found = similar_cases(session, case)
        duplicates = same_author(case, found)
        texts = opening_texts(session, found)
    if as_json:
        rows = [{**case_to_dict(c), "text": texts.get(c.id or 0), "same_author": c in duplicates} for c in found]
        typer.echo(json.dumps(rows, indent=2))
        return
    for c in found:
        who = "same author" if c in duplicates else "another author"
        line = f"case {c.id} ({c.status}, {who}, {money(c.money_at_risk)} at risk): {texts.get(c.id or 0, '')[:70]}"
        console.print(line, highlight=False, markup=False)
    others = " ".join(str(c.id) for c in found if c not in duplicates)
    same = " ".join(str(c.id) for c in duplicates)
    console.print(f"{len(found)} similar case(s)", highlight=False)
    if others:  # other customers: each is answered, none dismissed
        console.print(f"reply to each: engagebot queue bulk reply {others} --template NAME (or --text ...)",
                      highlight=False, markup=False)  # fmt: skip
    if same:
        dismiss = f'engagebot queue bulk dismiss {same} --reason "duplicate of case {case_id}"'
        console.print(f"same author, duplicates: {dismiss}", highlight=False, markup=False)


@friendly_errors
def bulk_command(
    action: str = typer.Argument(..., help="dismiss, assign, label, snooze, tag, reopen or reply."),
    case_ids: list[int] = IDS,
    agent: str = AGENT,
    reason: str | None = typer.Option(None, "--reason", help="dismiss: why no reply is needed."),
    to: str | None = typer.Option(None, "--to", help="assign: the user (name or email) who gets them."),
    label: str | None = typer.Option(None, "--label", help="label: negative, neutral or positive."),
    until: str | None = typer.Option(None, "--until", help="snooze: until this time (ISO 8601 with a zone)."),
    hours: float | None = typer.Option(None, "--hours", min=0.01, max=2160, help="snooze: for this many hours."),
    tag: str | None = typer.Option(None, "--tag", help="tag: the tag to add."),
    text: str | None = typer.Option(None, "--text", help="reply: the same reply to each case (e.g. similar ones)."),
    template: str | None = typer.Option(None, "--template", help="reply: a saved reply, filled per author."),
    as_json: bool = JSON,
) -> None:
    """One action on many cases, each checked and audited on its own.

    Example: engagebot queue bulk dismiss 31 32 33 --agent amy --reason "duplicate of 30"
    """
    from engagement.commands.bulk import BulkAction, BulkRequest

    try:
        kind = BulkAction(action)
    except ValueError as exc:
        raise ValueError(f"unknown action {action!r}: {', '.join(a.value for a in BulkAction)}") from exc
    when = _until(until, hours) if kind is BulkAction.SNOOZE else None
    request = BulkRequest(kind, reason=reason, to=to, label=label, until=when, tag=tag, text=text, template=template)
    _run(case_ids, request, agent, as_json)


def register(app: typer.Typer) -> None:
    """Add these commands to ``engagebot queue``."""
    for name, command in (
        ("snooze", snooze_command),
        ("reopen", reopen_command),
        ("label", label_command),
        ("note", note_command),
        ("notes", notes_command),
        ("tag", tag_command),
        ("similar", similar_command),
        ("bulk", bulk_command),
    ):
        queue_app.command(name)(command)
