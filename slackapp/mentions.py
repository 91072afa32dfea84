"""Reading escaped mentions out of slash-command text (manifest: should_escape: true)."""

from __future__ import annotations

import re
from dataclasses import dataclass

USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>")
SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>")
SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")


@dataclass
class Mentions:
    users: list[str]
    channels: list[str]
    groups: list[str]
    specials: list[str]
    rest: str


def split_mentions(text: str) -> Mentions:
    users = list(dict.fromkeys(USER.findall(text or "")))
    channels = list(dict.fromkeys(CHANNEL.findall(text or "")))
    groups = SUBTEAM.findall(text or "")
    specials = SPECIAL.findall(text or "")
    rest = SPECIAL.sub("", SUBTEAM.sub("", CHANNEL.sub("", USER.sub("", text or ""))))
    return Mentions(users, channels, groups, specials, " ".join(rest.split()))
