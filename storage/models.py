"""SQLModel tables for the whole domain. Every row carries its Slack `team_id`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlmodel import Field, SQLModel

from storage.token_crypto import EncryptedText

# Column sizes users may hit; refusals name these numbers.
TITLE_MAX = 200
NAME_MAX = 80
NOTE_MAX = 2000
UNIT_MAX = 16
REASON_MAX = 200
DECISION_MAX = 3000


def utcnow() -> datetime:
    return datetime.now(UTC)


# Status columns stay plain strings in the database; these name the values once. A StrEnum
# member compares equal to the string read back, so rows loaded from the database match them.
class ObjectiveStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    CARRIED_OVER = "carried_over"


class CommitmentStatus(StrEnum):
    OPEN = "open"  # asked, waiting for the department's answer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DONE = "done"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"


class PraiseDraftStatus(StrEnum):
    PENDING = "pending"  # matched to a staff member, waiting for a head
    UNMATCHED = "unmatched"  # no staff member found: kept, never sent
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class JobRunStatus(StrEnum):
    """The life of a run record (jobs/run_once.py explains it)."""

    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    SNOOZED = "snoozed"
    REFUSED = "refused"  # the channel refused the app (not_in_channel…): admins told, not retried
    UNCERTAIN = "uncertain"  # the sender died mid-send: maybe delivered, reported, not retried


class GuardrailState(StrEnum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


class FollowUpStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    CLOSED = "closed"


class Team(SQLModel, table=True):
    """A workspace and its settings (set by an admin in the setup form)."""

    team_id: str = Field(primary_key=True, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    leadership_channel: str | None = Field(default=None, max_length=32)
    recognition_channel: str | None = Field(default=None, max_length=32)
    feedback_channel: str | None = Field(default=None, max_length=32)
    recognition_emoji: str = Field(default="star", max_length=100)
    digest_weekday: int = 4  # Monday=0 … Friday=4
    digest_time: str = Field(default="16:00", max_length=5)
    reminder_weekday: int = 0
    reminder_time: str = Field(default="10:00", max_length=5)
    review_lead_days: int = 7
    timezone: str | None = Field(default=None, max_length=64)
    kudos_require_behavior: bool = False
    stale_days: int = 14  # a key result with no check-in for this long is "stale"
    # Multi-workspace mode: this workspace's own KPI spreadsheet key (KPI_SPREADSHEET serves
    # the single-workspace mode only).
    kpi_spreadsheet: str | None = Field(default=None, max_length=200)
    installed_at: datetime = Field(default_factory=utcnow)
    uninstalled_at: datetime | None = None


class RefCounter(SQLModel, table=True):
    """Per-team sequence for short references (O-12, KR-34, B-5)."""

    team_id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=16)
    last: int = 0


class SlackUser(SQLModel, table=True):
    """Cache of `users.info` facts we need (admin flag, timezone) plus per-user preferences."""

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False
    tz: str | None = Field(default=None, max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    hide_from_leaderboards: bool = False
    fetched_at: datetime | None = None
    # Last time they opened or used App Home: only their Home is republished after a write.
    home_seen_at: datetime | None = None


class Department(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "name_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=NAME_MAX)
    name_key: str = Field(max_length=NAME_MAX)  # casefolded name, for case-insensitive uniqueness
    channel_id: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class DepartmentMember(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("department_id", "user_id"),
        Index("ix_departmentmember_team_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    department_id: int = Field(foreign_key="department.id", index=True)
    user_id: str = Field(max_length=32)
    is_head: bool = False
    added_at: datetime = Field(default_factory=utcnow)


class Objective(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        Index("ix_objective_team_quarter", "team_id", "quarter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    # None: a company objective ("Company-wide"), created and edited by admins.
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    quarter: str = Field(max_length=7)
    owner_id: str = Field(max_length=32)
    due_date: date
    status: str = Field(default=ObjectiveStatus.ACTIVE, max_length=16)
    final_score: float | None = None
    carried_from_id: int | None = Field(default=None, foreign_key="objective.id")
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


class ObjectiveKrTotals(SQLModel, table=True):
    """Each objective's own key results summed: their progress shares (0..1 each, as
    storage.progress.progress) and their number. Kept by the database itself — triggers on
    keyresult (migration 0009) — so every way a key result changes (check-in, KPI sync, edit,
    delete) keeps it right; rolled-up progress (storage.rollup) reads one row per objective
    instead of every key result. A row exists while its objective has key results."""

    objective_id: int = Field(
        sa_column=Column(Integer, ForeignKey("objective.id", ondelete="CASCADE"), primary_key=True)
    )
    share_sum: float
    kr_count: int


class ObjectiveLink(SQLModel, table=True):
    """Alignment: `child` contributes to `parent` (same team and quarter), weighted."""

    __table_args__ = (
        UniqueConstraint("child_id", "parent_id"),
        Index("ix_objectivelink_team_quarter", "team_id", "quarter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    quarter: str = Field(max_length=7)  # both ends' quarter: a quarter's links load in one query
    child_id: int = Field(foreign_key="objective.id", index=True)
    parent_id: int = Field(foreign_key="objective.id", index=True)
    weight: float = 1.0
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class KeyResult(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        Index("ix_keyresult_team_owner", "team_id", "owner_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    objective_id: int = Field(foreign_key="objective.id", index=True)
    title: str = Field(max_length=TITLE_MAX)
    unit: str = Field(default="", max_length=UNIT_MAX)
    baseline: float
    target: float
    current_value: float | None = None
    owner_id: str = Field(max_length=32)
    kpi_name: str | None = Field(default=None, max_length=64)
    kpi_department_id: int | None = Field(default=None, foreign_key="department.id")
    last_checkin_at: datetime | None = None
    last_confidence: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CheckIn(SQLModel, table=True):
    __table_args__ = (Index("ix_checkin_kr_created", "key_result_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    key_result_id: int = Field(foreign_key="keyresult.id")
    author_id: str = Field(max_length=32)
    value: float | None = None
    confidence: int
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # What the author is blocked on / needs help with; "" when nothing. A key result's blocker
    # stays open until a later check-in on it comes without one.
    blocker: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)


class KrComment(SQLModel, table=True):
    """A comment a head or admin left on a key result (from the digest's Comment button)."""

    __table_args__ = (Index("ix_krcomment_kr_created", "key_result_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    key_result_id: int = Field(foreign_key="keyresult.id")
    author_id: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class KrNudge(SQLModel, table=True):
    """An owner asked for an update on a key result; the key makes it once per workspace day."""

    __table_args__ = (UniqueConstraint("team_id", "key_result_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    key_result_id: int = Field(foreign_key="keyresult.id", index=True)
    day: date
    nudged_by: str = Field(max_length=32)
    owner_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class Commitment(SQLModel, table=True):
    """`C-7`: something one department (`department_id`) owes another's member."""

    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        Index("ix_commitment_team_status_due", "team_id", "status", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    department_id: int = Field(foreign_key="department.id", index=True)  # owed by
    asker_id: str = Field(max_length=32)
    asker_department_id: int | None = Field(default=None, foreign_key="department.id")
    what: str = Field(sa_column=Column(Text, nullable=False))
    due_date: date
    key_result_id: int | None = Field(default=None, foreign_key="keyresult.id")
    status: str = Field(default=CommitmentStatus.OPEN, max_length=16)
    owner_id: str | None = Field(default=None, max_length=32)
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = None
    decline_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    done_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    done_by: str | None = Field(default=None, max_length=32)
    done_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Behavior(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    department_id: int = Field(foreign_key="department.id", index=True)
    description: str = Field(max_length=TITLE_MAX)
    objective_id: int | None = Field(default=None, foreign_key="objective.id")
    weekly_target: int = 0
    active: bool = True
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class BehaviorLog(SQLModel, table=True):
    __table_args__ = (Index("ix_behaviorlog_behavior_created", "behavior_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    behavior_id: int = Field(foreign_key="behavior.id")
    user_id: str = Field(max_length=32)
    count: int = 1
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)


class Kpi(SQLModel, table=True):
    """A KPI definition: the six known ones are created on demand, custom names too."""

    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    name: str = Field(max_length=64)
    unit: str = Field(default="", max_length=UNIT_MAX)
    direction: str = Field(default="increase", max_length=8)  # increase | decrease
    custom: bool = False


class KpiValue(SQLModel, table=True):
    """One KPI value per (team, kpi, department scope, date); scope 0 is company-wide."""

    __table_args__ = (UniqueConstraint("team_id", "kpi_name", "scope", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kpi_name: str = Field(max_length=64)
    scope: int = 0  # department id, 0 = company-wide (NULLs would defeat the unique key)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    day: date
    value: float
    source: str = Field(default="sheet", max_length=8)  # sheet | manual
    source_ref: str | None = Field(default=None, max_length=128)
    synced_at: datetime = Field(default_factory=utcnow)


class KpiSyncRun(SQLModel, table=True):
    """Outcome of each sync, for `/kpi` (last sync time) and the admins' one-DM rule."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ok: bool = False
    rows_read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    report: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    problem_key: str | None = Field(default=None, max_length=64)  # hash of the problems reported


class Recognition(SQLModel, table=True):
    # Leaderboards and digests read a team's recognitions in a time range.
    __table_args__ = (Index("ix_recognition_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    giver_id: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    behavior_id: int | None = Field(default=None, foreign_key="behavior.id")
    source: str = Field(default="command", max_length=16)  # command | shortcut | reaction | sheet
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    # The app's public post of it (in the recognition channel), taken down if it is undone.
    post_channel_id: str | None = Field(default=None, max_length=32)
    post_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class RecognitionRecipient(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("recognition_id", "user_id"),
        Index("ix_recognitionrecipient_team_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    recognition_id: int = Field(foreign_key="recognition.id", index=True)
    user_id: str = Field(max_length=32)
    department_id: int | None = Field(default=None, foreign_key="department.id")


class RecognitionWeek(SQLModel, table=True):
    """Kudos received per person per UTC week (Monday), kept with each recognition, so a
    quarter's leaderboard sums at most 14 weeks of these instead of every recognition."""

    __table_args__ = (UniqueConstraint("team_id", "week", "user_id", "department_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    week: date
    user_id: str = Field(max_length=32)
    department_id: int = 0  # the recipient's department then; 0 = none (NULLs defeat the key)
    received: int = 0


class PraiseDraft(SQLModel, table=True):
    """A row of the Praise worksheet waiting for a head to confirm it as kudos."""

    __table_args__ = (UniqueConstraint("team_id", "row_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    row_key: str = Field(max_length=64)  # hash of the row's content: each row becomes a draft once
    praise_date: date | None = None
    customer: str = Field(default="", max_length=200)
    comment: str = Field(sa_column=Column(Text, nullable=False))
    staff: str = Field(max_length=254)
    staff_user_id: str | None = Field(default=None, max_length=32)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    status: str = Field(default=PraiseDraftStatus.PENDING, max_length=16)
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = None
    recognition_id: int | None = Field(default=None, foreign_key="recognition.id")
    created_at: datetime = Field(default_factory=utcnow)
    notified_at: datetime | None = None  # when the heads were DMed (each draft is sent once)
    # JSON [[channel, ts], …] of those DMs, so every copy shows the decision once it is made.
    notified_messages: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Review(SQLModel, table=True):
    """One department's quarterly review, or the company-wide one (department_id None)."""

    __table_args__ = (
        UniqueConstraint("team_id", "quarter", "department_id"),
        # NULLs never collide in a unique constraint: the company review gets its own index.
        Index(
            "ux_review_company",
            "team_id",
            "quarter",
            unique=True,
            sqlite_where=sql_text("department_id IS NULL"),
            postgresql_where=sql_text("department_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    quarter: str = Field(max_length=7)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    status: str = Field(default=ReviewStatus.PENDING, max_length=16)
    submitted_by: str | None = Field(default=None, max_length=32)
    submitted_at: datetime | None = None
    started_at: datetime = Field(default_factory=utcnow)
    # The quarter's summary message (the same on every review of the quarter): each retro is
    # posted as a reply in its thread, also by a later run after a failure.
    summary_channel: str | None = Field(default=None, max_length=32)
    summary_ts: str | None = Field(default=None, max_length=32)


class ReviewItem(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("review_id", "objective_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    review_id: int = Field(foreign_key="review.id", index=True)
    objective_id: int = Field(foreign_key="objective.id")
    score: float
    what_worked: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    what_did_not: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    carry_over: bool = False
    # Rolled-up progress when the score was given, and why the score departs from it.
    measured_progress: float | None = None
    score_reason: str = Field(default="", max_length=REASON_MAX)


class Decision(SQLModel, table=True):
    """A decision leadership recorded from a quarterly review summary."""

    __table_args__ = (Index("ix_decision_team_quarter", "team_id", "quarter"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    quarter: str = Field(max_length=7)  # the quarter reviewed
    text: str = Field(sa_column=Column(Text, nullable=False))
    department_id: int | None = Field(default=None, foreign_key="department.id")  # None: company
    decided_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    # The company objective started from it in the next quarter, if any.
    objective_id: int | None = Field(default=None, foreign_key="objective.id")


class AuditLog(SQLModel, table=True):
    __table_args__ = (Index("ix_auditlog_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    actor_id: str = Field(max_length=32)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: int | None = None
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class JobRun(SQLModel, table=True):
    """Run record making each job exactly-once per (team, job, scope, period)."""

    __table_args__ = (UniqueConstraint("team_id", "job", "scope", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    job: str = Field(max_length=32)
    scope: str = Field(default="", max_length=64)
    period: str = Field(max_length=32)
    status: str = Field(default=JobRunStatus.STARTED, max_length=16)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled, so a retried delivery is processed once."""

    event_id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class UserAway(SQLModel, table=True):
    """An away period: reminders and escalations skip this person until `until` (inclusive)."""

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    until: date
    set_at: datetime = Field(default_factory=utcnow)


class KpiGuardrail(SQLModel, table=True):
    """A KPI that must stay above/below a threshold, with its last evaluated state.

    `changes` counts healthy↔unhealthy transitions; each transition's alert or recovery note is
    posted once under the run key (guardrail id, changes).
    """

    __table_args__ = (UniqueConstraint("team_id", "kpi_name", "scope"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kpi_name: str = Field(max_length=64)
    scope: int = 0  # department id, 0 = company-wide
    department_id: int | None = Field(default=None, foreign_key="department.id")
    op: str = Field(max_length=8)  # above | below
    threshold: float
    state: str = Field(default=GuardrailState.UNKNOWN, max_length=16)
    evaluated_day: date | None = None
    evaluated_value: float | None = None
    changes: int = 0
    changed_at: datetime | None = None
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class BehaviorKpiLink(SQLModel, table=True):
    """The KPI a behavior is explicitly compared with (one per behavior)."""

    __table_args__ = (UniqueConstraint("team_id", "behavior_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    behavior_id: int = Field(foreign_key="behavior.id")
    kpi_name: str = Field(max_length=64)
    scope: int = 0  # department id, 0 = company-wide
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


# APScheduler's persistent job store (jobs/scheduler.py). Declared here, with exactly the columns
# SQLAlchemyJobStore expects, so that our Alembic migration creates it (APScheduler's own
# create(checkfirst=True) then finds it and does nothing) and the models-vs-migrations check
# covers it like any other table.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)

# slack-sdk's installation and OAuth state store tables (tokens encrypted), created by our
# migrations like every other table.
from storage import oauth_tables  # noqa: E402, F401

# ---- customer voice: feedback, routing, follow-ups ---------------------------------------------


class Feedback(SQLModel, table=True):
    """One customer's answer (score 0–10 and comment), once per (team, source, source id)."""

    __table_args__ = (
        UniqueConstraint("team_id", "source", "source_id"),
        Index("ix_feedback_team_customer", "team_id", "customer_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    source: str = Field(max_length=16)  # sheet | webhook | shortcut | csv
    source_id: str = Field(max_length=128)
    received_at: datetime
    customer: str = Field(max_length=200)
    customer_key: str = Field(max_length=200)  # casefolded: the same customer across sources
    score: int
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    department_id: int | None = Field(default=None, foreign_key="department.id")
    staff: str | None = Field(default=None, max_length=254)
    link: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    # Set once a promoter's staff mention was turned into a praise draft (or found no one).
    praise_checked_at: datetime | None = None


class FeedbackRoute(SQLModel, table=True):
    """Routing rule: feedback whose comment contains `keyword` goes to a department."""

    __table_args__ = (UniqueConstraint("team_id", "keyword_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    keyword: str = Field(max_length=NAME_MAX)
    keyword_key: str = Field(max_length=NAME_MAX)  # casefolded, for matching
    department_id: int = Field(foreign_key="department.id", index=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class FeedbackSettings(SQLModel, table=True):
    """A workspace's customer-voice settings (set in the setup form)."""

    team_id: str = Field(primary_key=True, max_length=32)
    default_department_id: int | None = Field(default=None, foreign_key="department.id")
    followup_hours: int = 48
    updated_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(default_factory=utcnow)


class FeedbackFollowupBehavior(SQLModel, table=True):
    """The behavior a department logs when one of its follow-ups is closed with a contact."""

    __table_args__ = (UniqueConstraint("team_id", "department_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    department_id: int = Field(foreign_key="department.id")
    behavior_id: int = Field(foreign_key="behavior.id")
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class Followup(SQLModel, table=True):
    """`F-3`: a detractor (score 0–6) someone must contact. The score, department and times are
    kept here, so the figures stay when the feedback itself is erased (retention, forget)."""

    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        Index("ix_followup_team_status_due", "team_id", "status", "due_at"),
        Index("ix_followup_team_received", "team_id", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    feedback_id: int | None = Field(default=None, foreign_key="feedback.id", index=True)
    # None: nothing routed it and no default department is set; the admins handle it.
    department_id: int | None = Field(default=None, foreign_key="department.id")
    score: int
    received_at: datetime
    due_at: datetime
    status: str = Field(default=FollowUpStatus.OPEN, max_length=16)
    owner_id: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    closed_by: str | None = Field(default=None, max_length=32)
    closed_at: datetime | None = None
    first_contact_at: datetime | None = None
    recovered_at: datetime | None = None
    heads_notified_at: datetime | None = None  # the new-detractor DM went out (once)
    # JSON [[channel, ts], …] of those DMs, so every copy shows who took or closed it.
    heads_messages: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    overdue_notified_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class FeedbackWebhookToken(SQLModel, table=True):
    """Each workspace's webhook token (multi-workspace mode): looked up by its hash, shown to
    admins from the encrypted copy."""

    __table_args__ = {"info": {"credentials": True}}

    team_id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    token: str = Field(sa_column=Column(EncryptedText, nullable=False))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
