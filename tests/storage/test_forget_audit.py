"""`user forget` also forgets the person in the audit log (SQLite and PostgreSQL): the notes,
decline reasons and done notes they wrote, copied into before/after payloads by every change
that followed, are blanked; their id and email become the pseudonym; everybody else's words
and the product data (what was asked, titles) stay."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import Session, select

from storage import commitments
from storage.behaviors import create_behavior, log_behavior
from storage.db import session_scope
from storage.lifecycle import forget_user
from storage.models import AuditLog, PraiseDraft, SlackUser
from storage.praise import PraiseIn, store_drafts
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department

ALICE_EMAIL = "alice.private@example.com"
TODAY = date.today()


def audit_text(engine) -> str:
    with Session(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.team_id == TEAM)).all()
        return "\n".join(f"{r.actor_id} {r.before} {r.after}" for r in rows)


def payloads(engine, action: str) -> list[tuple[dict | None, dict | None]]:
    with Session(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.action == action)).all()
        return [(json.loads(r.before or "null"), json.loads(r.after or "null")) for r in rows]


def seed(engine):
    """Alice (a head of Product) writes notes, a decline reason and a done note; Bob writes
    his own; later changes by others copy Alice's words into their before/after payloads."""
    support = department(engine, "Support", heads=(CAROL,), members=(BOB, ALICE))
    department(engine, "Product", heads=(ALICE, BOB))
    with session_scope(engine) as s:
        s.add(SlackUser(team_id=TEAM, user_id=ALICE, email=ALICE_EMAIL, display_name="Alice"))
        create_behavior(s, team_id=TEAM, actor_id=CAROL, is_admin=False,
                        department=support, description="Call back detractors")  # fmt: skip
    with session_scope(engine) as s:
        log_behavior(s, team_id=TEAM, user_id=ALICE, is_admin=False, ref="B-1",
                     note="Alice's behavior note: my manager is difficult")  # fmt: skip
    with session_scope(engine) as s:
        log_behavior(s, team_id=TEAM, user_id=ADMIN, is_admin=True, ref="B-1",
                     note=f"Alice's secret plan, ask {ALICE_EMAIL}")  # fmt: skip
    with session_scope(engine) as s:
        log_behavior(s, team_id=TEAM, user_id=BOB, is_admin=False, ref="B-1",
                     note="Bob called three customers")  # fmt: skip
    due = TODAY + timedelta(days=9)
    for what in ("Fix the export", "Ship dark mode", "Call the big account"):
        with session_scope(engine) as s:
            product = commitments.find_department(s, team_id=TEAM, name="Product")
            commitments.ask(s, team_id=TEAM, actor_id=CAROL, is_admin=False, department=product,
                            what=what, due_date=due, today=TODAY)  # fmt: skip
    with session_scope(engine) as s:
        commitments.decline(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="C-1",
                            reason="Alice's private reason: we are short-staffed")  # fmt: skip
        commitments.accept(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="C-2")
        commitments.accept(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-3")
    with session_scope(engine) as s:
        commitments.complete(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="C-2",
                             note="Alice's done note: shipped at 3am")  # fmt: skip
        commitments.complete(s, team_id=TEAM, actor_id=BOB, is_admin=False, ref="C-3",
                             note="Bob's done note")  # fmt: skip
    with session_scope(engine) as s:
        store_drafts(s, team_id=TEAM, rows=[
            PraiseIn(row_key="k1", praise_date=TODAY, customer="Acme", comment="Very helpful",
                     staff="Alice Liddell", staff_user_id=ALICE),
            PraiseIn(row_key="k2", praise_date=TODAY, customer="Acme", comment="Kind",
                     staff="Bob Builder", staff_user_id=BOB),
        ])  # fmt: skip


ALICES_WORDS = [
    "Alice's behavior note",
    "Alice's private reason",
    "Alice's done note",
    "Alice Liddell",
    ALICE,
    ALICE_EMAIL,
]


def test_forget_scrubs_the_persons_text_and_identity_from_audit_payloads(engine):
    seed(engine)
    before = audit_text(engine)
    assert all(words in before for words in ALICES_WORDS)  # the payloads did hold them
    with session_scope(engine) as s:
        pseudonym = forget_user(s, team_id=TEAM, user_id=ALICE, actor_id=ADMIN)["pseudonym"]

    after = audit_text(engine)
    for words in ALICES_WORDS:
        assert words not in after, words
    # Bob's words, the askers' requests and the product data stay.
    for kept in ("Bob called three customers", "Bob's done note", "Bob Builder",
                 "Fix the export", "Ship dark mode", "Call back detractors"):  # fmt: skip
        assert kept in after, kept
    # The admin's behavior-log note is the admin's, not Alice's (it only names her email).
    assert "Alice's secret plan" in after and f"ask {pseudonym}" in after
    (decline,) = payloads(engine, "commitment.decline")
    assert decline[1]["decline_reason"] == "" and decline[1]["decided_by"] == pseudonym
    done = {p[1]["what"]: p[1] for p in payloads(engine, "commitment.done")}
    assert (
        done["Ship dark mode"]["done_note"] == "" and done["Ship dark mode"]["done_by"] == pseudonym
    )
    assert done["Call the big account"]["done_note"] == "Bob's done note"
    # The same fields in the tables are blanked too.
    with Session(engine) as s:
        drafts = {d.staff_user_id: d.staff for d in s.exec(select(PraiseDraft)).all()}
        assert drafts == {pseudonym: "", BOB: "Bob Builder"}


def test_forget_of_someone_else_leaves_the_persons_words(engine):
    seed(engine)
    with session_scope(engine) as s:
        forget_user(s, team_id=TEAM, user_id=BOB, actor_id=ADMIN)
    after = audit_text(engine)
    assert "Alice's private reason" in after and "Alice's done note" in after
    assert "Bob's done note" not in after and "Bob called three customers" not in after
    assert "Bob Builder" not in after and BOB not in after
