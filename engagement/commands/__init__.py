"""The command layer: the one front door for every change a person makes to a case.

Above triage and the queue (a relabel re-prices through triage; a link decision re-prices the
author's cases), below the surfaces (web forms, the JSON API, the CLI, Slack) that parse input
into a command and call ``perform``. See ``docs/architecture.md``.
"""

from engagement.commands.cases import (
    COMMANDS,
    AddNote,
    AnsweredElsewhere,
    ApproveReply,
    CaseCommand,
    Claim,
    CommandSpec,
    DecideLink,
    Dismiss,
    Escalate,
    HideComment,
    Outcome,
    Reassign,
    RejectReply,
    Relabel,
    Release,
    Reopen,
    RetryReply,
    SendReply,
    Snooze,
    Tag,
    TakeOver,
    case_of_reply,
    perform,
)

__all__ = [
    "COMMANDS",
    "AddNote",
    "AnsweredElsewhere",
    "ApproveReply",
    "CaseCommand",
    "Claim",
    "CommandSpec",
    "DecideLink",
    "Dismiss",
    "Escalate",
    "HideComment",
    "Outcome",
    "Reassign",
    "RejectReply",
    "Relabel",
    "Release",
    "Reopen",
    "RetryReply",
    "SendReply",
    "Snooze",
    "Tag",
    "TakeOver",
    "case_of_reply",
    "perform",
]
