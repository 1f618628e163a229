"""Settings of the scheduler, the workers and the health/metrics endpoints (``[ops]``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class SchedulerSettings(BaseModel):
    """How often the leader runs each step (collect intervals are per source, in ``[listener]``)."""

    score_minutes: float = Field(default=5.0, gt=0, description="score new posts")
    refresh_values_minutes: float = Field(default=60.0, gt=0, description="link authors and refresh CLV/rCLV")
    triage_minutes: float = Field(default=5.0, gt=0, description="open, merge and close cases")
    notify_minutes: float = Field(default=1.0, gt=0, description="queue and deliver Slack notifications")
    weekly_report_day: str = Field(default="mon", description="day of week of the weekly report (cron style)")
    weekly_report_hour: int = Field(default=7, ge=0, le=23, description="hour (UTC) of the weekly report")
    jitter_seconds: int = Field(
        default=10,
        ge=0,
        description="random delay added to each run, so workers and sources spread out",
    )
    misfire_grace_seconds: int = Field(
        default=300, ge=1, description="a run late by more than this is skipped (and coalesced)"
    )
    first_run_delay_seconds: float = Field(
        default=1.0, ge=0, description="wait before the first run of each job after start"
    )


class OpsSettings(BaseModel):
    """Leader election, shared work, graceful shutdown and the standalone health/metrics server."""

    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    lease_seconds: float = Field(
        default=15.0,
        gt=0,
        description="leader lease: a follower takes over at most this long after the leader dies",
    )
    shared_work: list[str] = Field(
        default_factory=lambda: ["notify", "score"],
        description="steps every worker runs, each claiming its own batches with SKIP LOCKED "
        "(a pipeline step name or 'module:function' taking (settings, engine)); the others "
        "run on the leader only. Never 'triage' or 'refresh_values': they do not claim",
    )
    batch_size: int = Field(default=100, ge=1, description="rows claimed per batch of shared work")
    idle_seconds: float = Field(default=2.0, gt=0, description="wait between polls when no shared work is left")
    shutdown_grace_seconds: float = Field(
        default=20.0,
        ge=0,
        description="on SIGTERM, how long the batch in progress may take before it is released",
    )
    database_wait_seconds: float | None = Field(
        default=None,
        ge=0,
        description="how long 'run' and 'web' wait for an unreachable database at start (unset: until it "
        "answers or Ctrl-C)",
    )
    failure_buffer: int = Field(
        default=500,
        ge=1,
        description="job failures kept in memory while the database is unreachable, written to job_runs when "
        "it returns (the oldest are dropped past this, and counted)",
    )
    notify_budget_seconds: float = Field(
        default=30.0,
        gt=0,
        description="how long one notify run may send before it yields (the rest goes in the next run), so a "
        "slow Slack never holds a run for minutes",
    )
    metrics_host: str = Field(default="127.0.0.1", description="host of the health/metrics server of a --no-web worker")
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="its port (0: do not start it)")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="when set, /metrics (web app and worker) answers only 'Authorization: Bearer <token>' "
        "(ENGAGEBOT_OPS__METRICS_TOKEN); unset, as for a Prometheus on the same host, it is open",
    )
    web_host: str = Field(default="127.0.0.1", description="host of the web app started by 'engagebot run'")
    web_port: int = Field(default=8000, ge=1, le=65535, description="its port")
