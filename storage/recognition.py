"""Recognition (kudos): storing praise with its recipients, leaderboards, Praise-sheet drafts.

Spec §2 (Recognition), §3 (`/kudos`, the shortcut, reactions), §4 (Praise worksheet).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage import audit
from storage.behaviors import find_behavior_by_tag
from storage.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from storage.models import (
    Behavior,
    Department,
    DepartmentMember,
    PraiseDraft,
    Recognition,
    RecognitionRecipient,
    RecognitionWeek,
    SlackUser,
    Team,
    utcnow,
)
from storage.teams import get_or_create_team

USAGE = (
    "`/kudos @user… what the customer said or what they did [#B-5]` — `/kudos` alone opens a form"
)
MAX_RECIPIENTS = 20  # keeps the public post readable and within one section
SOURCES = ("command", "shortcut", "reaction", "sheet")
# A trailing `#B-5` / `#B5`, or `#` and a behavior name at the very end of the praise.
_REF_TAG = re.compile(r"(?:^|\s)#(B-?\d{1,9})\b", re.IGNORECASE)
_NAME_TAG = re.compile(r"(?:^|\s)#([^\s#<>][^#<>]*)$")


@dataclass
class KudosItem:
    recognition: Recognition
    recipient_ids: list[str]
    department_ids: list[int]


@dataclass
class Leaderboard:
    top: list[tuple[str, int]]
    per_department: list[tuple[Department, int, int, float]]
    share_recognized: float
    # department id -> members recognized at least once (the per-department share's numerator)
    recognized_per_department: dict[int, int] = field(default_factory=dict)
    members_total: int = 0
    members_recognized: int = 0


def split_behavior_tag(text: str) -> tuple[str, str | None]:
    """Praise text without its behavior tag, and the tag (`B-5` or a name), if any."""
    text = (text or "").strip()
    m = _REF_TAG.search(text)
    if m:
        return (text[: m.start()] + text[m.end() :]).strip(), m.group(1)
    m = _NAME_TAG.search(text)
    if m:
        return text[: m.start()].strip(), m.group(1).strip()
    return text, None


def validate_kudos(
    session: Session,
    *,
    team_id: str,
    giver_id: str,
    recipient_ids: list[str],
    text: str,
    behavior_tag: str | None = None,
    behavior_id: int | None = None,
    enforce_required_behavior: bool = True,
) -> tuple[list[str], str, Behavior | None]:
    """Check a recognition before anything is written; FieldErrors keyed
    `recipients` / `praise` / `behavior`. Bots and deleted users are judged from the cached
    `SlackUser` rows, which the caller refreshes from `users.info` first."""
    errors: dict[str, str] = {}
    recipients = list(dict.fromkeys(r for r in recipient_ids if r))
    if not recipients:
        errors["recipients"] = "Mention at least one person to recognize, e.g. `@maria`."
    elif giver_id in recipients:
        errors["recipients"] = (
            "You can't give kudos to yourself — recognize the colleagues who helped instead."
            if len(recipients) > 1
            else "You can't give kudos to yourself; mention the colleague you want to recognize."
        )
    elif len(recipients) > MAX_RECIPIENTS:
        errors["recipients"] = f"Recognize at most {MAX_RECIPIENTS} people at once."
    else:
        known = {
            u.user_id: u
            for u in session.exec(
                select(SlackUser).where(
                    SlackUser.team_id == team_id, col(SlackUser.user_id).in_(recipients)
                )
            ).all()
        }
        bots = [r for r in recipients if known.get(r) and known[r].is_bot]
        gone = [r for r in recipients if known.get(r) and known[r].deleted]
        if bots:
            errors["recipients"] = (
                f"{_people(bots)} {'is a bot' if len(bots) == 1 else 'are bots'}; "
                "kudos are for people."
            )
        elif gone:
            errors["recipients"] = (
                f"{_people(gone)} {'is no longer' if len(gone) == 1 else 'are no longer'} in this "
                "workspace (deactivated or not found); recognize someone who is."
            )
    clean = (text or "").strip()
    if not clean:
        errors["praise"] = "Say what the customer said or what they did."
    behavior = None
    if behavior_id is not None:
        behavior = session.get(Behavior, behavior_id)
        if behavior is None or behavior.team_id != team_id:
            errors["behavior"] = "That behavior does not exist any more; pick another."
            behavior = None
    elif behavior_tag:
        try:
            behavior = find_behavior_by_tag(session, team_id=team_id, tag=behavior_tag)
        except DomainError as exc:
            errors["behavior"] = exc.message
    if behavior is None and "behavior" not in errors and enforce_required_behavior:
        team = session.get(Team, team_id)
        if team is not None and team.kudos_require_behavior:
            errors["behavior"] = (
                "This workspace asks every kudos to name the behavior it shows: add `#B-5` "
                "(or `#` and the behavior's name) — see `/behavior list`."
            )
    if errors:
        raise FieldErrors(errors)
    return recipients, clean, behavior


def _people(user_ids: list[str]) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids)


def recipient_departments(session: Session, *, team_id: str, user_ids: list[str]) -> dict[str, int]:
    """Each user's department for the record: their first one (lowest id) if several."""
    out: dict[str, int] = {}
    for uid, dept_id in session.exec(
        select(DepartmentMember.user_id, DepartmentMember.department_id)
        .where(DepartmentMember.team_id == team_id, col(DepartmentMember.user_id).in_(user_ids))
        .order_by(DepartmentMember.department_id)
    ).all():
        out.setdefault(uid, dept_id)
    return out


def create_recognition(
    session: Session,
    *,
    team_id: str,
    giver_id: str,
    recipient_ids: list[str],
    text: str,
    behavior_tag: str | None = None,
    behavior_id: int | None = None,
    link: str | None = None,
    source: str = "command",
    channel_id: str | None = None,
    message_ts: str | None = None,
    at: datetime | None = None,
) -> KudosItem:
    """Validate and store a recognition with its recipients and their departments (and the
    recipients' weekly tallies). `at` is for imports and tests; it defaults to now."""
    if source not in SOURCES:
        raise ValueError(f"unknown recognition source {source!r}")
    recipients, clean, behavior = validate_kudos(
        session,
        team_id=team_id,
        giver_id=giver_id,
        recipient_ids=recipient_ids,
        text=text,
        behavior_tag=behavior_tag,
        behavior_id=behavior_id,
        # A one-click Praise-sheet confirmation has nowhere to pick a behavior.
        enforce_required_behavior=source != "sheet",
    )
    get_or_create_team(session, team_id=team_id)
    rec = Recognition(
        team_id=team_id,
        giver_id=giver_id,
        text=clean,  # stored in full, however long; only the display is cut
        link=link or None,
        behavior_id=behavior.id if behavior else None,
        source=source,
        channel_id=channel_id,
        message_ts=message_ts,
        created_at=at or utcnow(),
    )
    session.add(rec)
    session.flush()
    depts = recipient_departments(session, team_id=team_id, user_ids=recipients)
    for uid in recipients:
        session.add(
            RecognitionRecipient(
                team_id=team_id, recognition_id=rec.id, user_id=uid, department_id=depts.get(uid)
            )
        )
    session.flush()
    _bump_weekly_tallies(
        session,
        team_id=team_id,
        week=week_of(rec.created_at),
        recipients={uid: depts.get(uid) or 0 for uid in recipients},
    )
    audit.record(
        session,
        team_id=team_id,
        actor_id=giver_id,
        action="recognition.create",
        entity="recognition",
        entity_id=rec.id,
        after={**rec.model_dump(), "recipients": recipients},
    )
    dept_ids = sorted({d for d in depts.values()})
    return KudosItem(recognition=rec, recipient_ids=recipients, department_ids=dept_ids)


def get_recognition(session: Session, *, team_id: str, recognition_id: int) -> KudosItem:
    rec = session.get(Recognition, recognition_id)
    if rec is None or rec.team_id != team_id:
        raise NotFound("That recognition does not exist.")
    return _items(session, [rec])[0]


def _items(session: Session, recs: list[Recognition]) -> list[KudosItem]:
    if not recs:
        return []
    recipients: dict[int, list[str]] = {}
    depts: dict[int, set[int]] = {}
    for rr in session.exec(
        select(RecognitionRecipient)
        .where(col(RecognitionRecipient.recognition_id).in_([r.id for r in recs]))
        .order_by(RecognitionRecipient.id)
    ).all():
        recipients.setdefault(rr.recognition_id, []).append(rr.user_id)
        if rr.department_id is not None:
            depts.setdefault(rr.recognition_id, set()).add(rr.department_id)
    return [
        KudosItem(
            recognition=r,
            recipient_ids=recipients.get(r.id, []),
            department_ids=sorted(depts.get(r.id, set())),
        )
        for r in recs
    ]


def kudos_between(
    session: Session,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    department_ids: list[int] | None = None,
) -> list[KudosItem]:
    """Recognitions created in [start, end), oldest first; with department_ids, only those
    with a recipient in one of those departments. Two range queries, however many rows."""
    if department_ids is not None and not department_ids:
        return []
    in_range = (
        Recognition.team_id == team_id,
        Recognition.created_at >= start,
        Recognition.created_at < end,
    )
    recipients: dict[int, list[str]] = {}
    depts: dict[int, set[int]] = {}
    for rec_id, uid, dept in session.exec(
        select(
            RecognitionRecipient.recognition_id,
            RecognitionRecipient.user_id,
            RecognitionRecipient.department_id,
        )
        .join(Recognition, Recognition.id == RecognitionRecipient.recognition_id)
        .where(*in_range)
        .order_by(RecognitionRecipient.id)
    ):
        recipients.setdefault(rec_id, []).append(uid)
        if dept is not None:
            depts.setdefault(rec_id, set()).add(dept)
    wanted = set(department_ids or [])
    items = []
    for rec in session.exec(
        select(Recognition).where(*in_range).order_by(Recognition.created_at, Recognition.id)
    ):
        rec_depts = depts.get(rec.id, set())
        if department_ids is not None and not rec_depts & wanted:
            continue
        items.append(
            KudosItem(
                recognition=rec,
                recipient_ids=recipients.get(rec.id, []),
                department_ids=sorted(rec_depts),
            )
        )
    return items


def week_of(moment: datetime) -> date:
    """The UTC Monday of the week `moment` falls in (the key of the weekly tallies)."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _upsert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _bump_weekly_tallies(
    session: Session, *, team_id: str, week: date, recipients: dict[str, int]
) -> None:
    """One statement; concurrent kudos add up (INSERT … ON CONFLICT DO UPDATE)."""
    if not recipients:
        return
    table = RecognitionWeek.__table__
    stmt = _upsert(session)(table).values(
        [
            {"team_id": team_id, "week": week, "user_id": uid, "department_id": dept, "received": 1}
            for uid, dept in recipients.items()
        ]
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "week", "user_id", "department_id"],
            set_={"received": table.c.received + stmt.excluded.received},
        )
    )


def rebuild_weekly_tallies(session: Session, *, team_id: str) -> int:
    """Recompute a team's weekly tallies from its recognitions (after a bulk import or
    repair); returns the number of tally rows."""
    session.execute(delete(RecognitionWeek).where(RecognitionWeek.team_id == team_id))
    counts: Counter = Counter()
    for created_at, uid, dept in session.exec(
        select(
            Recognition.created_at, RecognitionRecipient.user_id, RecognitionRecipient.department_id
        )
        .join(RecognitionRecipient, RecognitionRecipient.recognition_id == Recognition.id)
        .where(Recognition.team_id == team_id)
    ):
        counts[(week_of(created_at), uid, dept or 0)] += 1
    rows = [
        {"team_id": team_id, "week": w, "user_id": u, "department_id": d, "received": n}
        for (w, u, d), n in counts.items()
    ]
    for i in range(0, len(rows), 5000):
        session.execute(RecognitionWeek.__table__.insert(), rows[i : i + 5000])
    return len(rows)


def _received_raw(session: Session, *, team_id: str, start: datetime, end: datetime, into: Counter):
    if start >= end:
        return
    for uid, dept, n in session.exec(
        select(RecognitionRecipient.user_id, RecognitionRecipient.department_id, func.count())
        .join(Recognition, Recognition.id == RecognitionRecipient.recognition_id)
        .where(
            Recognition.team_id == team_id,
            Recognition.created_at >= start,
            Recognition.created_at < end,
        )
        .group_by(RecognitionRecipient.user_id, RecognitionRecipient.department_id)
    ):
        into[(uid, dept or 0)] += int(n)


def received_counts(session: Session, *, team_id: str, start: datetime, end: datetime) -> Counter:
    """(user id, department id or 0) -> kudos received in [start, end).

    Whole UTC weeks come from the weekly tallies; only the partial weeks at either end are
    counted from the recognitions themselves, so a quarter costs about the same whatever the
    volume of kudos."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    counts: Counter = Counter()
    first_monday = week_of(start)
    if datetime.combine(first_monday, time(), UTC) < start:
        first_monday += timedelta(days=7)
    last_monday = week_of(end)
    full_from = datetime.combine(first_monday, time(), UTC)
    full_to = datetime.combine(last_monday, time(), UTC)
    if full_from >= full_to:
        _received_raw(session, team_id=team_id, start=start, end=end, into=counts)
        return counts
    for uid, dept, n in session.exec(
        select(
            RecognitionWeek.user_id,
            RecognitionWeek.department_id,
            func.sum(RecognitionWeek.received),
        )
        .where(
            RecognitionWeek.team_id == team_id,
            RecognitionWeek.week >= first_monday,
            RecognitionWeek.week < last_monday,
        )
        .group_by(RecognitionWeek.user_id, RecognitionWeek.department_id)
    ):
        counts[(uid, dept)] += int(n)
    _received_raw(session, team_id=team_id, start=start, end=full_from, into=counts)
    _received_raw(session, team_id=team_id, start=full_to, end=end, into=counts)
    return counts


def leaderboard(
    session: Session, *, team_id: str, start: datetime, end: datetime, limit: int = 10
) -> Leaderboard:
    """Most recognized people in [start, end) (opted-out people left out), and for fairness
    kudos per department per head and the share of department members recognized at least
    once. Aggregates count everyone: they name no one."""
    counts = received_counts(session, team_id=team_id, start=start, end=end)
    per_user: Counter = Counter()
    kudos_by_dept: Counter = Counter()
    for (uid, dept), n in counts.items():
        per_user[uid] += n
        if dept:
            kudos_by_dept[dept] += n
    hidden = set(
        session.exec(
            select(SlackUser.user_id).where(
                SlackUser.team_id == team_id, SlackUser.hide_from_leaderboards.is_(True)
            )
        ).all()
    )
    ranked = sorted(
        ((uid, n) for uid, n in per_user.items() if uid not in hidden and n > 0),
        key=lambda row: (-row[1], row[0]),
    )
    members = session.exec(
        select(DepartmentMember.department_id, DepartmentMember.user_id).where(
            DepartmentMember.team_id == team_id
        )
    ).all()
    headcount: Counter = Counter()
    recognized_by_dept: Counter = Counter()
    everyone, recognized = set(), set()
    for dept_id, uid in members:
        headcount[dept_id] += 1
        everyone.add(uid)
        if per_user.get(uid):
            recognized_by_dept[dept_id] += 1
            recognized.add(uid)
    depts = session.exec(
        select(Department).where(Department.team_id == team_id).order_by(Department.name_key)
    ).all()
    per_department = []
    for d in depts:
        heads = headcount.get(d.id, 0)
        kudos = kudos_by_dept.get(d.id, 0)
        per_department.append((d, kudos, heads, kudos / heads if heads else 0.0))
    per_department.sort(key=lambda row: (-row[3], row[0].name_key))
    return Leaderboard(
        top=ranked[:limit],
        per_department=per_department,
        share_recognized=len(recognized) / len(everyone) if everyone else 0.0,
        recognized_per_department=dict(recognized_by_dept),
        members_total=len(everyone),
        members_recognized=len(recognized),
    )


def set_hide_from_leaderboards(
    session: Session, *, team_id: str, user_id: str, hide: bool
) -> SlackUser:
    get_or_create_team(session, team_id=team_id)
    row = session.get(SlackUser, (team_id, user_id)) or SlackUser(team_id=team_id, user_id=user_id)
    before = {"hide_from_leaderboards": row.hide_from_leaderboards}
    row.hide_from_leaderboards = bool(hide)
    session.add(row)
    audit.record(
        session,
        team_id=team_id,
        actor_id=user_id,
        action="user.leaderboard_privacy",
        entity="slack_user",
        before=before,
        after={"hide_from_leaderboards": row.hide_from_leaderboards},
    )
    return row


def is_hidden(session: Session, *, team_id: str, user_id: str) -> bool:
    row = session.get(SlackUser, (team_id, user_id))
    return bool(row and row.hide_from_leaderboards)


# --- Praise worksheet drafts ----------------------------------------------------------------


def drafts_to_notify(session: Session, *, team_id: str) -> list[PraiseDraft]:
    """Pending, matched drafts whose heads have not been told yet."""
    return list(
        session.exec(
            select(PraiseDraft)
            .where(
                PraiseDraft.team_id == team_id,
                PraiseDraft.status == "pending",
                col(PraiseDraft.staff_user_id).is_not(None),
                col(PraiseDraft.notified_at).is_(None),
            )
            .order_by(PraiseDraft.id)
        ).all()
    )


def draft_deciders(session: Session, *, draft: PraiseDraft) -> list[str]:
    """Who is asked to confirm: the heads of the staff member's department(s), never the
    staff member themself; workspace admins known to the app when no other head exists."""
    dept_ids = (
        [draft.department_id]
        if draft.department_id
        else list(
            session.exec(
                select(DepartmentMember.department_id).where(
                    DepartmentMember.team_id == draft.team_id,
                    DepartmentMember.user_id == draft.staff_user_id,
                )
            ).all()
        )
    )
    heads = []
    if dept_ids:
        heads = list(
            session.exec(
                select(DepartmentMember.user_id)
                .where(
                    DepartmentMember.team_id == draft.team_id,
                    col(DepartmentMember.department_id).in_(dept_ids),
                    DepartmentMember.is_head.is_(True),
                )
                .order_by(DepartmentMember.id)
            ).all()
        )
    heads = [h for h in dict.fromkeys(heads) if h != draft.staff_user_id]
    if heads:
        return heads
    admins = session.exec(
        select(SlackUser.user_id).where(
            SlackUser.team_id == draft.team_id,
            SlackUser.is_admin.is_(True),
            SlackUser.user_id != draft.staff_user_id,
        )
    ).all()
    return list(admins)


def mark_draft_notified(session: Session, *, team_id: str, draft_id: int) -> bool:
    """Claim the right to notify; False if another run already did (each draft DMs once)."""
    result = session.execute(
        update(PraiseDraft)
        .where(
            PraiseDraft.id == draft_id,
            PraiseDraft.team_id == team_id,
            col(PraiseDraft.notified_at).is_(None),
        )
        .values(notified_at=utcnow())
    )
    return result.rowcount == 1


def draft_praise_text(draft: PraiseDraft) -> str:
    who = draft.customer.strip() or "A customer"
    return f"{who} said: {draft.comment.strip()}"


def decide_draft(
    session: Session,
    *,
    team_id: str,
    draft_id: int,
    actor_id: str,
    is_admin: bool,
    confirm: bool,
) -> tuple[PraiseDraft, KudosItem | None]:
    """Confirm (posts a recognition) or dismiss a draft, exactly once.

    The conditional UPDATE … WHERE status='pending' is the arbiter: of two heads clicking at the
    same moment, one updates a row and the other sees rowcount 0 (PostgreSQL re-checks the
    condition after the first commits; SQLite serializes writers)."""
    draft = session.get(PraiseDraft, draft_id)
    if draft is None or draft.team_id != team_id:
        raise NotFound("That praise draft does not exist.")
    if not is_admin and actor_id not in draft_deciders(session, draft=draft):
        raise PermissionDenied("the staff member's department head or an admin", "decide it")
    now = utcnow()
    result = session.execute(
        update(PraiseDraft)
        .where(
            PraiseDraft.id == draft_id,
            PraiseDraft.team_id == team_id,
            PraiseDraft.status == "pending",
        )
        .values(status="confirmed" if confirm else "dismissed", decided_by=actor_id, decided_at=now)
    )
    if result.rowcount != 1:
        session.rollback()
        session.refresh(draft)
        who = f" by <@{draft.decided_by}>" if draft.decided_by else ""
        raise DomainError(f"This praise was already {draft.status}{who}.")
    item = None
    if confirm:
        item = create_recognition(
            session,
            team_id=team_id,
            giver_id=actor_id,
            recipient_ids=[draft.staff_user_id] if draft.staff_user_id else [],
            text=draft_praise_text(draft),
            source="sheet",
        )
        session.execute(
            update(PraiseDraft)
            .where(PraiseDraft.id == draft_id)
            .values(recognition_id=item.recognition.id)
        )
    session.refresh(draft)
    audit.record(
        session,
        team_id=team_id,
        actor_id=actor_id,
        action="praise_draft.confirm" if confirm else "praise_draft.dismiss",
        entity="praise_draft",
        entity_id=draft.id,
        after=draft,
    )
    return draft, item
