"""The app manifest declares exactly what the app handles (spec §10): every command, shortcut and
event it declares is answered by the real app, every one the app registers is declared, every
variant (Socket Mode, HTTP, HTTP + OAuth) subscribes to every handled event, and manifest.yml is
the Socket Mode output of `loyalty manifest`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slackapp import manifest as app_manifest
from slackapp.listeners import register_listeners
from slackapp.oauth import bot_scopes
from tests.conftest import ADMIN, ALICE
from tests.support.slack_driver import SIGNING_SECRET, subscribed_events

ROOT = Path(__file__).resolve().parents[2]
HOST = "https://okrs.example.com"
VARIANTS = [(None, False), (HOST, False), (HOST, True)]

# A realistic body for each event the manifest subscribes to (add one with each new event).
EVENT_BODIES = {
    "app_home_opened": {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE01"},
    "reaction_added": {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "thumbsup",
        "item_user": "U0BOB0001",
        "item": {"type": "message", "channel": "C0RANDOM01", "ts": "1.000001"},
    },
    "app_uninstalled": {"type": "app_uninstalled"},
    "tokens_revoked": {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0OTHER01"]}},
}


def yml() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def test_manifest_yml_is_the_socket_mode_output():
    assert (ROOT / "manifest.yml").read_text(encoding="utf-8") == app_manifest.render()
    assert yml() == app_manifest.build()
    assert yml()["settings"]["socket_mode_enabled"] is True


@pytest.mark.parametrize(("url", "oauth"), VARIANTS, ids=["socket", "http", "http-oauth"])
def test_every_variant_declares_the_same_surface(url, oauth):
    m = yaml.safe_load(app_manifest.render(url, oauth=oauth))
    base = yml()
    assert (
        m["settings"]["event_subscriptions"]["bot_events"]
        == (base["settings"]["event_subscriptions"]["bot_events"])
    )
    assert {"app_uninstalled", "tokens_revoked"} <= set(
        m["settings"]["event_subscriptions"]["bot_events"]
    )
    assert [c["command"] for c in m["features"]["slash_commands"]] == [
        c["command"] for c in base["features"]["slash_commands"]
    ]
    assert m["features"]["shortcuts"] == base["features"]["shortcuts"]
    assert m["oauth_config"]["scopes"]["bot"] == bot_scopes()  # the install asks for these
    assert all(c["should_escape"] is True for c in m["features"]["slash_commands"])
    if url is None:
        assert m["settings"]["socket_mode_enabled"] is True
        assert "request_url" not in m["settings"]["interactivity"]
        assert "redirect_urls" not in m["oauth_config"]
        return
    events = f"{HOST}/slack/events"
    assert m["settings"]["socket_mode_enabled"] is False
    assert {c["url"] for c in m["features"]["slash_commands"]} == {events}
    assert m["settings"]["interactivity"] == {"is_enabled": True, "request_url": events}
    assert m["settings"]["event_subscriptions"]["request_url"] == events
    if oauth:
        assert m["oauth_config"]["redirect_urls"] == [f"{HOST}/slack/oauth_redirect"]
    else:
        assert "redirect_urls" not in m["oauth_config"]


@pytest.mark.parametrize(
    "bad",
    [
        "http://okrs.example.com",
        "https://okrs.example.com/slack/events",
        "https://okrs.example.com/?a=1",
        "https://okrs.example.com#x",
        "okrs.example.com",
    ],
)
def test_request_urls_slack_would_refuse_are_refused(bad):
    with pytest.raises(app_manifest.ManifestError) as err:
        app_manifest.render(bad)
    assert bad in str(err.value) and "\n" not in str(err.value)


def test_every_declared_command_and_shortcut_is_answered(driver, slack):
    for command in yml()["features"]["slash_commands"]:
        resp = driver.command(command["command"], "", user=ADMIN)
        assert resp.status == 200, f"{command['command']} is declared but not handled"
    for shortcut in yml()["features"]["shortcuts"]:
        message = {"type": "message", "user": "U0BOB0001", "text": "Great support!", "ts": "1.1"}
        resp = driver.message_shortcut(shortcut["callback_id"], message, channel="C0GENERAL")
        assert resp.status == 200, f"{shortcut['callback_id']} is declared but not handled"
    # The check can fail: something the app does not handle is not acknowledged.
    assert driver.command("/not-ours").status == 404


def test_every_subscribed_event_is_handled(driver):
    for event_type in yml()["settings"]["event_subscriptions"]["bot_events"]:
        resp = driver.event(EVENT_BODIES[event_type])
        assert resp.status == 200, f"{event_type} is subscribed but not handled"
    # The driver, like Slack, delivers no event the manifest does not subscribe to ...
    with pytest.raises(AssertionError, match="member_joined_channel"):
        driver.event({"type": "member_joined_channel", "user": ALICE, "channel": "C0GENERAL"})
    assert "member_joined_channel" not in subscribed_events()


class RecordingApp:
    """Stands in for the Bolt App given to each listener module's register(app): records the
    commands, events and shortcuts registered (through Bolt's public decorators) and forwards."""

    def __init__(self, app):
        self._app = app
        self.found = {"command": set(), "event": set(), "shortcut": set()}

    def _record(self, kind, constraint):
        if isinstance(constraint, dict):
            constraint = constraint.get("type") or constraint.get("callback_id")
        self.found[kind].add(constraint)

    def command(self, command, *args, **kwargs):
        self._record("command", command)
        return self._app.command(command, *args, **kwargs)

    def event(self, event, *args, **kwargs):
        self._record("event", event)
        return self._app.event(event, *args, **kwargs)

    def shortcut(self, constraints, *args, **kwargs):
        self._record("shortcut", constraints)
        return self._app.shortcut(constraints, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._app, name)


def test_the_app_handles_nothing_the_manifest_does_not_declare():
    from slack_bolt import App

    bolt = App(signing_secret=SIGNING_SECRET, token="xoxb-x", token_verification_enabled=False)
    recorder = RecordingApp(bolt)
    register_listeners(recorder)
    m = yml()
    assert recorder.found["command"] == {c["command"] for c in m["features"]["slash_commands"]}
    assert recorder.found["shortcut"] == {s["callback_id"] for s in m["features"]["shortcuts"]}
    assert recorder.found["event"] == set(m["settings"]["event_subscriptions"]["bot_events"])


def test_manifest_has_home_interactivity_and_least_scopes():
    m = yml()
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    # Every scope is justified by a feature; nothing broad like channels:read or admin.
    assert {"commands", "chat:write", "users:read", "im:write"} <= scopes
    assert not scopes & {"admin", "channels:manage", "chat:write.customize", "users:write"}
