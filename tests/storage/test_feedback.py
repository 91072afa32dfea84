"""Customer feedback in storage: idempotent storing, routing, follow-ups and their races,
recovery, retention and forgetting a customer — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from storage.db import session_scope
from storage.errors import DomainError, PermissionDenied
from storage.feedback import (
    FORGOTTEN,
    FeedbackIn,
    add_routes,
    forget_customer,
    parse_score,
    purge_old_feedback,
    store_feedback,
    update_feedback_settings,
)
from storage.followups import close, take
from storage.models import AuditLog, Feedback, Followup, PraiseDraft
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def item(source_id, score, comment="", customer="Ann Customer", department=None, **kw):
    return FeedbackIn(source="webhook", source_id=source_id, received_at=kw.pop("at", NOW),
                      customer=customer, score=score, comment=comment, department=department,
                      **kw)  # fmt: skip


def store(engine, *items, team_id=TEAM, **kw):
    with session_scope(engine) as s:
        return store_feedback(s, team_id=team_id, actor_id="feedback", items=list(items), **kw)


def followups(engine, team_id=TEAM) -> list[Followup]:
    with Session(engine) as s:
        return list(s.exec(select(Followup).where(Followup.team_id == team_id)
                           .order_by(Followup.number)).all())  # fmt: skip


@pytest.mark.parametrize("raw", ["11", "-1", "7.5", "ten", "", None, True, 7.5])
def test_scores_that_are_not_whole_numbers_0_to_10_are_refused(raw):
    with pytest.raises(DomainError) as exc:
        parse_score(raw)
    assert exc.value.field == "score"


def test_scores_accepted():
    assert [parse_score(x) for x in ("0", " 10 ", "7.0", 6, 9.0)] == [0, 10, 7, 6, 9]


def test_store_is_idempotent_and_routes_named_keyword_then_default(engine):
    support = department(engine, "Support", heads=(ALICE,))
    billing = department(engine, "Billing", heads=(BOB,), channel="C0BILLING1")
    with session_scope(engine) as s:
        add_routes(s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                   keywords=["invoice", "refund"], department_name="billing")  # fmt: skip
        update_feedback_settings(s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                                 default_department_id=support.id, followup_hours=24)  # fmt: skip
    first = store(
        engine,
        item("a", 3, "Your INVOICE was wrong"),
        item("b", 2, "invoice again", department="support"),  # named wins over keywords
        item("c", 5, "slow shipping"),  # no rule: the default department
        item("d", 8, "fine"),  # passive: no follow-up
        item("a", 3, "Your INVOICE was wrong"),  # same id twice in one batch
    )
    assert len(first.created) == 4 and first.duplicates == 1
    again = store(engine, item("a", 3, "changed text, same id"), item("b", 2))
    assert again.created == [] and again.duplicates == 2
    rows = followups(engine)
    assert [(f.number, f.department_id) for f in rows] == [
        (1, billing.id), (2, support.id), (3, support.id),
    ]  # fmt: skip
    assert rows[0].due_at - rows[0].received_at == timedelta(hours=24)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Feedback)).one() == 4
        payloads = [
            a.after for a in s.exec(select(AuditLog).where(AuditLog.action == "feedback.store"))
        ]
    assert payloads and not any("INVOICE" in p for p in payloads)  # no customer words audited


def test_two_heads_take_at_once_one_owner(engine):
    department(engine, "Support", heads=(ALICE, BOB))
    with session_scope(engine) as s:
        update_feedback_settings(s, team_id=TEAM, actor_id=ADMIN, is_admin=True,
                                 default_department_id=None, followup_hours=48)  # fmt: skip
    dept = department(engine, "Care", heads=(ALICE, BOB), channel="C0CARE0001")
    store(engine, item("x", 1, department="Care"))
    results = []
    barrier = threading.Barrier(2)

    def press(user):
        barrier.wait()
        with session_scope(engine) as s:
            results.append(take(s, team_id=TEAM, actor_id=user, is_admin=False, ref="F-1").won)

    threads = [threading.Thread(target=press, args=(u,)) for u in (ALICE, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    (row,) = followups(engine)
    assert row.status == "taken" and row.owner_id in (ALICE, BOB) and row.first_contact_at
    assert row.department_id == dept.id
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AuditLog)
                      .where(AuditLog.action == "followup.take")).one() == 1  # fmt: skip


def test_only_heads_admins_or_owner_may_close(engine):
    department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    store(engine, item("x", 4, department="Support"))
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        close(s, team_id=TEAM, actor_id=CAROL, is_admin=False, ref="F-1", outcome="contacted")
    with pytest.raises(DomainError) as exc, session_scope(engine) as s:
        close(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="F-1", outcome="maybe")
    assert exc.value.field == "outcome"
    assert followups(engine)[0].status == "open"


def test_recovery_marks_followup_and_drafts_kudos_for_the_closer(engine):
    department(engine, "Support", heads=(ALICE,), members=(CAROL,))
    store(engine, item("x", 2, "awful", customer="ann@example.com", department="Support",
                       at=NOW - timedelta(days=10)))  # fmt: skip
    with session_scope(engine) as s:
        take(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="F-1")
    with session_scope(engine) as s:
        from storage.followups import assign

        assign(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="F-1", owner_id=CAROL)
    with session_scope(engine) as s:
        assert close(s, team_id=TEAM, actor_id=CAROL, is_admin=False, ref="F-1",
                     outcome="resolved").won  # fmt: skip
    result = store(engine, item("y", 10, "You fixed it!", customer=" ANN@example.com "))
    assert len(result.recovered) == 1
    (row,) = followups(engine)
    assert row.recovered_at is not None
    with Session(engine) as s:
        (draft,) = s.exec(select(PraiseDraft)).all()
    assert draft.staff_user_id == CAROL and "turned a detractor into a promoter" in draft.comment
    # A second promoter answer recovers nothing more.
    assert store(engine, item("z", 9, customer="ann@example.com")).recovered == []


def test_forget_customer_keeps_counts_and_scrubs_text_everywhere(engine):
    department(engine, "Support", heads=(ALICE,))
    store(
        engine,
        item("x", 2, "Zelda hated the ZX-81 modem", customer="Zelda Q", department="Support"),
    )
    with session_scope(engine) as s:
        close(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="F-1", outcome="contacted",
              note="Called Zelda Q about the ZX-81 modem")  # fmt: skip
    with session_scope(engine) as s:
        forget_customer(s, team_id=TEAM, customer="zelda q")
    with Session(engine) as s:
        (fb,) = s.exec(select(Feedback)).all()
        audit_text = json.dumps([(a.before, a.after) for a in s.exec(select(AuditLog)).all()])
    assert (fb.customer, fb.comment, fb.score) == (FORGOTTEN, "", 2)
    (row,) = followups(engine)
    assert row.note is None and row.status == "closed"
    assert "Zelda" not in audit_text and "ZX-81" not in audit_text


def test_retention_deletes_old_feedback_keeps_followup_figures(engine):
    department(engine, "Support", heads=(ALICE,))
    store(engine, item("old", 1, "old words", department="Support", at=NOW - timedelta(days=800)),
          item("new", 1, "new words", department="Support"))  # fmt: skip
    with session_scope(engine) as s:
        assert purge_old_feedback(s, before=NOW - timedelta(days=730)) == 1
    with Session(engine) as s:
        assert [f.source_id for f in s.exec(select(Feedback)).all()] == ["new"]
    assert len(followups(engine)) == 2
    assert followups(engine)[0].feedback_id is None
    # Re-sent old feedback is not stored again when older than the retention period.
    assert store(engine, item("old", 1, at=NOW - timedelta(days=800)),
                 not_before=NOW - timedelta(days=730)).skipped_old == 1  # fmt: skip
