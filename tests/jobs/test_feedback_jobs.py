"""Customer voice's jobs: the overdue DM exactly once, the scheduler tick's safety net, staff
praise from promoters, recovery kudos drafts, the figures and KPIs (a bound key result takes
them), retention, customer forget and export — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from jobs.data_retention import purge_expired_teams
from jobs.feedback_jobs import run_feedback_jobs, send_overdue_followups
from jobs.posting import Poster
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.export import export_team
from storage.feedback import FeedbackIn, store_feedback
from storage.feedback_figures import COMPANY, open_and_overdue, voice_figures
from storage.followups import close, take
from storage.lifecycle import forget_user
from storage.models import Feedback, Followup, JobRun, KeyResult, KpiValue, PraiseDraft, utcnow
from storage.objectives import KeyResultInput
from tests.cli.test_settings_cli import run_cli
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import TEAM, department, objective
from tests.support.sql_count import counted_statements

NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def client(settings):
    return make_web_client(settings)


def poster(client, engine):
    return Poster(client, engine=engine, per_channel_interval=0.05)


def dms(slack, user):
    return [c for c in slack.calls_to("chat.postMessage") if c["channel"] == user]


def store(engine, *items):
    with session_scope(engine) as s:
        return store_feedback(s, team_id=TEAM, actor_id="test", items=list(items))


def answer(sid, score, *, customer="Ann", hours_ago=0.0, department="Support", staff=None,
           comment="words"):  # fmt: skip
    return FeedbackIn(source="webhook", source_id=sid, customer=customer, score=score,
                      received_at=NOW - timedelta(hours=hours_ago), comment=comment,
                      department=department, staff=staff)  # fmt: skip


@pytest.fixture
def support(engine):
    return department(engine, "Support", heads=(ALICE, BOB), members=(CAROL,))


def test_overdue_dm_once_to_heads_then_owner(engine, slack, client, support):
    store(engine, answer("late", 2, hours_ago=50), answer("owned", 3, hours_ago=49),
          answer("fresh", 1, hours_ago=1))  # fmt: skip
    with session_scope(engine) as s:
        take(s, team_id=TEAM, actor_id=CAROL, is_admin=True, ref="F-2")
    slack.reset()
    for _ in range(2):  # a retried tick sends nothing more
        send_overdue_followups(engine, client, team_id=TEAM, now=NOW, poster=poster(client, engine))
    assert len(dms(slack, ALICE)) == 1 and len(dms(slack, BOB)) == 1
    assert len(dms(slack, CAROL)) == 1  # the owner of F-2, alone
    assert "F-1 is overdue" in dms(slack, ALICE)[0]["text"]
    assert "F-2 is overdue" in dms(slack, CAROL)[0]["text"]
    with Session(engine) as s:
        fus = {f.number: f for f in s.exec(select(Followup))}
        keys = s.exec(select(func.count()).select_from(JobRun)
                      .where(JobRun.job == "followup_overdue")).one()  # fmt: skip
    assert fus[1].overdue_notified_at and fus[2].overdue_notified_at
    assert fus[3].overdue_notified_at is None and keys == 3
    # Even with the flag lost, the run records keep it exactly once.
    with session_scope(engine) as s:
        row = s.get(Followup, fus[1].id)
        row.overdue_notified_at = None
        s.add(row)
    send_overdue_followups(engine, client, team_id=TEAM, now=NOW, poster=poster(client, engine))
    assert len(dms(slack, ALICE)) == 1


def test_tick_announces_leftovers_and_turns_promoters_into_praise(engine, slack, client, support):
    slack.users[CAROL]["profile"]["email"] = "carol@example.com"
    store(engine, answer("d", 4), answer("p", 10, staff="carol@example.com",
                                         comment="Carol sorted it out"))  # fmt: skip
    slack.reset()
    run_feedback_jobs(engine, client, team_id=TEAM, now=NOW)
    run_feedback_jobs(engine, client, team_id=TEAM, now=NOW)
    heads_dms = [c for c in slack.calls_to("chat.postMessage") if "New detractor" in c["text"]]
    assert sorted(c["channel"] for c in heads_dms) == [ALICE, BOB]
    with Session(engine) as s:
        (draft,) = s.exec(select(PraiseDraft)).all()
    assert draft.staff_user_id == CAROL and draft.comment == "Carol sorted it out"
    praise_dms = [c for c in slack.calls_to("chat.postMessage") if "Customer praise" in c["text"]]
    assert {c["channel"] for c in praise_dms} == {ALICE, BOB}  # Carol's heads confirm it
    assert len(praise_dms) == 2


def test_recovery_kudos_draft_reaches_the_closers_head(engine, slack, client, support):
    store(engine, answer("d", 1, customer="Quinn", hours_ago=24 * 20))
    with session_scope(engine) as s:
        close(s, team_id=TEAM, actor_id=CAROL, is_admin=True, ref="F-1", outcome="contacted")
    result = store(engine, answer("p", 9, customer="quinn", comment="Much better now"))
    assert len(result.recovered) == 1
    slack.reset()
    run_feedback_jobs(engine, client, team_id=TEAM, now=NOW)
    praise = [c for c in slack.calls_to("chat.postMessage") if "Customer praise" in c["text"]]
    assert {c["channel"] for c in praise} == {ALICE, BOB}
    assert "turned a detractor into a promoter" in json.dumps(praise[0]["blocks"])


def test_figures_in_constant_statements_and_kpis_feed_a_bound_key_result(
    engine, slack, driver, support
):
    other = department(engine, "Billing", heads=(BOB,), channel="C0BILLING1")
    _, (kr,) = objective(engine, support, krs=[KeyResultInput(
        title="Close the loop", baseline=50, target=90, unit="%")])  # fmt: skip
    driver.command("/okr", f"bind KR-{kr.number} close_the_loop_rate department", user=ALICE)
    assert "close_the_loop_rate" in driver.last_reply_text()
    store(engine, answer("a", 2, hours_ago=60), answer("b", 3, hours_ago=60),
          answer("c", 1, hours_ago=60, department="Billing"), answer("d", 9, hours_ago=60))  # fmt: skip
    with session_scope(engine) as s:
        closed = close(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="F-1",
                       outcome="contacted").followup  # fmt: skip
        # History: F-1's call happened 10 hours after the answer, inside the 48-hour window.
        closed.first_contact_at = closed.received_at + timedelta(hours=10)
        s.add(closed)
    slack.reset()
    driver.command("/feedback", "close F-2 resolved", user=ALICE)  # now: after the window
    driver.replies(1)
    with Session(engine) as s:
        with counted_statements(engine) as statements:
            figs = voice_figures(s, team_id=TEAM, start=(NOW - timedelta(days=14)).date(),
                                 end=(NOW + timedelta(days=1)).date(), now=NOW)  # fmt: skip
        assert len(statements) == 1
        now_open = open_and_overdue(s, team_id=TEAM, now=NOW)
    week = (NOW - timedelta(hours=60)).date()
    week -= timedelta(days=week.weekday())
    sup, comp = figs[(support.id, week)], figs[(COMPANY, week)]
    # F-1 contacted in the window; F-2 closed 60h after receipt (the window is 48h).
    assert (sup.detractors, sup.followed_up_in_window, sup.decided) == (2, 1, 2)
    assert sup.close_the_loop_rate == 50.0 and sup.open == 0
    assert (comp.detractors, comp.overdue) == (3, 1) and figs[(other.id, week)].overdue == 1
    assert now_open[other.id] == (1, 1) and now_open[COMPANY] == (1, 1)
    with Session(engine) as s:
        kpis = {(v.kpi_name, v.scope): (v.value, v.source) for v in s.exec(select(KpiValue))}
        bound = s.get(KeyResult, kr.id)
    assert kpis[("close_the_loop_rate", support.id)] == (50.0, "feedback")
    assert ("hours_to_contact", support.id) in kpis
    assert bound.current_value == 50.0


def test_retention_deletes_old_feedback_keeps_the_counts(engine, settings, support):
    store(engine, answer("old", 2, hours_ago=24 * 800, comment="ancient"), answer("new", 2))
    purge_expired_teams(settings=settings, engine=engine, now=datetime.now(UTC))
    with Session(engine) as s:
        assert [f.source_id for f in s.exec(select(Feedback))] == ["new"]
        assert s.exec(select(func.count()).select_from(Followup)).one() == 2


def test_customer_forget_cli_and_export(db_url, engine, support, tmp_path):
    store(engine, answer("x", 2, customer="Rita Rogers", comment="=HYPERLINK(bad) Rita hated it"))
    with session_scope(engine) as s:
        close(s, team_id=TEAM, actor_id=ALICE, is_admin=False, ref="F-1", outcome="contacted",
              note="Rita Rogers called back")  # fmt: skip
    manifest = export_team(engine, team_id=TEAM, out_dir=tmp_path / "before")
    assert manifest["tables"]["feedback"] == 1 and manifest["tables"]["followup"] == 1
    with (tmp_path / "before" / "feedback.csv").open(encoding="utf-8") as fh:
        assert any("Rita Rogers" in cell for row in csv.reader(fh) for cell in row)
    result = run_cli("customer", "forget", "--team", TEAM, "--customer", "rita rogers",
                     env={"DATABASE_URL": db_url})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 answers erased" in result.stdout
    export_team(engine, team_id=TEAM, out_dir=tmp_path / "after")
    dumped = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "after").glob("*.csv"))
    assert "Rita" not in dumped and "HYPERLINK" not in dumped
    with Session(engine) as s:
        assert s.exec(select(Followup)).one().score == 2  # the count stays
    missing = run_cli("customer", "forget", "--team", TEAM, "--customer", "nobody",
                      env={"DATABASE_URL": db_url})  # fmt: skip
    assert missing.returncode == 1 and "No feedback from `nobody`" in missing.stderr


def test_user_forget_blanks_their_follow_up_notes(engine, support):
    store(engine, answer("x", 2))
    with session_scope(engine) as s:
        close(s, team_id=TEAM, actor_id=CAROL, is_admin=True, ref="F-1", outcome="contacted",
              note="I told them my mobile number")  # fmt: skip
    with session_scope(engine) as s:
        forget_user(s, team_id=TEAM, user_id=CAROL)
    with Session(engine) as s:
        row = s.exec(select(Followup)).one()
    assert not row.note and row.closed_by != CAROL and row.owner_id != CAROL
    assert ADMIN  # the admin list is untouched by forgetting a member
