"""Fill in a modal the app opened, the way a person would in Slack: start from what the form
shows (its initial values), change the fields named, and produce the `state.values` Slack sends
with the view_submission. Options are picked by their value or by the text a person reads, and
a choice the form does not offer fails the test instead of being sent."""

from __future__ import annotations

from typing import Any

SELECTS = {"static_select", "external_select"}
MULTI_SELECTS = {"multi_static_select", "multi_external_select"}


def _options(element: dict) -> list[dict]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _text(option: dict) -> str:
    return (option.get("text") or {}).get("text", "")


def pick(element: dict, wanted: str) -> dict:
    """The option of a select or checkbox group whose value or shown text is `wanted` (a
    prefix of the shown text is enough, as typing in Slack's search would find it)."""
    options = _options(element)
    for option in options:
        if option.get("value") == wanted or _text(option) == wanted:
            return option
    matches = [o for o in options if _text(o).startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    shown = [_text(o) for o in options]
    raise AssertionError(f"the form offers no single option {wanted!r}; it shows {shown}")


def _state(element: dict, answer: Any) -> dict:
    kind = element["type"]
    out: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        out["value"] = answer
    elif kind in SELECTS:
        out["selected_option"] = None if answer is None else pick(element, answer)
    elif kind in MULTI_SELECTS or kind in ("checkboxes", "radio_buttons"):
        chosen = [pick(element, a) for a in answer or ()]
        if kind == "radio_buttons":
            out["selected_option"] = chosen[0] if chosen else None
        else:
            out["selected_options"] = chosen
    elif kind == "users_select":
        out["selected_user"] = answer
    elif kind == "multi_users_select":
        out["selected_users"] = list(answer or ())
    elif kind == "conversations_select":
        out["selected_conversation"] = answer
    elif kind == "channels_select":
        out["selected_channel"] = answer
    elif kind == "datepicker":
        out["selected_date"] = answer
    elif kind == "timepicker":
        out["selected_time"] = answer
    else:
        raise AssertionError(f"modal_form does not know how to fill a {kind!r} element")
    return out


def _initial(element: dict) -> Any:
    """What the element shows before anyone touches it, as an answer for `_state`."""
    kind = element["type"]
    if kind in SELECTS or kind == "radio_buttons":
        option = element.get("initial_option")
        chosen = option and option.get("value")
        return chosen if kind in SELECTS else ([chosen] if chosen else [])
    if kind in MULTI_SELECTS or kind == "checkboxes":
        return [o.get("value") for o in element.get("initial_options") or []]
    initial_keys = {
        "users_select": "initial_user",
        "multi_users_select": "initial_users",
        "conversations_select": "initial_conversation",
        "channels_select": "initial_channel",
        "datepicker": "initial_date",
        "timepicker": "initial_time",
    }
    return element.get(initial_keys.get(kind, "initial_value"))


def input_blocks(view: dict) -> dict[str, dict]:
    """The form's input blocks by block id."""
    return {b["block_id"]: b for b in view.get("blocks", []) if b.get("type") == "input"}


def fill(view: dict, answers: dict[str, Any] | None = None) -> dict:
    """`state.values` for submitting `view`: every input keeps what the form shows unless
    `answers` (block id -> value) says otherwise. Naming a block the form lacks fails."""
    answers = dict(answers or {})
    blocks = input_blocks(view)
    unknown = set(answers) - set(blocks)
    assert not unknown, f"the form has no field(s) {sorted(unknown)}; it has {sorted(blocks)}"
    values = {}
    for block_id, block in blocks.items():
        element = block["element"]
        answer = answers[block_id] if block_id in answers else _initial(element)
        values[block_id] = {element.get("action_id", "value"): _state(element, answer)}
    return values
