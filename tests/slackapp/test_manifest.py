"""manifest.yml declares exactly what the code registers: commands, shortcuts, events, scopes."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def _constraints(app):
    found = {"command": set(), "event": set(), "shortcut": set()}
    for listener in app.bolt._listeners:
        for matcher in listener.matchers:
            func = getattr(matcher, "func", None)
            for cell in getattr(func, "__closure__", None) or ():
                value = cell.cell_contents
                name = getattr(func, "__qualname__", "")
                if isinstance(value, str) and "command" in name:
                    found["command"].add(value)
                elif isinstance(value, dict) and "event" in name and "type" in value:
                    found["event"].add(value["type"])
                elif isinstance(value, str) and "event" in name:
                    found["event"].add(value)
                elif isinstance(value, dict) and "shortcut" in name and "callback_id" in value:
                    found["shortcut"].add(value["callback_id"])
                elif isinstance(value, str) and "shortcut" in name:
                    found["shortcut"].add(value)
    return found


def test_commands_events_and_shortcuts_match_manifest(app):
    m = manifest()
    declared_commands = {c["command"] for c in m["features"].get("slash_commands", [])}
    declared_shortcuts = {s["callback_id"] for s in m["features"].get("shortcuts", [])}
    declared_events = set(m["settings"]["event_subscriptions"]["bot_events"])
    found = _constraints(app)
    assert found["command"] == declared_commands
    assert found["shortcut"] == declared_shortcuts
    # app_uninstalled/tokens_revoked are delivered to every app; others need declaring.
    assert found["event"] - {"app_uninstalled", "tokens_revoked"} == declared_events
    assert all(c.get("should_escape") is True for c in m["features"]["slash_commands"])


def test_manifest_has_home_interactivity_and_least_scopes(app):
    m = manifest()
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    # Every scope is justified by a feature; nothing broad like channels:read or admin.
    assert {"commands", "chat:write", "users:read", "im:write"} <= scopes
    assert not scopes & {"admin", "channels:manage", "chat:write.customize", "users:write"}
