"""Helpers for OAuth-mode tests: settings, a cookie-keeping browser, the install flow."""

from __future__ import annotations

import re
import time
import urllib.request
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import text

from slackapp.settings import Settings
from tests.support.slack_driver import SIGNING_SECRET

TEAM_B = "T0TEAMB02"
KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()


def oauth_settings(db_url, slack, keys=KEY_OLD) -> Settings:
    client_id, client_secret = slack.oauth_client
    return Settings(
        _env_file=None,
        database_url=db_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        loyalty_encryption_key=keys,
    )


class Browser:
    """Keeps the state cookie like a browser (Python's cookie jar drops Secure cookies on
    plain-HTTP loopback) and does not follow redirects (we assert on them)."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}

    def get(self, path: str, *, cookies: bool = True) -> tuple[int, str, dict]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        req = urllib.request.Request(self.base + path)
        if cookies and self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        opener = urllib.request.build_opener(NoRedirect())
        try:
            with opener.open(req, timeout=10) as resp:
                status, body, headers = resp.status, resp.read().decode(), resp.headers
        except urllib.error.HTTPError as err:
            status, body, headers = err.code, err.read().decode(), err.headers
        for cookie in headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        # Header names are case-insensitive (gunicorn passes the app's lowercase ones through).
        return status, body, {k.lower(): v for k, v in headers.items()}


def start_install(browser: Browser) -> tuple[str, dict]:
    status, html, headers = browser.get("/slack/install")
    assert status == 200 and "text/html" in headers["content-type"]
    match = re.search(r'href="([^"]+/oauth/v2/authorize\?[^"]+)"', html)
    assert match, html
    url = match.group(1).replace("&amp;", "&")
    return url, parse_qs(urlsplit(url).query)


def install(browser: Browser, slack, *, team_id=TEAM_B, rotating=False, expires_in=43200) -> str:
    authorize_url, query = start_install(browser)
    code = f"code-{team_id}-{time.monotonic_ns()}"
    slack.add_oauth_code(code, team_id=team_id, rotating=rotating, expires_in=expires_in)
    state = query["state"][0]
    status, page, _ = browser.get(
        "/slack/oauth_redirect?" + urlencode({"code": code, "state": state})
    )
    assert status == 200, page
    return page


def raw_rows(engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return [" ".join(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]


def issued(slack, team_id=TEAM_B) -> list[str]:
    return [t for t, team in slack.issued_tokens.items() if team == team_id]


@contextmanager
def served_oauth_app(db_url, engine, slack):
    """The app in OAuth mode behind a real HTTP server in a thread: yields (app, base URL).
    The server closes and the app's listener threads finish when the block ends."""
    from slackapp.app import create_app

    app = create_app(oauth_settings(db_url, slack), engine)
    url, srv = serve_in_thread(app)
    try:
        yield app, url
    finally:
        srv.close()
        app.bolt.listener_runner.listener_executor.shutdown(wait=True)


def serve_in_thread(app):
    """A real WSGI server (waitress) on a free loopback port; returns (base URL, server)."""
    import threading

    from waitress import create_server

    from slackapp.http_server import make_wsgi_app

    srv = create_server(make_wsgi_app(app), host="127.0.0.1", port=0, threads=4)

    def run():
        try:
            srv.run()
        except OSError:  # the test closed the server under the loop's select()
            pass

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{srv.effective_port}", srv


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Listeners run after the ack; poll for their effect instead of sleeping a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def seed_installation(
    engine,
    *,
    team_id: str = TEAM_B,
    enterprise_id: str | None = None,
    keys: str = KEY_OLD,
    client_id: str = "1111.2222",
    slack=None,
) -> str:
    """Store a bot installation the way the OAuth redirect does (encrypted, team marked
    installed) without the browser round trip; returns its bot token. With `slack` (the fake),
    its auth.test knows the token as the team's."""
    from slack_sdk.oauth.installation_store import Installation

    from slackapp.oauth import EncryptedInstallationStore
    from storage import token_crypto

    token_crypto.configure(keys)
    token = f"xoxb-{team_id}-seeded-{time.monotonic_ns()}"
    EncryptedInstallationStore(client_id, engine).save(
        Installation(
            app_id="A0LOYALTY1",
            enterprise_id=enterprise_id,
            enterprise_name="Grid Org" if enterprise_id else None,
            team_id=team_id,
            team_name="Seeded",
            bot_token=token,
            bot_id="B0BOT0001",
            bot_user_id="U0BOT0001",
            bot_scopes="commands,chat:write",
            user_id="U0ADMIN01",
            installed_at=time.time(),
        )
    )
    if slack is not None:
        slack.issued_tokens[token] = team_id
    return token
