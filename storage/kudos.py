"""Kudos: storing a recognition of customer praise with its recipients, and reading them back
(given by `/kudos`, the shortcut, a reaction or a confirmed Praise-sheet row)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from storage import audit
from storage.behaviors import find_behavior_by_tag
from storage.errors import DomainError, FieldErrors, NotFound
from storage.leaderboards import bump_weekly_tallies, week_of
from storage.models import (
    Behavior,
    DepartmentMember,
    PraiseDraft,
    PraiseDraftStatus,
    Recognition,
    RecognitionRecipient,
    RecognitionWeek,
    SlackUser,
    Team,
    utcnow,
)
from storage.teams import get_or_create_team
from storage.undo import check_may_undo, delete_undone, row_to_undo

UNDO_ACTION = "recognition.undo"

MAX_RECIPIENTS = 20  # keeps the public post readable and within one section
SOURCES = ("command", "shortcut", "reaction", "sheet")


@dataclass
class KudosItem:
    recognition: Recognition
    recipient_ids: list[str]
    department_ids: list[int]


def _recipients_problem(
    session: Session,
    team_id: str,
    giver_id: str,
    recipients: list[str],
    name_people: Callable[[list[str]], str],
    users: Mapping[str, SlackUser] | None = None,
) -> str | None:
    """What is wrong with the recipients, None when nothing is. `users`: their cached rows
    when the caller has just read them in this session (else they are read here)."""
    if not recipients:
        return "Name at least one person to recognize."
    if giver_id in recipients:
        return (
            "You can't give kudos to yourself — recognize the colleagues who helped instead."
            if len(recipients) > 1
            else "You can't give kudos to yourself; mention the colleague you want to recognize."
        )
    if len(recipients) > MAX_RECIPIENTS:
        return f"Recognize at most {MAX_RECIPIENTS} people at once."
    known = users
    if known is None:
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
        return (
            f"{name_people(bots)} {'is a bot' if len(bots) == 1 else 'are bots'}; "
            "kudos are for people."
        )
    if gone:
        return (
            f"{name_people(gone)} {'is no longer' if len(gone) == 1 else 'are no longer'} in this "
            "workspace (deactivated or not found); recognize someone who is."
        )
    return None


def _chosen_behavior(
    session: Session,
    errors: dict[str, str],
    *,
    team_id: str,
    behavior_tag: str | None,
    behavior_id: int | None,
    required: bool,
    team: Team | None = None,
) -> Behavior | None:
    """The behavior the kudos names (by id, else by tag); a problem goes into `errors`.
    `team`: the team's row when the caller holds it (else it is read here)."""
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
    if behavior is None and "behavior" not in errors and required:
        if team is None:
            team = session.get(Team, team_id)
        if team is not None and team.kudos_require_behavior:
            errors["behavior"] = "This workspace asks every kudos to name the behavior it shows."
    return behavior


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
    name_people: Callable[[list[str]], str] = ", ".join,
    users: Mapping[str, SlackUser] | None = None,
    team: Team | None = None,
) -> tuple[list[str], str, Behavior | None]:
    """Check a recognition before anything is written; FieldErrors keyed
    `recipients` / `praise` / `behavior`. Bots and deleted users are judged from the cached
    `SlackUser` rows, which the caller refreshes from `users.info` first. Refused people are
    named in messages by `name_people` (the caller's way of showing user ids). `users` (the
    recipients' cached rows, by user id) and `team` (the team's row): when the caller has just
    read them in this session, so they are not read again."""
    errors: dict[str, str] = {}
    recipients = list(dict.fromkeys(r for r in recipient_ids if r))
    problem = _recipients_problem(session, team_id, giver_id, recipients, name_people, users)
    if problem:
        errors["recipients"] = problem
    clean = (text or "").strip()
    if not clean:
        errors["praise"] = "Say what the customer said or what they did."
    behavior = _chosen_behavior(
        session,
        errors,
        team_id=team_id,
        behavior_tag=behavior_tag,
        behavior_id=behavior_id,
        required=enforce_required_behavior,
        team=team,
    )
    if errors:
        raise FieldErrors(errors)
    return recipients, clean, behavior


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
    name_people: Callable[[list[str]], str] = ", ".join,
    users: Mapping[str, SlackUser] | None = None,
) -> KudosItem:
    """Validate and store a recognition with its recipients and their departments (and the
    recipients' weekly tallies). `at` is for imports and tests; it defaults to now.
    `name_people` shows refused recipients in messages, and `users` are their cached rows when
    the caller has just read them (see validate_kudos)."""
    if source not in SOURCES:
        raise ValueError(f"unknown recognition source {source!r}")
    # Read once and held for the whole call (a session forgets an unchanged row as soon as
    # nothing refers to it), so validating does not read it again. A row created here is
    # rolled back with the rest when validating refuses.
    team = get_or_create_team(session, team_id=team_id)
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
        name_people=name_people,
        users=users,
        team=team,
    )
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
    return _stored(session, rec, recipients)


def _stored(session: Session, rec: Recognition, recipients: list[str]) -> KudosItem:
    """Write a validated recognition with its recipients, audited."""
    session.add(rec)
    session.flush()
    depts = _add_recipients(session, rec, recipients)
    audit.record(
        session,
        team_id=rec.team_id,
        actor_id=rec.giver_id,
        action="recognition.create",
        entity="recognition",
        entity_id=rec.id,
        after={**rec.model_dump(), "recipients": recipients},
    )
    dept_ids = sorted({d for d in depts.values()})
    return KudosItem(recognition=rec, recipient_ids=recipients, department_ids=dept_ids)


def _add_recipients(session: Session, rec: Recognition, recipients: list[str]) -> dict[str, int]:
    """Store the recipients with their departments and count them in their weekly tallies;
    returns each one's department (absent: none)."""
    depts = recipient_departments(session, team_id=rec.team_id, user_ids=recipients)
    # One statement for all of them, in order (their ids keep the order they were named in).
    session.execute(
        insert(RecognitionRecipient.__table__),
        [
            {
                "team_id": rec.team_id,
                "recognition_id": rec.id,
                "user_id": uid,
                "department_id": depts.get(uid),
            }
            for uid in recipients
        ],
    )
    bump_weekly_tallies(
        session,
        team_id=rec.team_id,
        week=week_of(rec.created_at),
        recipients={uid: depts.get(uid) or 0 for uid in recipients},
    )
    return depts


def _remove_recipients(session: Session, rec: Recognition) -> None:
    """Delete the recipients and take the recognition out of their weekly tallies."""
    team_id = rec.team_id
    recipient_rows = session.exec(
        select(RecognitionRecipient).where(RecognitionRecipient.recognition_id == rec.id)
    ).all()
    week = week_of(rec.created_at)
    for rr in recipient_rows:
        # The tally row it was counted in: the recipient's department then, 0 for none.
        session.execute(
            update(RecognitionWeek)
            .where(
                RecognitionWeek.team_id == team_id,
                RecognitionWeek.week == week,
                RecognitionWeek.user_id == rr.user_id,
                RecognitionWeek.department_id == (rr.department_id or 0),
            )
            .values(received=RecognitionWeek.received - 1)
        )
        session.delete(rr)
    session.execute(
        delete(RecognitionWeek).where(
            RecognitionWeek.team_id == team_id,
            RecognitionWeek.week == week,
            RecognitionWeek.received <= 0,
        )
    )


def set_recognition_post(
    session: Session, *, team_id: str, recognition_id: int, channel_id: str, ts: str
) -> bool:
    """Where the app posted the recognition publicly, so undoing it can take the post down.
    One UPDATE, nothing read first (a Recognition this session holds is not refreshed); False
    when there is no such recognition (undone, or forgotten, while it was being posted)."""
    table = Recognition.__table__
    result = session.connection().execute(
        update(table)
        .where(table.c.id == recognition_id, table.c.team_id == team_id)
        .values(post_channel_id=channel_id, post_ts=ts)
    )
    return result.rowcount > 0


def undo_recognition(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    recognition_id: int,
    now: datetime | None = None,
) -> KudosItem:
    """Delete the giver's recognition from the last 24 hours with its recipients, and take it
    out of their weekly tallies (so leaderboards and digests no longer count it). The item
    returned still says where it was posted."""
    rec = row_to_undo(
        session,
        model=Recognition,
        team_id=team_id,
        row_id=recognition_id,
        action=UNDO_ACTION,
        noun="kudos",
        plural=True,
    )
    check_may_undo(
        user_id=user_id,
        author_id=rec.giver_id,
        created_at=rec.created_at,
        what="these kudos",
        now=now,
    )
    item = _items(session, [rec])[0]
    _remove_recipients(session, rec)
    # A Praise-sheet row confirmed as these kudos goes back to dismissed, not to be posted again.
    session.execute(
        update(PraiseDraft)
        .where(PraiseDraft.team_id == team_id, PraiseDraft.recognition_id == rec.id)
        .values(recognition_id=None, status=PraiseDraftStatus.DISMISSED)
    )
    before = {**rec.model_dump(), "recipients": item.recipient_ids}
    session.flush()
    delete_undone(
        session,
        rec,
        team_id=team_id,
        actor_id=user_id,
        action=UNDO_ACTION,
        entity="recognition",
        before=before,
    )
    return item


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
