"""Block Kit for the weekly department and leadership digests.

Long digests are split across several messages (each within 50 blocks, each section within
3000 characters) and numbered "part 1/3"; list items are never dropped, only very long single
titles or quotes are cut with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
)

from slackapp.blocks.block_json import block_json
from slackapp.blocks.checkin_form import CheckinAction
from slackapp.blocks.commitments import commitment_line
from slackapp.blocks.common import (
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    as_dicts,
    context,
    cut,
    divider,
    escape,
    header,
    line_sections,
    modal,
    plain,
    progress_bar,
    section,
)
from slackapp.blocks.decisions import decision_lines
from slackapp.blocks.insights import (
    CAUTION,
    away_text,
    behavior_correlation_line,
    mismatch_text,
    net_confidence_text,
    stale_text,
)
from slackapp.blocks.objectives import STATUS_EMOJI
from slackapp.blocks.people import People
from storage.digest_queries import CompanyDigest, DepartmentDigest, DigestData, KrDigest
from storage.feedback_figures import OpenFollowups, OverdueFollowup, VoiceFigures
from storage.kpi_values import LatestValue
from storage.kr_comments import COMMENT_MAX
from storage.numbers import format_number
from storage.progress import AT_RISK, OFF_TRACK, ON_TRACK

TITLE_CUT = 120
NOTE_CUT = 150  # a check-in note under a key result that moved
BLOCKER_CUT = 300
CUSTOMER_CUT, FEEDBACK_CUT = 60, 150  # an overdue follow-up's customer and comment
OVERDUE_FOLLOWUPS_LISTED = 15  # the rest are one `/feedback list overdue` away
# The heads' copy buttons (slackapp/listeners/digest_actions.py answers them).


class DigestAction(StrEnum):
    """The buttons of a head's digest (handled in slackapp.listeners.digest_actions)."""

    NUDGE = "digest_nudge"
    COMMENT = "digest_comment"
    ASK = "digest_blocker_ask"  # Turn into ask


class DigestView(StrEnum):
    COMMENT = "digest_comment_submit"


@dataclass
class Message:
    text: str  # notification / fallback text
    blocks: list[dict]


# Sections that read the same in every department digest that shows them ("no kudos this
# week", the divider), serialized once per process: the messages share those dicts, as the
# channel and head versions of one digest already share their body.
_FIXED: dict[tuple, list[dict]] = {}


def fixed_dicts(key: tuple, build: Callable[[], list[Block]]) -> list[dict]:
    found = _FIXED.get(key)
    if found is None:
        found = _FIXED[key] = as_dicts(build())
    return found


def _fixed_lines(title: str, line: str) -> list[dict]:
    return fixed_dicts((title, line), lambda: line_sections(title, [line]))


def split_messages(blocks: list[Block], text: str) -> list[Message]:
    """One message per 49 blocks, with a "part i/n" context when there is more than one."""
    return split_dicts(as_dicts(blocks), text)


def split_dicts(blocks: list[dict], text: str) -> list[Message]:
    per = MESSAGE_BLOCKS_MAX - 1
    chunks = [blocks[i : i + per] for i in range(0, len(blocks), per)] or [[]]
    if len(chunks) == 1:
        return [Message(text=cut(text, 3000), blocks=chunks[0])]
    total = len(chunks)
    return [
        Message(
            text=cut(f"{text} (part {i}/{total})", 3000),
            blocks=[*chunk, block_json(context(f"Part {i} of {total}"))],
        )
        for i, chunk in enumerate(chunks, 1)
    ]


def _week(data: DigestData) -> str:
    return f"{data.week_start:%b %d} – {data.now:%b %d, %Y}"


def kr_ref(kr) -> str:
    """`*KR-7* Title` (the title escaped and cut), the start of every key result line."""
    return f"*KR-{kr.number}* {escape(cut(kr.title, TITLE_CUT))}"


def _mention(user_id: str) -> str:
    return f"<@{user_id}>"


def kr_line(k: KrDigest, ref: str | None = None, who: Callable[[str], str] = _mention) -> str:
    kr = k.key_result
    if kr.kpi_name:
        where = f"KPI `{escape(kr.kpi_name)}`"
    else:
        where = f"{format_number(kr.current_value, kr.unit)} of {format_number(kr.target, kr.unit)}"
    conf = f" · confidence {kr.last_confidence}/10" if kr.last_confidence else ""
    return (
        f"• {ref or kr_ref(kr)}: {where} "
        f"`{progress_bar(k.progress)}` {k.progress:.0%} {STATUS_EMOJI[k.status]}{conf} · "
        f"{who(kr.owner_id)}"
    )


def kpi_line(c: LatestValue) -> str:
    latest = format_number(c.value, c.unit)
    if c.change is None:
        trend = "no value a week earlier"
    elif c.change == 0:
        trend = "unchanged week over week"
    else:
        arrow = ":arrow_up_small:" if c.change > 0 else ":arrow_down_small:"
        mood = " :white_check_mark:" if c.improved else " :warning:"
        trend = (
            f"{arrow} {c.change:+,.2f}".rstrip("0").rstrip(".")
            + f" since {c.previous_day:%b %d}{mood}"
        )
    return f"• *{escape(c.kpi_name)}*: {latest} ({c.day:%b %d}) — {trend}"


def note_text(note: str) -> str:
    """A check-in note quoted under its key result: escaped, cut to 150 characters."""
    return f"\n      _“{escape(cut(' '.join(note.split()), NOTE_CUT))}”_" if note.strip() else ""


def moved_line(k: KrDigest, ref: str | None = None, who: Callable[[str], str] = _mention) -> str:
    kr = k.key_result
    before = (
        format_number(k.value_week_ago, kr.unit)
        if k.value_week_ago is not None
        else f"baseline {format_number(kr.baseline, kr.unit)}"
    )
    return (
        f"• {ref or kr_ref(kr)}: {before} → "
        f"{format_number(kr.current_value, kr.unit)} ({k.checkins_this_week} check-in"
        f"{'s' if k.checkins_this_week != 1 else ''}) · {who(kr.owner_id)}"
        + note_text(k.latest_note)
    )


def missed_line(k: KrDigest, ref: str | None = None, who: Callable[[str], str] = _mention) -> str:
    kr = k.key_result
    weeks = "2+ weeks :rotating_light:" if k.missed_weeks >= 2 else "1 week"
    return f"• {ref or kr_ref(kr)} · {who(kr.owner_id)} — no check-in for {weeks}"


def blocker_line(k: KrDigest, ref: str | None = None, who: Callable[[str], str] = _mention) -> str:
    kr = k.key_result
    since = f" (since {k.blocker_since:%b %d})" if k.blocker_since else ""
    return (
        f"• {ref or kr_ref(kr)} · {who(kr.owner_id)}{since}\n"
        f"      :construction: {escape(cut(' '.join(k.blocker.split()), BLOCKER_CUT))}"
    )


def behavior_line(b) -> str:
    beh = b.behavior
    mark = ":white_check_mark:" if b.target and b.logged >= b.target else ""
    target = f" / {b.target}" if b.target else ""
    return f"• *B-{beh.number}* {escape(cut(beh.description, TITLE_CUT))}: {b.logged}{target} this week {mark}".rstrip()


def kudos_line(item, who: Callable[[str], str] = _mention) -> str:
    rec = item.recognition
    giver = who(rec.giver_id)  # in reading order: the first reference is the mention
    recipients = ", ".join(who(u) for u in item.recipient_ids) or "someone"
    return f"• {giver} → {recipients}: “{escape(cut(rec.text, 200))}”"


def missed_count_text(d: DepartmentDigest) -> str:
    n = len(d.missed)
    escalated = len(d.escalated)
    text = f"{n} key result{'s' if n != 1 else ''} missed {'their' if n != 1 else 'its'} check-in"
    if escalated:
        text += f", {escalated} of them two weeks in a row"
    return f"_{text}._ Department heads see who in their copy."


def department_digests(
    d: DepartmentDigest, data: DigestData
) -> tuple[list[Message], list[Message]]:
    """The channel version and the heads' version of one department's digest.

    Both share one body (objectives, what moved, KPIs, stale, behaviors, kudos, commitments),
    built and serialized once. The channel copy then lists the blockers and counts the missed
    check-ins; the heads' copy opens with a one-line summary of what needs them and ends with
    the two-missed-weeks escalation, Nudge / Comment on at-risk and off-track key results, the
    blockers with Turn into ask, who missed check-ins, confidence mismatches and who is away.
    The body's mentions carry on into each tail, so each copy mentions a person once.
    """
    who = People(data.user_names)
    name = d.department.name
    summary = (
        f"{data.quarter} · {_week(data)} · {len(d.objectives)} objective"
        f"{'s' if len(d.objectives) != 1 else ''} · {d.progress:.0%} average progress · "
        f"{net_confidence_text(d.net_confidence)}"
    )
    top = as_dicts([header(f"Weekly digest: {name}"), context(summary)])
    # Every key result's `*KR-n* Title` once, for all the lines that name it.
    refs = {id(k): kr_ref(k.key_result) for k in d.key_results}
    shared = _shared_body(d, data, refs, who)

    channel_who = who.copy()
    channel_tail = blocked_blocks(d, refs, channel_who, buttons=False)
    if d.missed:
        channel_tail += line_sections("Missed check-ins", [missed_count_text(d)])
    channel = top + shared + as_dicts(channel_tail)
    if not d.missed:
        channel += _fixed_lines("Missed check-ins", "_Everyone checked in this week._ :tada:")

    heads_top = as_dicts([header(f"Weekly digest: {name}"), context(summary)])
    needs = heads_summary(d)
    if needs:
        heads_top.append(block_json(section(needs)))
    heads = heads_top + shared + as_dicts(_heads_tail(d, refs, who.copy(), data.now))
    if not d.missed:
        heads += _fixed_lines("Missed check-ins", "_Everyone checked in this week._ :tada:")
    text = f"Weekly digest for {name}"
    return split_dicts(channel, text), split_dicts(heads, text)


def _shared_body(d: DepartmentDigest, data: DigestData, refs: dict, who: People) -> list[dict]:
    """What both copies of a department's digest show, serialized once: objectives, what moved,
    KPIs, customer voice, stale key results, behaviors, kudos and commitments."""
    body: list[Block] = []
    if not d.objectives:
        body.append(
            section(f"No active objectives for {data.quarter}. A head can add one with `/okr new`.")
        )
    for o in d.objectives:
        obj = o.objective
        lines = [
            f"*O-{obj.number}* {escape(cut(obj.title, TITLE_CUT))}\n"
            f"`{progress_bar(o.progress)}` {o.progress:.0%} {STATUS_EMOJI[o.status]} {o.status}"
            f" · owner {who(obj.owner_id)}"
        ]
        lines += [kr_line(k, refs[id(k)], who) for k in o.key_results] or ["• _no key results_"]
        body += line_sections(None, lines)
    shared = as_dicts(body)
    shared += fixed_dicts(("divider",), lambda: [divider()])
    if d.moved:
        shared += as_dicts(
            line_sections(
                "What moved this week", [moved_line(k, refs[id(k)], who) for k in d.moved]
            )
        )
    else:
        shared += _fixed_lines("What moved this week", "_No key result moved this week._")
    body = []
    if d.kpis:
        body += line_sections("KPI changes", [kpi_line(c) for c in d.kpis])
    if d.has_voice:
        body += line_sections("Customer voice this week", voice_lines(d.voice, d.followups))
    if d.stale:
        body += line_sections(
            f"Stale key results (no check-in for {data.team.stale_days}+ days)",
            [flag_line(k, stale_text(k.insight), refs[id(k)], who) for k in d.stale],
        )
    if d.behaviors:
        body += line_sections("Behaviors logged vs target", [behavior_line(b) for b in d.behaviors])
    if d.kudos:
        body += line_sections("Kudos", [kudos_line(k, who) for k in d.kudos])
    shared += as_dicts(body)
    if not d.kudos:
        shared += _fixed_lines("Kudos", "_No kudos this week._")
    shared += as_dicts(commitment_sections(d, data, who))
    return shared


def heads_summary(d: DepartmentDigest) -> str:
    """The heads' first line: what below needs them (no mentions: those come with the lines)."""
    parts = []
    if d.escalated:
        parts.append(f"{len(d.escalated)} two weeks without a check-in")
    if d.attention:
        parts.append(f"{len(d.attention)} at risk or off track (Nudge · Comment)")
    if d.blocked:
        parts.append(f"{len(d.blocked)} blocked (Turn into ask)")
    if d.missed:
        parts.append(f"{len(d.missed)} missed check-in{'s' if len(d.missed) != 1 else ''}")
    late = len(d.followups.overdue) if d.followups else 0
    if late:
        parts.append(f"{late} overdue follow-up{'s' if late != 1 else ''}")
    return ":point_down: *Needs you, below:* " + " · ".join(parts) if parts else ""


def _heads_tail(d: DepartmentDigest, refs: dict, who: People, now: datetime) -> list[Block]:
    out: list[Block] = []
    if d.escalated:
        out += line_sections(
            ":rotating_light: Two weeks in a row without a check-in",
            [missed_line(k, refs[id(k)], who) for k in d.escalated],
        )
    if d.attention:
        out.append(section("*Needs you: at risk or off track*"))
        for k in d.attention:
            kr = k.key_result
            out.append(section(cut(kr_line(k, refs[id(k)], who), SECTION_TEXT_MAX)))
            out.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Nudge", action_id=DigestAction.NUDGE, value=f"KR-{kr.number}"
                        ),
                        ButtonElement(
                            text="Comment…", action_id=DigestAction.COMMENT, value=f"KR-{kr.number}"
                        ),
                    ]
                )
            )
    out += blocked_blocks(d, refs, who, buttons=True)
    if d.followups and d.followups.overdue:
        out += line_sections(
            ":telephone_receiver: Overdue follow-ups",
            overdue_followup_lines(d.followups, now),
        )
    if d.missed:
        out += line_sections(
            "Missed check-ins", [missed_line(k, refs[id(k)], who) for k in d.missed]
        )
    if d.mismatched:
        out += line_sections(
            ":thinking_face: Confidence that disagrees with the data",
            [
                flag_line(
                    k,
                    mismatch_text(k.insight.mismatch, k.key_result.last_confidence),
                    refs[id(k)],
                    who,
                )
                for k in d.mismatched
            ],
        )
    if d.away:
        out += line_sections(
            "Away",
            [f"• {who(user)} {away_text(until)}" for user, until in sorted(d.away.items())],
        )
    return out


def blocked_blocks(
    d: DepartmentDigest, refs: dict, who: Callable[[str], str], *, buttons: bool
) -> list[Block]:
    """Open blockers; in the heads' copy each has Turn into ask (a commitment in two clicks)."""
    if not d.blocked:
        return []
    if not buttons:
        return line_sections(
            ":construction: Blocked", [blocker_line(k, refs[id(k)], who) for k in d.blocked]
        )
    out: list[Block] = [section("*:construction: Blocked*")]
    for k in d.blocked:
        out.append(
            section(
                blocker_line(k, refs[id(k)], who),
                accessory=ButtonElement(
                    text="Turn into ask",
                    action_id=DigestAction.ASK,
                    value=f"KR-{k.key_result.number}|{k.blocker_checkin_id}",
                ),
            )
        )
    return out


def flag_line(
    k: KrDigest, flag: str, ref: str | None = None, who: Callable[[str], str] = _mention
) -> str:
    kr = k.key_result
    return f"• {ref or kr_ref(kr)} · {who(kr.owner_id)} — {flag}"


def department_line(d: DepartmentDigest) -> str:
    name = escape(d.department.name)
    if not d.objectives:
        return f"• *{name}* — no active objectives"
    parts = [
        f"{len(d.objectives)} objective{'s' if len(d.objectives) != 1 else ''}",
        f"{d.progress:.0%}",
        f"{d.count(ON_TRACK)} on track",
    ]
    if d.count(AT_RISK):
        parts.append(f"{d.count(AT_RISK)} at risk")
    if d.count(OFF_TRACK):
        parts.append(f"{d.count(OFF_TRACK)} off track")
    if d.missed:
        parts.append(f"{len(d.missed)} missed check-in{'s' if len(d.missed) != 1 else ''}")
    if d.kudos:
        parts.append(f"{len(d.kudos)} kudos")
    parts.append(net_confidence_text(d.net_confidence))
    if d.mismatched:
        parts.append(
            f"{len(d.mismatched)} confidence mismatch{'es' if len(d.mismatched) != 1 else ''}"
        )
    if d.stale:
        parts.append(f"{len(d.stale)} stale")
    return f"• *{name}* — " + " · ".join(parts)


def leadership_digest(data: DigestData) -> list[Message]:
    blocks: list[Block] = [
        header("Leadership digest: customer loyalty"),
        context(f"{data.quarter} · {_week(data)} · {len(data.departments)} departments"),
    ]
    who = People(data.user_names)
    if data.decisions:
        reviewed, decisions, started = data.decisions
        blocks += line_sections(
            f"Decisions from the {reviewed} review",
            decision_lines(decisions, data.department_names, started, who),
        )
    blocks += company_sections(data)
    blocks += line_sections(
        "Departments",
        [department_line(d) for d in data.departments] or ["_No departments yet._"],
    )
    voice = [customer_voice_line(d) for d in data.departments if d.has_voice]
    if voice:
        blocks += line_sections("Customer voice by department (this week)", voice)
    blocks += line_sections(
        "Company KPIs, week over week",
        [kpi_line(c) for c in data.company_kpis] or ["_No company-wide KPI values yet._"],
    )
    at_risk = [
        f"• {STATUS_EMOJI[o.status]} *O-{o.objective.number}* {escape(cut(o.objective.title, TITLE_CUT))}"
        f" ({escape(dept.name)}) — {o.progress:.0%}, {o.status}"
        for dept, o in data.at_risk
    ]
    blocks += line_sections("At risk", at_risk or ["_Nothing is at risk._ :tada:"])
    if data.correlations:
        blocks += line_sections(
            "Behaviors against KPIs this quarter (past year, weekly)",
            [behavior_correlation_line(c) for c in data.correlations],
        )
        blocks.append(context(CAUTION))
    if data.blocked:
        blocks += line_sections(
            ":construction: Blocked",
            [f"{blocker_line(k, None, who)} · {escape(dept.name)}" for dept, k in data.blocked],
        )
    blocks += overdue_by_department_sections(data, who)
    return split_messages(blocks, "Leadership digest")


# ---- Alignment and commitments --------------------------------------------------------------


def company_line(c: CompanyDigest, data: DigestData) -> str:
    tree, names = data.tree, data.department_names
    node = tree.nodes[c.overview.id]
    st = tree.status(node.id, data.now)
    change = round(c.change * 100)
    moved = f"{change:+d} pts this week" if change else "unchanged this week"
    line = (
        f"• *O-{node.number}* {escape(cut(node.title, TITLE_CUT))} "
        f"`{progress_bar(c.overview.progress)}` {c.overview.progress:.0%} "
        f"{STATUS_EMOJI[st]} {st} · {moved}"
    )
    lag = c.overview.laggard
    if lag is not None:
        lagging = tree.nodes[lag]
        where = escape(names.get(lagging.department_id, "Company-wide"))
        line += (
            f"\n      lags most: *O-{lagging.number}* {escape(cut(lagging.title, 80))} ({where}) "
            f"{tree.progress(lag):.0%}"
        )
    else:
        line += "\n      _nothing contributes to it yet (`/okr align`)_"
    return line


def company_sections(data: DigestData) -> list[Block]:
    """The leadership digest opens with the company objectives."""
    if not data.company:
        return []
    return line_sections("Company objectives", [company_line(c, data) for c in data.company])


def commitment_sections(
    d: DepartmentDigest, data: DigestData, who: Callable[[str], str] = _mention
) -> list[Block]:
    """Overdue commitments in a department's digest: what it owes, what is owed to it."""
    names, today = data.department_names, data.now.date()
    out: list[Block] = []
    for title, commitments in (
        (":rotating_light: You owe (overdue)", d.owes),
        ("Owed to you (overdue)", d.owed),
    ):
        if commitments:
            lines = [f"• {commitment_line(c, names, today, who)}" for c in commitments]
            out += line_sections(title, lines)
    return out


def overdue_by_department_sections(
    data: DigestData, who: Callable[[str], str] = _mention
) -> list[Block]:
    """Per owing department, its overdue commitments (leadership digest)."""
    if not data.overdue:
        return []
    by_dept: dict[int, list] = {}
    for c in data.overdue:
        by_dept.setdefault(c.department_id, []).append(c)
    names, today = data.department_names, data.now.date()
    lines = []
    for dept_id, rows in sorted(by_dept.items(), key=lambda p: names.get(p[0], "").casefold()):
        lines.append(f"*{escape(names.get(dept_id, '?'))}* — {len(rows)} overdue")
        lines += [f"• {commitment_line(c, names, today, who)}" for c in rows]
    return line_sections("Overdue commitments by department", lines)


# ---- Customer voice ------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def voice_parts(voice: VoiceFigures | None, followups: OpenFollowups | None) -> list[str]:
    """The figures, no names and no customer text: they go to channels and leadership."""
    detractors = voice.detractors if voice else 0
    parts = [f"{_plural(detractors, 'detractor')} received"]
    rate = voice.close_the_loop_rate if voice else None
    if rate is not None:
        parts.append(
            f"close-the-loop {rate:.0f}% ({voice.followed_up_in_window} of {voice.decided} "
            "followed up in time)"
        )
    elif detractors:
        parts.append("close-the-loop not known yet (still within the window)")
    if voice and voice.median_hours_to_contact is not None:
        parts.append(f"median {voice.median_hours_to_contact:.1f} h to first contact")
    still_open = followups.open if followups else 0
    late = len(followups.overdue) if followups else 0
    parts.append(f"{still_open} open")
    parts.append(f"{late} overdue" + (" :warning:" if late else ""))
    parts.append(f"{voice.recovered if voice else 0} recovered")
    return parts


def voice_lines(voice: VoiceFigures | None, followups: OpenFollowups | None) -> list[str]:
    return [" · ".join(voice_parts(voice, followups))]


def overdue_followup_line(f: OverdueFollowup, now: datetime) -> str:
    """`F-n`, its score, customer and comment: customer text escaped and cut, never a ping."""
    late = (now if now.tzinfo else now.replace(tzinfo=UTC)) - f.due_at
    hours = max(1, int(late.total_seconds() // 3600))
    late_text = f"{hours} h overdue" if hours < 48 else f"{late.days} days overdue"
    customer = escape(cut(" ".join(f.customer.split()), CUSTOMER_CUT)) or "_customer erased_"
    comment = " ".join(f.comment.split())
    said = f" — “{escape(cut(comment, FEEDBACK_CUT))}”" if comment else ""
    return f"• *F-{f.number}* {f.score}/10 · {customer}{said} · {late_text}"


def overdue_followup_lines(followups: OpenFollowups, now: datetime) -> list[str]:
    shown = followups.overdue[:OVERDUE_FOLLOWUPS_LISTED]
    lines = [overdue_followup_line(f, now) for f in shown]
    more = len(followups.overdue) - len(shown)
    if more:
        lines.append(f"_and {more} more: `/feedback list overdue`_")
    return lines


def customer_voice_line(d: DepartmentDigest) -> str:
    """Leadership: a department's NPS (its newest value) next to its follow-up figures."""
    nps = next((c for c in d.kpis if c.kpi_name.casefold() == "nps"), None)
    parts = [f"NPS {format_number(nps.value, nps.unit)}"] if nps else []
    parts += voice_parts(d.voice, d.followups)
    return f"• *{escape(d.department.name)}* — " + " · ".join(parts)


# ---- what the digest's buttons open or send --------------------------------------------------

COMMENT_BLOCK = "comment"


def nudge_dm(kr, head_id: str) -> list:
    return [
        section(
            f":wave: <@{head_id}> asks for an update on *KR-{kr.number}* "
            f"{escape(cut(kr.title, 150))}. Check in with its current value, your confidence and "
            "what you are blocked on, if anything."
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Check in",
                    action_id=CheckinAction.OPEN,
                    value=str(kr.number),
                    style="primary",
                )
            ]
        ),
    ]


def comment_modal(kr) -> object:
    return modal(
        f"Comment on KR-{kr.number}",
        [
            section(f"*KR-{kr.number}* {escape(cut(kr.title, 200))} · owner <@{kr.owner_id}>"),
            InputBlock(
                block_id=COMMENT_BLOCK,
                label=plain("Comment"),
                hint=plain(
                    "Kept on the key result (shown in /okr show) and sent to its owner.", 2000
                ),
                element=PlainTextInputElement(
                    action_id="value", multiline=True, max_length=COMMENT_MAX
                ),
            ),
        ],
        callback_id=DigestView.COMMENT,
        submit="Comment",
        private_metadata=f"KR-{kr.number}",
    )
