"""All tables, importable from one place: ``from db.models import Post, Case``."""

from db.models.cases import AuditEvent, Case, CaseNote, CasePost, CaseSketch, CaseTag, LabelCorrection, Reply
from db.models.customers import AuthorMatchCheck, Customer, CustomerMatchCheck, Identity, Transaction
from db.models.ops import JobRun, Outbox, SchedulerLease, User
from db.models.inbox import CasePresence, ReplyDraft, SavedReply
from db.models.posts import Author, Post, QuarantinedRecord, Score, SourceCursor

__all__ = [
    "AuditEvent",
    "Author",
    "AuthorMatchCheck",
    "Case",
    "CaseNote",
    "CasePost",
    "CaseSketch",
    "CasePresence",
    "CaseTag",
    "Customer",
    "CustomerMatchCheck",
    "Identity",
    "JobRun",
    "LabelCorrection",
    "Outbox",
    "Post",
    "QuarantinedRecord",
    "Reply",
    "SchedulerLease",
    "Score",
    "ReplyDraft",
    "SavedReply",
    "SourceCursor",
    "Transaction",
    "User",
]
