"""Who may do what to a case: the one permission policy for the web, the API, the CLI and Slack.

Why one place: each surface used to check a little, differently (an agent of another team could
dismiss a case, a lead's reply went out over an agent's claim, any Slack user could claim).
Now every surface resolves the person to an ``Actor`` (a real engagebot user) and asks
``authorize``; the answer depends only on the person's role, the action and the case's claim
state, so it can be written as a table (``docs/queue.md``) and tested cell by cell.

The rules:

- Acting on a case needs its claim. A free case (open, escalated, or a lapsed lease) is claimed
  by the action itself, for an agent of the case's team (or its assignee) and for leads/admins.
- A case someone else holds is refused (HTTP 409). A lead or admin may take it over explicitly
  (``take_over``): audited, and the holder is told.
- Reassigning, reopening other teams' cases, approving/rejecting replies and deciding CRM or
  confirmed identity links need the lead role. Labels only for posts of that case.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from db.models import Case, CasePost, Identity
from db.types import MAX_ID
from db.vocab import LEAD_ROLES, TERMINAL_STATUSES, CaseStatus
from engagement.actors import Actor
from engagement.errors import NotFound
from engagement.queue.state import AlreadyClaimed, InvalidTransition, NotAllowed, NotClaimant, lease_active


class Action(StrEnum):
    """Everything a person can do to a case (the policy table's rows)."""

    CLAIM = "claim"
    RELEASE = "release"
    TAKE_OVER = "take_over"
    REPLY = "reply"
    DISMISS = "dismiss"
    ESCALATE = "escalate"
    SNOOZE = "snooze"
    LABEL = "label"
    NOTE = "note"
    TAG = "tag"
    REASSIGN = "reassign"
    REOPEN = "reopen"
    APPROVE_REPLY = "approve_reply"
    DECIDE_SUGGESTED_LINK = "decide_suggested_link"
    DECIDE_CRM_LINK = "decide_crm_link"
    HIDE_COMMENT = "hide_comment"


class ClaimState(StrEnum):
    """The case's claim as seen by the person asking (the policy table's columns)."""

    FREE = "free"  # open/escalated, nobody's lease running: the action takes it
    MINE = "mine"  # the person holds the claim
    OTHERS = "others"  # someone else's lease is running
    FINISHED = "finished"  # replied, dismissed or closed
    WAITING = "waiting"  # a reply waits for a lead's approval


class Verdict(StrEnum):
    """The policy's answer. ``allow_free``: allowed because nobody holds the case (a reply
    claims it first; dismiss, escalate and snooze leave it unclaimed anyway)."""

    ALLOW = "allow"
    ALLOW_FREE = "allow_free"
    HELD = "held"  # refused: someone else holds it (409); leads may take it over
    NOT_CLAIMANT = "not_claimant"  # refused: only the holder may (403)
    LEAD_ONLY = "lead_only"  # refused: needs the lead role (403)
    OTHER_TEAM = "other_team"  # refused: a free case of another team (403)
    WRONG_STATE = "wrong_state"  # refused: not in this status (409)


#: Actions that work a case: they need the claim, and take a free case.
_WORK = frozenset({Action.REPLY, Action.DISMISS, Action.ESCALATE, Action.SNOOZE, Action.LABEL})
#: Actions a person may take on any case they can see, whoever holds it.
_ANYONE = frozenset({Action.NOTE, Action.TAG})
_LEAD = frozenset({Action.REASSIGN, Action.APPROVE_REPLY, Action.DECIDE_CRM_LINK})


def decide(role: str, action: Action, state: ClaimState, *, own_team: bool = True) -> Verdict:
    """The policy table as a pure function: role x action x claim state -> verdict.

    ``own_team``: the case belongs to the person's team or is assigned to them (only matters
    for agents acting on free or finished cases).
    """
    lead = role in LEAD_ROLES
    if action is Action.HIDE_COMMENT:
        # moderation acts on the platform, not on the case's state: a lead may hide any comment
        # (an abusive one may sit on a closed case); an agent only on the case they hold
        return Verdict.ALLOW if lead or state is ClaimState.MINE else Verdict.NOT_CLAIMANT
    if action in _ANYONE:
        return Verdict.ALLOW
    if action is Action.DECIDE_SUGGESTED_LINK:  # who a customer is: their team's work, or a lead's
        return Verdict.ALLOW if lead or own_team else Verdict.OTHER_TEAM
    if action in _LEAD:
        if not lead:
            return Verdict.LEAD_ONLY
        if action is Action.APPROVE_REPLY and state is not ClaimState.WAITING:
            return Verdict.WRONG_STATE
        if action is Action.REASSIGN and state in (ClaimState.FINISHED, ClaimState.WAITING):
            return Verdict.WRONG_STATE
        return Verdict.ALLOW
    if action is Action.REOPEN or (action is Action.LABEL and state is ClaimState.FINISHED):
        # a finished case has no holder: its team (or a lead) may reopen it or relabel its posts
        if state is not ClaimState.FINISHED:
            return Verdict.WRONG_STATE
        return Verdict.ALLOW if lead or own_team else Verdict.OTHER_TEAM
    if state in (ClaimState.FINISHED, ClaimState.WAITING):
        return Verdict.WRONG_STATE
    if action is Action.TAKE_OVER:
        if not lead:
            return Verdict.LEAD_ONLY
        return Verdict.ALLOW if state is ClaimState.OTHERS else Verdict.ALLOW_FREE
    if action is Action.RELEASE:
        return Verdict.ALLOW if state is ClaimState.MINE else Verdict.NOT_CLAIMANT
    # CLAIM and the working actions
    if state is ClaimState.MINE:
        return Verdict.ALLOW
    if state is ClaimState.OTHERS:
        return Verdict.HELD
    if not lead and not own_team:
        return Verdict.OTHER_TEAM
    return Verdict.ALLOW if action is Action.CLAIM else Verdict.ALLOW_FREE


assert _WORK | {
    Action.CLAIM,
    Action.RELEASE,
    Action.TAKE_OVER,
    Action.REOPEN,
    Action.DECIDE_SUGGESTED_LINK,
    Action.HIDE_COMMENT,
} | _ANYONE | _LEAD == set(Action)


#: How refusals name each action ("only a lead or admin may approve a reply").
_PHRASES: dict[Action, str] = {
    Action.CLAIM: "claim this case",
    Action.RELEASE: "release this case",
    Action.TAKE_OVER: "take over a case",
    Action.REPLY: "reply",
    Action.DISMISS: "dismiss this case",
    Action.ESCALATE: "escalate this case",
    Action.SNOOZE: "snooze this case",
    Action.LABEL: "relabel posts",
    Action.NOTE: "add notes",
    Action.TAG: "tag cases",
    Action.REASSIGN: "reassign cases",
    Action.REOPEN: "reopen this case",
    Action.APPROVE_REPLY: "approve or send back replies",
    Action.DECIDE_SUGGESTED_LINK: "decide suggested customer links",
    Action.DECIDE_CRM_LINK: "change CRM or decided customer links",
    Action.HIDE_COMMENT: "hide comments",
}
assert set(_PHRASES) == set(Action)


def claim_state(case: Case, actor: Actor, now: datetime) -> ClaimState:
    """How ``case``'s claim looks to ``actor`` at ``now``."""
    status = CaseStatus(case.status)
    if status in TERMINAL_STATUSES:
        return ClaimState.FINISHED
    if status is CaseStatus.PENDING_APPROVAL:
        return ClaimState.WAITING
    if lease_active(case, now):
        return ClaimState.MINE if case.claimed_by == actor.name else ClaimState.OTHERS
    return ClaimState.FREE


def own_team(case: Case, actor: Actor) -> bool:
    """The case is the actor's team's, or assigned to the actor."""
    return case.team == actor.team or case.assignee == actor.name


def authorize(actor: Actor, action: Action, case: Case, now: datetime) -> Verdict:
    """Return ``ALLOW`` or ``ALLOW_FREE``, or raise the refusal (``NotAllowed`` 403,
    ``AlreadyClaimed`` 409, ``NotClaimant`` 403, ``InvalidTransition`` 409)."""
    assert case.id is not None
    verdict = decide(actor.role, action, claim_state(case, actor, now), own_team=own_team(case, actor))
    if verdict in (Verdict.ALLOW, Verdict.ALLOW_FREE):
        return verdict
    if verdict is Verdict.HELD:
        hint = " (a lead can take it over)" if not actor.is_lead else "; take it over first"
        raise AlreadyClaimed(case.id, case.claimed_by, case.claim_expires_at, hint=hint)
    if verdict is Verdict.NOT_CLAIMANT:
        raise NotClaimant(case.id, actor.name, case.claimed_by if lease_active(case, now) else None)
    if verdict is Verdict.LEAD_ONLY:
        raise NotAllowed(f"{actor.name} is {actor.role}: only a lead or admin may {_PHRASES[action]}")
    if verdict is Verdict.OTHER_TEAM:
        raise NotAllowed(
            f"case {case.id} belongs to team {case.team}; {actor.name} ({actor.team}) may not {_PHRASES[action]} there"
        )
    raise InvalidTransition(f"case {case.id} is {case.status}: you cannot {_PHRASES[action]} now")


def authorize_label(session: Session, actor: Actor, case: Case, post_id: int, now: datetime) -> None:
    """A label needs the case's claim (or a free case of one's team) and a post of that case."""
    assert case.id is not None
    authorize(actor, Action.LABEL, case, now)
    in_case = session.get(CasePost, (case.id, post_id)) is not None or case.post_id == post_id
    if not in_case:
        raise NotAllowed(f"post {post_id} is not part of case {case.id}; relabel it from its own case")


def link_action(identity: Identity) -> Action:
    """Which decision a link is: only a link still waiting as a suggestion is open to agents;
    a CRM link, or one a person already confirmed or rejected, carries the customer's value and
    needs a lead to change."""
    if identity.method == "crm_import" or identity.status != "suggested":
        return Action.DECIDE_CRM_LINK
    return Action.DECIDE_SUGGESTED_LINK


def authorize_link(actor: Actor, identity: Identity) -> None:
    """A link decision outside a case (``engagebot identities confirm|reject``)."""
    action = link_action(identity)
    if decide(actor.role, action, ClaimState.FREE) is not Verdict.ALLOW:
        raise NotAllowed(
            f"{actor.name} is {actor.role}: only a lead or admin may change link {identity.id} "
            f"({identity.method}, {identity.status})"
        )


def authorize_link_decision(session: Session, actor: Actor, case: Case, identity_id: int, now: datetime) -> Identity:
    """Deciding an identity link shown on a case: only links of that case's author; agents only
    suggestions on their team's cases; links from the CRM or already decided need a lead."""
    identity = session.get(Identity, identity_id) if 1 <= identity_id <= MAX_ID else None
    if identity is None or identity.author_id is None or identity.author_id != case.author_id:
        raise NotFound(f"link {identity_id} not found on case {case.id}")
    authorize(actor, link_action(identity), case, now)
    return identity


def authorize_next(actor: Actor, team: str | None) -> None:
    """Taking the next case of ``team`` (``None``: any team): the table's claim of a free case,
    so an agent takes from their own team only and a lead from any."""
    verdict = decide(actor.role, Action.CLAIM, ClaimState.FREE, own_team=team is not None and team == actor.team)
    if verdict is Verdict.OTHER_TEAM:
        raise NotAllowed(f"{actor.name} is an agent of team {actor.team}: agents take the next case of their own team")


def authorize_saved_reply(actor: Actor, team: str | None) -> None:
    """Managing the saved replies filed under ``team`` (``None``: shared by every team): an admin
    any, a lead their own team's; agents use them but do not edit them."""
    if actor.role == "admin":
        return
    if not actor.is_lead:
        raise NotAllowed("saved replies are managed by leads and admins")
    if team != actor.team:
        raise NotAllowed(
            f"a lead manages the saved replies of their own team ({actor.team}); shared ones need an admin"
        )
