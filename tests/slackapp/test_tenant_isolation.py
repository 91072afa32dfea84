"""Two teams in one database: everything run for team A — commands, actions, view submissions,
events, jobs, export — shows nothing of team B and changes nothing of it, including forged
team/user ids and refs in private_metadata, action values and modal state. What the app posts
(replies to response_url, messages, views) is searched for team B's markers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.posting import Poster
from slackapp.web_client import make_web_client
from storage.db import session_scope
from storage.export import export_team
from storage.lifecycle import team_tables_for_purge
from storage.models import KpiValue, PraiseDraft, Recognition, RecognitionRecipient, utcnow
from storage.teams import update_settings
from tests.conftest import ADMIN, ALICE, BOB, CAROL
from tests.support.factories import department, objective
from tests.support.slack_driver import SlackDriver, state

TEAM_A, TEAM_B = "T0TEAMA01", "T0TEAMB02"
SECRET = "BETASECRET"  # in every free-text field of team B
B_KPI = -77.25  # team B's only KPI value


def seed_team_b(engine) -> dict:
    from storage.objectives import KeyResultInput

    dept = department(
        engine,
        f"{SECRET} Ops",
        team_id=TEAM_B,
        heads=(ALICE,),
        members=(BOB,),
        channel="C0BETA0001",
    )
    refs = {}
    # More objectives than team A, so B's numbers (O-2, O-3, KR-3…) do not exist in A.
    for n in range(3):
        obj, krs = objective(
            engine,
            dept,
            team_id=TEAM_B,
            owner=ALICE,
            title=f"{SECRET} objective {n}",
            krs=[KeyResultInput(title=f"{SECRET} kr {n}", baseline=1, target=9, unit="pts")],
        )
        refs[f"O-{obj.number}"], refs[f"KR-{krs[0].number}"] = obj, krs[0]
    with session_scope(engine) as s:
        update_settings(
            s,
            team_id=TEAM_B,
            actor_id=ADMIN,
            values={"leadership_channel": "C0BETALEAD", "recognition_channel": "C0BETAKUDO"},
        )
        for weeks in (1, 0):
            s.add(
                KpiValue(
                    team_id=TEAM_B,
                    kpi_name="nps",
                    scope=0,
                    day=(utcnow() - timedelta(weeks=weeks)).date(),
                    value=B_KPI,
                )
            )
        rec = Recognition(team_id=TEAM_B, giver_id=BOB, text=f"{SECRET} praise for Alice")
        s.add(rec)
        s.flush()
        s.add(RecognitionRecipient(team_id=TEAM_B, recognition_id=rec.id, user_id=ALICE))
        draft = PraiseDraft(
            team_id=TEAM_B, row_key="beta-row-1", comment=f"{SECRET} customer loved it",
            staff="alice@example.com", staff_user_id=ALICE, department_id=dept.id,
        )  # fmt: skip
        s.add(draft)
        s.flush()
        ids = {"recognition_id": rec.id, "draft_id": draft.id}
    return {"dept": dept, **refs, **ids}


def seed_team_a(engine):
    dept = department(engine, "Support", team_id=TEAM_A, heads=(ALICE,), members=(BOB,))
    obj, (kr,) = objective(engine, dept, team_id=TEAM_A, owner=ALICE, title="Alpha objective")
    with session_scope(engine) as s:
        update_settings(
            s,
            team_id=TEAM_A,
            actor_id=ADMIN,
            values={"leadership_channel": "C0ALPHALEAD", "recognition_channel": "C0ALPHAKUD"},
        )
        for weeks in (1, 0):
            s.add(
                KpiValue(
                    team_id=TEAM_A,
                    kpi_name="nps",
                    scope=0,
                    day=(utcnow() - timedelta(weeks=weeks)).date(),
                    value=41.0,
                )
            )
    return dept, obj, kr


def snapshot(engine, team_id: str) -> list[str]:
    """Every row of the team, for 'nothing changed' comparisons."""
    rows = []
    with engine.connect() as conn:
        for table in team_tables_for_purge():
            if table.name == "processedevent":
                continue
            for row in conn.execute(select(table).where(table.c.team_id == team_id)):
                rows.append(f"{table.name}: {tuple(row)}")
    return sorted(rows)


def leaks(slack, typed: str = "", typed_by_reply: dict[str, str] | None = None) -> list[str]:
    """Anything team B's that reached Slack while team A was being served. Text the user typed
    may be quoted back (an error reply quotes the input); it is not a leak. A reply is judged
    against the text of the command it answers (`typed_by_reply`, by response_url name), since a
    slow reply to an earlier command may arrive while a later one is served."""
    out = []
    for call in slack.calls:
        said = typed
        if typed_by_reply and call.method == "response_url":
            said = typed_by_reply.get(call.args.get("_name"), typed)
        markers = [
            f"{SECRET} objective",
            f"{SECRET} kr",
            f"{SECRET} praise",
            TEAM_B,
            "C0BETA",
            "-77.2",
        ]
        if SECRET not in said:
            markers.append(SECRET)
        text = json.dumps(call.args, ensure_ascii=False)
        out += [f"{call.method}: {m}: {text[:300]}" for m in markers if m in text]
    return out


@pytest.fixture
def two_teams(engine):
    b = seed_team_b(engine)
    a = seed_team_a(engine)
    return a, b


def test_commands_for_team_a_show_nothing_of_team_b(driver, slack, engine, two_teams):
    (_, obj_a, kr_a), b = two_teams
    before_b = snapshot(engine, TEAM_B)
    commands = [
        ("/okr", "help"),
        ("/okr", "list all"),
        ("/okr", "list me"),
        ("/okr", f"list {SECRET} Ops"),
        ("/okr", "show O-1"),
        ("/okr", "show O-3"),
        ("/okr", "dept list"),
        ("/okr", "close O-3 0.5"),
        ("/okr", f"dept add <@U0CAROL01> to {SECRET} Ops"),
        ("/okr", "bind KR-3 nps"),
        ("/okr", "unbind KR-3"),
        ("/checkin", "KR-3 5 7/10 forged ref"),
        ("/checkin", f"KR-{kr_a.number} 35 7/10 mine"),
        ("/kpi", ""),
        ("/kpi", "nps"),
        ("/behavior", "list"),
        ("/behavior", "log B-1 2"),
        ("/behavior", f"add {SECRET} Ops x"),
        ("/kudos", "<@U0BOB0001> saved the account"),
    ]
    typed_by_reply: dict[str, str] = {}
    for command, text in commands:
        for user in (ALICE, BOB, ADMIN):
            slack.reset()
            name = f"reply{len(typed_by_reply)}"
            typed_by_reply[name] = text
            resp = driver.command(command, text, user=user, response_name=name)
            assert resp.status == 200
            driver.last_reply_text() if command != "/kpi" or text else None
            assert leaks(slack, typed=text, typed_by_reply=typed_by_reply) == [], (
                command,
                text,
                user,
            )
    # The only writes were team A's own; team B is byte-for-byte unchanged.
    assert snapshot(engine, TEAM_B) == before_b


def test_modals_and_forged_metadata_stay_in_team_a(driver, slack, engine, two_teams):
    (dept_a, _, kr_a), b = two_teams
    before_b = snapshot(engine, TEAM_B)
    # Opening modals lists only team A's things.
    for command in (("/checkin", ""), ("/okr", "new"), ("/okr", "setup"), ("/behavior", "")):
        slack.reset()
        driver.command(*command, user=ALICE)
        slack.wait_for("views.open")
        assert leaks(slack) == [], command
    # Forged refs and ids in modal state: team B's KR number, department id, user ids.
    slack.reset()
    resp = driver.view_submission(
        "checkin_submit",
        state(kr=("option", "3"), value="8", confidence=("option", "9"), note="forged"),
        user=ALICE,
    )
    assert json.loads(resp.body)["response_action"] == "errors"
    resp = driver.view_submission(
        "okr_new_objective",
        state(
            department=("option", str(b["dept"].id)),
            title="Forged into B",
            quarter=("option", b["O-1"].quarter),
            owner=("user", ALICE),
            due_date=("date", b["O-1"].due_date.isoformat()),
            kr0_title="x",
            kr0_unit="pts",
            kr0_baseline="1",
            kr0_target="2",
        ),
        user=ALICE,
        private_metadata=json.dumps({"team_id": TEAM_B, "user_id": ADMIN}),
    )
    assert resp.status == 200 and json.loads(resp.body)["response_action"] == "errors"
    # private_metadata claiming team B / another user on kudos and review forms.
    driver.view_submission(
        "kudos_submit",
        state(recipients=("users", [BOB]), praise="thanks for the save"),
        user=CAROL,
        private_metadata=json.dumps({"team_id": TEAM_B, "user_id": ADMIN, "source": "command"}),
    )
    resp = driver.view_submission(
        "review_submit",
        {"score_1": {"value": {"type": "plain_text_input", "value": "0.9"}}},
        user=ALICE,
        private_metadata=json.dumps(
            {"quarter": b["O-1"].quarter, "department_id": b["dept"].id, "team_id": TEAM_B}
        ),
    )
    assert resp.status == 200
    assert leaks(slack) == []
    assert snapshot(engine, TEAM_B) == before_b
    # A kudos recorded from the forged form belongs to team A and to the real giver.
    with session_scope(engine) as s:
        recs = s.exec(select(Recognition).where(Recognition.text == "thanks for the save")).all()
        for (rec,) in recs:
            assert rec.team_id == TEAM_A and rec.giver_id == CAROL


def test_actions_with_forged_values_stay_in_team_a(driver, slack, engine, two_teams):
    (_, _, kr_a), b = two_teams
    before_b = snapshot(engine, TEAM_B)
    forged_values = [
        ("checkin_open", "3"),
        ("checkin_open", json.dumps({"team_id": TEAM_B, "kr": 3})),
        ("okr_list_next", "all|2"),
        ("okr_list_next", f"{SECRET} Ops|1"),
        ("okr_list_prev", json.dumps({"team_id": TEAM_B})),
        ("home_new_objective", TEAM_B),
        # Features added alongside: ids of team B's rows in button values.
        ("praise_draft_confirm", str(b["draft_id"])),
        ("praise_draft_dismiss", str(b["draft_id"])),
        ("kudos_read_all", str(b["recognition_id"])),
        ("review_start", f"{b['O-1'].quarter}|{b['dept'].id}"),
        ("reminder_snooze", "2026-W01"),
        ("leaderboard_privacy_toggle", TEAM_B),
    ]
    for action_id, value in forged_values:
        slack.reset()
        resp = driver.block_action(action_id, value, user=ALICE, channel="C0GENERAL")
        assert resp.status in (200, 404), action_id
        driver.app.listener_runner.listener_executor.submit(lambda: None).result(timeout=10)
        assert leaks(slack) == [], (action_id, value)
    assert snapshot(engine, TEAM_B) == before_b


def test_events_for_team_a_show_nothing_of_team_b(driver, slack, engine, two_teams):
    before_b = snapshot(engine, TEAM_B)
    for user in (ALICE, BOB, ADMIN):
        slack.reset()
        driver.home_opened(user)
        home = slack.wait_for("views.publish")[0]
        assert home["user_id"] == user
        assert leaks(slack) == []
    slack.reset()
    driver.event(
        {
            "type": "reaction_added",
            "user": ALICE,
            "reaction": "star",
            "item": {"type": "message", "channel": "C0BETA0001", "ts": "1.000001"},
            "item_user": BOB,
        }
    )
    driver.app.listener_runner.listener_executor.submit(lambda: None).result(timeout=10)
    assert leaks(slack) == []
    assert snapshot(engine, TEAM_B) == before_b


def test_jobs_for_team_a_post_nothing_of_team_b(settings, slack, engine, two_teams):
    from jobs.checkin_reminders import send_due_reminders
    from jobs.quarterly_review import start_and_prompt
    from jobs.weekly_digest import send_weekly_digest

    before_b = snapshot(engine, TEAM_B)
    client = make_web_client(settings)
    poster = Poster(client, engine=engine, per_channel_interval=0.01)
    now = utcnow()
    (_, obj_a, _), _ = two_teams
    send_weekly_digest(engine, client, team_id=TEAM_A, now=now, period="iso-test", poster=poster)
    send_due_reminders(engine, client, team_id=TEAM_A, now=now + timedelta(days=8), poster=poster)
    start_and_prompt(engine, client, team_id=TEAM_A, quarter=obj_a.quarter, now=now, poster=poster)
    posted = [
        c for c in slack.calls if c.method in ("chat.postMessage", "files.completeUploadExternal")
    ]
    assert posted, "the jobs posted nothing for team A"
    assert leaks(slack) == []
    assert snapshot(engine, TEAM_B) == before_b


def test_export_of_team_a_holds_nothing_of_team_b(engine, tmp_path, two_teams):
    out = tmp_path / "export"
    export_team(engine, team_id=TEAM_A, out_dir=out)
    text = "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert SECRET not in text and TEAM_B not in text and "Alpha objective" in text


def test_other_team_driver_sees_only_its_own(app, slack, engine, two_teams):
    # The mirror image: team B's users see B's objectives and none of A's.
    b_driver = SlackDriver(app.bolt, slack, team_id=TEAM_B)
    b_driver.command("/okr", "list all", user=ALICE)
    text = b_driver.last_reply_text()
    assert SECRET in text and "Alpha objective" not in text
