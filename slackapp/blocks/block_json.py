"""Block Kit objects to the JSON Slack receives, validated as `slack_sdk` validates them.

`JsonObject.to_dict` re-discovers each object's validators at every call (listing and sorting
the instance's attributes, asking each one whether it is a validator) and checks every key
for emptiness through several lookups. On a list reply of fifteen objectives that was a fifth
of the request's CPU. This walks the same objects with each class's validators and attribute
names found once: the same limits are checked (a too-long text raises the same
`SlackObjectFormationError`) and the same dict comes out — tests/slackapp/test_block_json.py
holds it to `to_dict` on every kind of block the app builds. A class with its own `to_dict`
(options, confirm dialogs) is asked for it, as `slack_sdk` does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from slack_sdk.models.basic_objects import EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST, JsonObject

_EMPTY_ALLOWED = frozenset((e["type"], e["property"]) for e in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST)


@cache
def _plain(cls: type) -> tuple[str, ...] | None:
    """The validator names of a class serialised by `JsonObject.to_dict` itself, sorted as it
    calls them; None for a class with its own `to_dict`."""
    if cls.to_dict is not JsonObject.to_dict:
        return None
    # Validators are the methods `slack_sdk` marks with a `validator` attribute.
    names = (n for n in dir(cls) if not n.startswith("__"))
    return tuple(sorted(n for n in names if _is_validator(getattr(cls, n, None))))


_KEYS: dict[type, tuple[str, ...]] = {}


def _is_validator(attribute: Any) -> bool:
    return callable(attribute) and hasattr(attribute, "validator")


def block_json(obj: JsonObject) -> dict:
    """`obj.to_dict()`, validated the same way, for a fraction of the CPU."""
    validators = _plain(type(obj))
    if validators is None:
        return {k: _value(v) for k, v in obj.to_dict().items()}
    for name in validators:
        getattr(obj, name)()
    kind = getattr(obj, "type", None)
    keys = _KEYS.get(type(obj))
    if keys is None:  # a class's attributes are the same for all its objects
        keys = _KEYS[type(obj)] = tuple(sorted(obj.attributes))
    out = {}
    for key in keys:
        value = getattr(obj, key, None)
        if value is None:
            continue
        if not value and hasattr(value, "__len__") and (kind, key) not in _EMPTY_ALLOWED:
            continue
        out[key] = _value(value)
    return out


def _value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, JsonObject):
        return block_json(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return {k: _value(v) for k, v in to_dict().items()}
    return value
