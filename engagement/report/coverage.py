"""Coverage: how much of the week we saw, linked and scored, and what went wrong collecting it."""

from __future__ import annotations

from collections import Counter

from engagement.i18n import gettext as _
from engagement.report.rows import ReportData
from engagement.report.tables import Column, Table, share


def coverage_by_source(data: ReportData) -> Table:
    """Per source: posts, linked and scored shares, runs, failures, bad records, last error."""
    posts = data.posts_in(data.week)
    jobs = [j for j in data.jobs if j.source is not None and data.week.contains(j.started_at)]
    quarantined = [q for q in data.quarantined if data.week.contains(q.created_at)]
    sources = sorted({p.source for p in posts} | {j.source for j in jobs if j.source} | {q.source for q in quarantined})
    quarantine_counts = Counter(q.source for q in quarantined)
    rows: list[dict[str, object]] = []
    for source in sources:
        mine = [p for p in posts if p.source == source]
        runs = [j for j in jobs if j.source == source]
        failed = [j for j in runs if j.status == "failed"]
        errors = [j for j in runs if j.error]
        rows.append(
            {
                "source": source,
                "platforms": ", ".join(sorted({p.platform for p in mine})),
                "posts": len(mine),
                "linked_share": share(sum(p.customer_id is not None for p in mine), len(mine)),
                "scored_share": share(sum(p.label is not None for p in mine), len(mine)),
                "runs": len(runs),
                "failed_runs": len(failed),
                "quarantined": quarantine_counts[source],
                "last_error": errors[-1].error if errors else "",
            }
        )
    if rows:
        rows.append(
            {
                "source": "All",
                "platforms": "",
                "posts": len(posts),
                "linked_share": share(sum(p.customer_id is not None for p in posts), len(posts)),
                "scored_share": share(sum(p.label is not None for p in posts), len(posts)),
                "runs": len(jobs),
                "failed_runs": sum(j.status == "failed" for j in jobs),
                "quarantined": len(quarantined),
                "last_error": "",
            }
        )
    columns = [
        Column("source", _("Source")),
        Column("platforms", _("Platform")),
        Column("posts", _("Posts"), "int"),
        Column("linked_share", _("Linked to customers"), "share"),
        Column("scored_share", _("Scored"), "share"),
        Column("runs", _("Collect runs"), "int"),
        Column("failed_runs", _("Failed runs"), "int"),
        Column("quarantined", _("Bad records"), "int"),
        Column("last_error", _("Last error")),
    ]
    return Table(
        "coverage",
        _("Coverage: sources, links and errors"),
        columns,
        rows,
        note=_(
            "Linked: the author's account is confirmed as a customer's. Scored: the sentiment "
            "model has "
            "labelled the post (any label, unsupported language included). Bad records were kept aside "
            "with their error, not dropped."
        ),
        empty=_("No source collected anything or ran this week."),
    )


def step_failures(data: ReportData) -> Table:
    """Failed runs of steps without a source (score, triage, notify, ...) this week."""
    failed = [j for j in data.jobs if j.source is None and j.status == "failed" and data.week.contains(j.started_at)]
    counts = Counter(j.job for j in failed)
    last = {j.job: j.error or "" for j in failed}
    rows: list[dict[str, object]] = [
        {"job": job, "failed_runs": counts[job], "last_error": last[job]} for job in sorted(counts)
    ]
    return Table(
        "step_failures",
        _("Failed steps"),
        [
            Column("job", _("Step")),
            Column("failed_runs", _("Failed runs"), "int"),
            Column("last_error", _("Last error")),
        ],
        rows,
        empty=_("No step failed this week."),
    )
