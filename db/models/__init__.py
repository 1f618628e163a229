"""All tables, importable from one place: ``from db.models import Post, Case``."""

from db.models.admin import AdminSetting, AdminSettingChange
from db.models.auth import Invite, LoginThrottle, WebSession
from db.models.cases import AuditEvent, Case, CaseNote, CasePost, CaseSketch, CaseTag, LabelCorrection, Reply
from db.models.customers import AuthorMatchCheck, Customer, CustomerMatchCheck, Identity, Transaction
from db.models.inbox import CasePresence, ReplyDraft, SavedReply
from db.models.ops import JobRun, Outbox, SchedulerLease, User
from db.models.posts import Author, Post, QuarantinedRecord, Score, SourceCursor

__all__ = [
    "AdminSetting",
    "AdminSettingChange",
    "AuditEvent",
    "Author",
    "AuthorMatchCheck",
    "Case",
    "CaseNote",
    "CasePost",
    "CasePresence",
    "CaseSketch",
    "CaseTag",
    "Customer",
    "CustomerMatchCheck",
    "Identity",
    "Invite",
    "JobRun",
    "LabelCorrection",
    "LoginThrottle",
    "Outbox",
    "Post",
    "QuarantinedRecord",
    "Reply",
    "ReplyDraft",
    "SavedReply",
    "SchedulerLease",
    "Score",
    "SourceCursor",
    "Transaction",
    "User",
    "WebSession",
]
