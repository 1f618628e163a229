"""CLI commands: ``triage``, ``queue list|show|next|claim|release|reply|dismiss|escalate|reassign``,
``rules test``, ``notify``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from engagebot.commands.ids import MAX_ID
from engagebot.runtime import console, engine_for, friendly_errors, load_settings

if TYPE_CHECKING:  # the queue, triage and database load when a command runs, not for --help
    from sqlalchemy import Engine

    from db.models import Case
    from engagement import queue

queue_app = typer.Typer(help="The reply queue: list, claim and work cases.", no_args_is_help=True)
rules_app = typer.Typer(help="Routing rules from the settings file.", no_args_is_help=True)

AGENT = typer.Option(..., "--agent", help="Who acts: an engagebot user's name or email (their role and team apply).")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"--now {value!r}: give a timezone, e.g. 2026-11-20T12:00:00+00:00")
    return parsed


def _engine() -> tuple[Any, Engine]:
    settings = load_settings()
    return settings, engine_for(settings)


def amounts(settings: Any) -> Callable[[float | None], str]:
    """The one money formatter (``engagement.money``) with the settings' currency and locale."""
    from engagement.money import Money

    return Money.from_settings(settings.engagement.money)


def _print_case(case: Case | None, as_json: bool, verb: str) -> None:
    from engagement import queue

    if as_json:
        typer.echo(json.dumps(queue.case_to_dict(case) if case is not None else None, indent=2))
        return
    if case is None:
        console.print("the queue is empty")
        return
    console.print(
        f"{verb} case [bold]{case.id}[/] ({case.status}, team {case.team}, "
        f"{amounts(load_settings())(case.money_at_risk)} at risk)",
        highlight=False,
    )
    why = (case.reasons or {}).get("why")
    if why:
        console.print(f"  why: {why}", highlight=False)


def _actor(engine: Engine, who: str) -> queue.Actor:
    """The user behind ``--agent``/``--lead``: a made-up name is refused, not a new holder."""
    from db.engine import session_scope
    from engagement.actors import resolve_actor

    with session_scope(engine) as session:
        return resolve_actor(session, who)


def _cmd() -> Any:
    """The command layer, loaded when a command runs (not for --help)."""
    from engagement import commands

    return commands


def _perform(who: str, case_id: int, command: Any, as_json: bool, verb: str) -> None:
    """Run one case command as ``who`` (``engagement.commands.perform``, as on every surface)
    and print what it did."""
    from engagement import commands, queue
    from engagement.queue import replies

    settings, engine = _engine()
    actor = _actor(engine, who)
    outcome = commands.perform(engine, actor, case_id, command, settings=settings.engagement)
    if as_json:
        data = queue.case_to_dict(outcome.case)
        data.update(ok=outcome.ok, message=outcome.message, warnings=list(outcome.warnings))
        if outcome.reply is not None:
            data["reply"] = replies.reply_to_dict(outcome.reply)
        typer.echo(json.dumps(data, indent=2))
    elif outcome.reply is not None:
        reply = outcome.reply
        console.print(
            f"reply {reply.id} on case {case_id}: {reply.status}" + (f" ({reply.error})" if reply.error else ""),
            highlight=False,
        )
        if not outcome.ok:
            console.print(outcome.message, highlight=False)
    elif outcome.ok:
        _print_case(outcome.case, False, verb)
    else:
        console.print(outcome.message, highlight=False)
    for warning in outcome.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if not outcome.ok:
        raise typer.Exit(1)


def _perform_on_reply(who: str, reply_id: int, decision: str, reason: str, as_json: bool) -> None:
    """Approve or reject a waiting reply: a case command on the reply's case."""
    from engagement import commands

    _, engine = _engine()
    case_id = commands.case_of_reply(engine, reply_id)
    command = (
        commands.ApproveReply(reply_id=reply_id)
        if decision == "approve"
        else commands.RejectReply(reply_id=reply_id, reason=reason)
    )
    _perform(who, case_id, command, as_json, decision + "d")


def triage_command(
    as_json: bool = JSON,
    now: str | None = typer.Option(None, "--now", help="Triage as of this time (ISO 8601 with zone); default now."),
    backlog: bool = typer.Option(
        False,
        "--backlog",
        help="Also take in valued authors' unanswered complaints older than the window but within "
        "triage.backlog_days (after a backfill); a new install does this on its first triage.",
    ),
) -> None:
    """Turn negative, unanswered, recent posts into prioritised cases; age and close the rest.

    Example: engagebot triage --json

    Example: engagebot triage --backlog
    """
    from db.jobs import job_run
    from engagement.notify.backlog_summary import announce_backlog
    from engagement.triage.cases import triage
    from engagement.triage.routing import validate_rules

    settings, engine = _engine()
    validate_rules(settings.engagement.routing)
    moment = _parse_now(now)
    with job_run(engine, "triage") as counts, console.status("triaging posts…", spinner="dots"):
        counts.update(triage(engine, settings.engagement, now=moment, backlog=True if backlog else None))
        if counts.get("backlog"):
            counts["backlog_announced"] = int(announce_backlog(engine, settings.engagement, now=moment))
    if as_json:
        typer.echo(json.dumps(counts, indent=2))
    else:
        console.print(
            f"triage: {counts['created']} new case(s), {counts['merged']} merged, "
            f"{counts['reopened']} reopened, {counts['closed']} closed, "
            f"{counts['updated']} re-prioritised ({counts['considered']} posts considered)",
            highlight=False,
        )
        if counts.get("backlog"):
            console.print(
                f"backlog: {counts['backlog']} case(s) from before the window, tagged backlog "
                f"(the web queue: /queue?tag=backlog); one Slack summary queued",
                highlight=False,
            )


@queue_app.command("list")
@friendly_errors
def list_command(
    team: str | None = typer.Option(None, help="Only this team."),
    status: str = typer.Option(
        "active",
        help="active (open, claimed, escalated and pending_approval: what the web's queue shows), open, claimed, "
        "escalated, pending_approval, replied, dismissed, closed or all.",
    ),
    platform: str | None = typer.Option(None, help="x, reddit, appstore, ..."),
    tier: str | None = typer.Option(None, help="top, high, standard or unlinked."),
    lang: str | None = typer.Option(None, help="Language code, e.g. en."),
    search: str | None = typer.Option(
        None, help="Words to find in the case's posts (every word, whole words, any order)."
    ),
    mine: str | None = typer.Option(
        None, "--mine", help="Only cases assigned to or held by this user (name or email)."
    ),
    unassigned: bool = typer.Option(False, "--unassigned", help="Only cases nobody is assigned to or holds."),
    tag: str | None = typer.Option(None, help="Only cases with this tag."),
    snoozed: bool = typer.Option(False, "--snoozed", help="List the snoozed cases (hidden from the list until due)."),
    limit: int = typer.Option(20, min=1, max=1000),
    offset: int = typer.Option(0, min=0),
    as_json: bool = JSON,
) -> None:
    """Cases by priority (money at risk, aged): the post, its SLA, who claimed it and who it is assigned to.

    By default the active cases, claimed ones included, as the web's queue lists them.

    Snoozed cases are left out until due (--snoozed lists them). --json adds every field,
    "why" included.

    Example: engagebot queue list --team billing --tier top --json
    """
    from db.engine import session_scope
    from db.types import utcnow
    from engagement import queue
    from engagement.queue.reads import opening_texts

    settings, engine = _engine()
    money = amounts(settings)
    now = utcnow()
    statuses = {"all": None, "active": queue.ACTIVE_STATUSES}.get(status, status)
    with session_scope(engine) as session:
        who = _actor(engine, mine).name if mine else None
        filters: dict[str, Any] = {
            "team": team, "status": statuses, "platform": platform, "tier": tier, "lang": lang, "search": search,
            "mine": who, "unassigned": unassigned, "tag": tag, "snoozed": "only" if snoozed else "hide", "now": now,
        }  # fmt: skip
        cases = queue.list_cases(session, limit=limit, offset=offset, **filters)
        total = queue.count_cases(session, **filters)
        texts = opening_texts(session, cases)
    if as_json:
        rows = [{**queue.case_to_dict(c), "text": texts.get(c.id or 0, "")} for c in cases]
        from engagement.jsonsafe import dumps  # non-finite numbers as null: the output stays JSON

        typer.echo(dumps({"total": total, "cases": rows}, indent=2, ensure_ascii=False))
        return
    # Plain columns that keep their width; the post takes what is left of the terminal.
    table = Table(title=f"{len(cases)} of {total} case(s)", title_justify="left", box=None, pad_edge=False)
    # Who holds a claim and who a lead assigned the case to are different people at times:
    # one column each, named for what they are ("assigned to" only when a listed case has one,
    # so the post keeps its room on a narrow terminal).
    assigned = any(c.assignee for c in cases)
    cells = [[str(c.id), money(c.money_at_risk), c.tier or "", c.team, c.status, sla_text(c, now),
              c.claimed_by or "", *([c.assignee or ""] if assigned else [])] for c in cases]  # fmt: skip
    columns = (("id", "right"), ("at risk", "right"), ("tier", "left"), ("team", "left"), ("status", "left"),
               ("SLA", "left"), ("claimed by", "left"), *([("assigned to", "left")] if assigned else []))  # fmt: skip
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, (name, _) in enumerate(columns)]
    for (name, justify), width in zip(columns, widths, strict=True):
        table.add_column(name, justify=justify, no_wrap=True, width=width)  # type: ignore[arg-type]
    post_width = max(20, console.width - sum(widths) - 2 * len(widths))  # one space between columns
    table.add_column("post", overflow="ellipsis", no_wrap=True, width=post_width)
    for case, row in zip(cases, cells, strict=True):
        table.add_row(*row, texts.get(case.id or 0, ""))
    console.print(table)


def sla_text(case: Case, now: datetime) -> str:
    """``overdue 3h05``, ``due in 0h40``; a finished case shows how it ended instead."""
    from engagement import queue

    if case.status in queue.TERMINAL_STATUSES:
        return case.status
    if case.snoozed_until is not None and case.snoozed_until > now:
        return f"snoozed {case.snoozed_until:%m-%d %H:%M}"
    if case.sla_due_at is None:
        return "-"
    minutes = int((case.sla_due_at - now).total_seconds() // 60)
    if minutes < 0:
        return f"overdue {abs(minutes) // 60}h{abs(minutes) % 60:02d}"
    return f"due in {minutes // 60}h{minutes % 60:02d}"


@queue_app.command("show")
@friendly_errors
def show_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The case id."), as_json: bool = JSON
) -> None:
    """One case with its posts, replies, conversation and audit trail.

    Example: engagebot queue show 12 --json
    """
    from sqlmodel import col, select

    from db.engine import session_scope
    from db.models import Post
    from engagement import queue
    from engagement.queue.conversation import as_lines, conversation

    _, engine = _engine()
    with session_scope(engine) as session:
        detail = queue.case_detail(session, case_id)
        # The thread around the case (issue 25): the post it answers, replies, the brand's marked.
        lead = session.get(Post, queue.get_case(session, case_id).post_id)
        ids = [p["id"] for p in detail["posts"]]
        members = list(session.exec(select(Post).where(col(Post.id).in_(ids))).all())
        entries = conversation(session, [lead, *(p for p in members if p.id != lead.id)]) if lead else []
        detail["conversation"] = [
            {"post_id": e.post.id, "role": e.role.value, "brand": e.is_brand, "author": e.handle,
             "at": e.post.created_at.isoformat(), "text": e.post.text}
            for e in entries
        ]  # fmt: skip
        lines = as_lines(entries, width=max(console.width, 80))
    if as_json:
        typer.echo(json.dumps(detail, indent=2))
        return
    console.print(
        f"case {detail['id']} · {detail['status']} · team {detail['team']} · {detail['why']}",
        highlight=False,
    )
    for post in detail["posts"]:
        console.print(f"  [{post['platform']}] {post['text']}", highlight=False)
    if lines:
        console.print("conversation:", highlight=False)
        for line in lines:
            console.print(line, highlight=False, markup=False)
    for event in detail["audit"]:
        console.print(f"  {event['at']} {event['actor']} {event['action']}", highlight=False)


@queue_app.command("next")
@friendly_errors
def next_command(
    agent: str = AGENT,
    team: str | None = typer.Option(None, help="Whose queue (default: the agent's team, else every team)."),
    as_json: bool = JSON,
) -> None:
    """Claim the highest-priority free case of my team (a lease that expires).

    Example: engagebot queue next --agent amy --json
    """
    from engagement import queue

    settings, engine = _engine()
    actor = _actor(engine, agent)
    case = queue.claim_next(
        engine, actor=actor, team=team or actor.team, lease_minutes=settings.engagement.routing.lease_minutes
    )
    _print_case(case, as_json, "claimed")


@queue_app.command("claim")
@friendly_errors
def claim_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID), agent: str = AGENT, as_json: bool = JSON
) -> None:
    """Claim one case by id (or renew my claim).

    Example: engagebot queue claim 12 --agent amy
    """
    _perform(agent, case_id, _cmd().Claim(), as_json, "claimed")


@queue_app.command("release")
@friendly_errors
def release_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID), agent: str = AGENT, as_json: bool = JSON
) -> None:
    """Give a claimed case back to the queue.

    Example: engagebot queue release 12 --agent amy
    """
    _perform(agent, case_id, _cmd().Release(), as_json, "released")


@queue_app.command("take-over")
@friendly_errors
def take_over_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID), agent: str = AGENT, as_json: bool = JSON
) -> None:
    """A lead takes over a case someone else holds (audited; the holder is told on their page).

    Example: engagebot queue take-over 12 --agent lena
    """
    _perform(agent, case_id, _cmd().TakeOver(), as_json, "took over")


@queue_app.command("reply")
@friendly_errors
def reply_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID),
    agent: str = AGENT,
    text: str = typer.Option(
        "", "--text", help="The reply; may use {first_name}, {name}, {handle}, {case_id}, {agent}."
    ),
    template: str | None = typer.Option(
        None, "--template", help="A saved reply's name (web app or settings) instead of --text."
    ),
    as_json: bool = JSON,
) -> None:
    """Reply to a claimed case (dry-run unless replies are turned on and configured).

    Example: engagebot queue reply 12 --agent amy --text "Sorry {first_name}, DM us please"
    """
    _perform(agent, case_id, _cmd().SendReply(text=text, template=template), as_json, "replied to")


@queue_app.command("answered-elsewhere")
@friendly_errors
def answered_elsewhere_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID),
    agent: str = AGENT,
    url: str = typer.Option("", "--url", help="A link to the answer (https://...)."),
    note: str = typer.Option("", "--note", help="Where and how it was answered."),
    as_json: bool = JSON,
) -> None:
    """Close a case answered outside engagebot (by phone, in the platform's app), saying where.

    Example: engagebot queue answered-elsewhere 12 --agent amy --note "called her back"
    """
    _perform(agent, case_id, _cmd().AnsweredElsewhere(url=url, note=note), as_json, "closed")


@queue_app.command("retry-reply")
@friendly_errors
def retry_reply_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID),
    reply_id: int = typer.Option(..., "--reply", min=1, max=MAX_ID, help="The reply that was not sent."),
    agent: str = AGENT,
    as_json: bool = JSON,
) -> None:
    """Try again to post a reply that was not sent (after turning dry run off or adding credentials).

    Example: engagebot queue retry-reply 12 --reply 7 --agent amy
    """
    _perform(agent, case_id, _cmd().RetryReply(reply_id=reply_id), as_json, "retried")


@queue_app.command("hide-comment")
@friendly_errors
def hide_comment_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID), agent: str = AGENT, as_json: bool = JSON
) -> None:
    """Hide the case's Facebook comment on the Page (moderation, audited; a lead or the holder).

    Example: engagebot queue hide-comment 12 --agent lena
    """
    _perform(agent, case_id, _cmd().HideComment(), as_json, "hid the comment of")


@queue_app.command("dismiss")
@friendly_errors
def dismiss_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID),
    agent: str = AGENT,
    reason: str = typer.Option(..., "--reason", help="Why no reply is needed (spam, duplicate, solved)."),
    as_json: bool = JSON,
) -> None:
    """Close a case without replying, with a reason.

    Example: engagebot queue dismiss 12 --agent amy --reason spam
    """
    _perform(agent, case_id, _cmd().Dismiss(reason=reason), as_json, "dismissed")


@queue_app.command("escalate")
@friendly_errors
def escalate_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID),
    agent: str = AGENT,
    reason: str | None = typer.Option(None, "--reason", help="Why the lead should take it."),
    as_json: bool = JSON,
) -> None:
    """Hand a case to the team lead.

    Example: engagebot queue escalate 12 --agent amy --reason "legal threat"
    """
    _perform(agent, case_id, _cmd().Escalate(reason=reason or ""), as_json, "escalated")


@queue_app.command("reassign")
@friendly_errors
def reassign_command(
    case_id: int = typer.Argument(..., min=1, max=MAX_ID),
    agent: str = AGENT,
    to: str = typer.Option(..., "--to", help="The agent who gets it."),
    team: str | None = typer.Option(None, "--team", help="Move it to this team too."),
    as_json: bool = JSON,
) -> None:
    """Assign a case to another agent (and team).

    Example: engagebot queue reassign 12 --agent lena --to ben --team billing
    """
    _perform(agent, case_id, _cmd().Reassign(to=to, team=team), as_json, "reassigned")


@queue_app.command("approve")
@friendly_errors
def approve_command(
    reply_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The reply waiting for approval."),
    lead: str = typer.Option(..., "--lead", help="The approving lead."),
    as_json: bool = JSON,
) -> None:
    """Approve a reply waiting for a lead; it is posted at once.

    Example: engagebot queue approve 7 --lead lena
    """
    _perform_on_reply(lead, reply_id, "approve", "", as_json)


@queue_app.command("reject")
@friendly_errors
def reject_command(
    reply_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The reply waiting for approval."),
    lead: str = typer.Option(..., "--lead", help="The rejecting lead."),
    reason: str = typer.Option(..., "--reason", help="What the agent should change."),
    as_json: bool = JSON,
) -> None:
    """Reject a reply waiting for a lead; the case goes back to its agent.

    Example: engagebot queue reject 7 --lead lena --reason "offer a refund"
    """
    _perform_on_reply(lead, reply_id, "reject", reason, as_json)


@queue_app.command("retry-replies")
@friendly_errors
def retry_replies_command(as_json: bool = JSON) -> None:
    """Post replies left unsent (rate limited) or of unknown outcome (checked on the platform
    first).

    Example: engagebot queue retry-replies --json
    """
    from engagement.queue import replies

    settings, engine = _engine()
    counts = replies.retry_replies(engine, settings=settings.engagement.replies)
    typer.echo(json.dumps(counts, indent=2) if as_json else f"replies: {counts}")


@rules_app.command("test")
@friendly_errors
def rules_test_command(
    text: str = typer.Argument(..., help="The post's text."),
    platform: str | None = typer.Option(None, help="x, reddit, appstore, ..."),
    lang: str | None = typer.Option(None, help="Language code."),
    segment: str | None = typer.Option(None, help="Customer segment."),
    tier: str | None = typer.Option(None, help="Value tier: top, high, standard, unlinked."),
    rating: int | None = typer.Option(None, help="Review stars (1-5)."),
    demo: bool = typer.Option(
        False, "--demo", help="With the demo's rules (as engagebot demo routes) when the settings name none."
    ),
    as_json: bool = JSON,
) -> None:
    """Show which routing rule a post would match, and why (every rule checked up to the winner).

    The rules are the ones in force: the database's, as edited in the app (else the TOML's).

    Example: engagebot rules test "I was charged twice" --platform x --tier top
    """
    from db.engine import session_scope
    from engagebot.demo import demo_settings
    from engagement.settings_store import effective
    from engagement.triage.routing import CaseFacts, explain, validate_rules

    settings = demo_settings(load_settings()) if demo else load_settings()
    with session_scope(engine_for(settings)) as session:  # the rules as edited in the app
        routing = effective(session, settings.engagement).routing
    if demo and not routing.rules:
        routing = settings.engagement.routing
    validate_rules(routing)
    decision = explain(
        CaseFacts(text=text, platform=platform, lang=lang, segment=segment, tier=tier, rating=rating),
        routing,
    )
    if as_json:
        typer.echo(json.dumps(decision.as_dict(), indent=2))
        return
    for check in decision.checks:
        mark = "[green]match[/]" if check.matched else "[dim]no[/]"
        console.print(
            f"{mark} {check.rule}: " + ("; ".join(check.detail.values()) or "no conditions"),
            highlight=False,
        )
    console.print(
        f"-> team [bold]{decision.team}[/]"
        + (f", assignee {decision.assignee}" if decision.assignee else "")
        + f"  ({decision.why})",
        highlight=False,
    )


def notify_command(
    as_json: bool = JSON,
    preview: bool = typer.Option(
        False, "--preview", help="Print what would be sent now (queued and new messages); send and mark nothing."
    ),
) -> None:
    """Queue Slack messages (new cases, digests, SLA breaches, spikes) and deliver them.

    Many new cases at once (a first run, a backfill) become one digest; see docs/queue.md.
    With [engagement.slack] sink = "out/slack.jsonl" messages go to that file instead of Slack.
    Example: engagebot notify --preview
    """
    from db.jobs import job_run
    from engagement import notify

    settings, engine = _engine()
    if preview:
        shown = notify.preview_notifications(engine, settings.engagement)
        if as_json:
            rows = [{**vars(p), "send_at": p.send_at.isoformat()} for p in shown]
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not shown:
            console.print("notify --preview: nothing would be sent now", highlight=False)
        for item in shown:
            when = "" if item.state == "queued" else f" at {item.send_at:%Y-%m-%d %H:%M} UTC"
            console.print(f"[bold]{item.kind}[/] -> {item.channel} ({item.state}{when})", highlight=False)
            console.print(f"  {item.text}", highlight=False, markup=False)
        console.print(f"{len(shown)} message(s); nothing was sent or marked", highlight=False)
        return
    with job_run(engine, "notify") as counts:
        queued = notify.enqueue_notifications(engine, settings.engagement)
        delivered = notify.deliver_pending(engine, settings.engagement)
        counts.update({"queued": queued, "delivered": delivered})
    if as_json:
        typer.echo(json.dumps(counts, indent=2))
    else:
        console.print(f"notify: queued {queued}, delivered {delivered}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("triage")(friendly_errors(triage_command))
    app.command("notify")(friendly_errors(notify_command))
    app.add_typer(queue_app, name="queue")
    app.add_typer(rules_app, name="rules")
