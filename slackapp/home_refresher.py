"""App Home publishing: building a person's Home and republishing it after their writes.

A write asks for a refresh (`refresh_home`); one background thread (`HomeRefresher`, one per app,
in `Deps`) publishes the due Homes a moment later, once per burst, and only for people who
opened or used their Home within the last hour (storage.home.HOME_SEEN_WINDOW); anyone else sees
the change when they next open it."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from slackapp.blocks.block_json import block_json
from slackapp.blocks.home import home_view
from slackapp.roles import Caller
from storage.home import company_tree, home_data, home_seen_recently
from storage.models import utcnow
from storage.quarters import quarter_of

if TYPE_CHECKING:
    from slackapp.context import Deps

log = logging.getLogger(__name__)


def build_home(deps: Deps, *, team_id: str, user_id: str, shared_company_tree=None, client=None):
    """`client`: to learn whether the person is a workspace admin (users.info, cached); without
    one only LOYALTY_ADMINS count (benches build Homes without Slack)."""
    buttons, extra = [], []
    with deps.session() as session:
        data = home_data(
            session, team_id=team_id, user_id=user_id, shared_company_tree=shared_company_tree
        )
        for contribute in deps.home_sections:
            b, s = contribute(session, team_id=team_id, user_id=user_id)
            buttons += b
            extra += s
        may_create = data.heads_a_department
        if not may_create:  # heads never need the admin lookup
            if client is None:
                may_create = user_id in deps.settings.admin_ids
            else:
                caller = Caller(deps=deps, client=client, team_id=team_id, user_id=user_id)
                may_create = caller.is_admin(session)
    return home_view(
        data,
        user_id=user_id,
        extra_buttons=buttons,
        extra_sections=extra,
        may_create_objectives=may_create,
    )


def publish_home(
    deps: Deps, client, *, team_id: str, user_id: str, shared_company_tree=None
) -> None:
    try:
        view = build_home(
            deps,
            team_id=team_id,
            user_id=user_id,
            shared_company_tree=shared_company_tree,
            client=client,
        )
        client.views_publish(user_id=user_id, view=block_json(view))
    except SlackApiError as exc:  # a stale Home is not worth failing the user's write over
        log.warning("views.publish failed for %s: %s", user_id, exc.response.get("error"))


# After a write the Home tab is refreshed a moment later, once per burst: a user checking in on
# five key results, or a busy workspace under load, rebuilds each Home once, not per request.
# One user's Home is rebuilt at most every HOME_MIN_INTERVAL seconds (trailing edge, so the
# last write always shows).
HOME_REFRESH_DELAY = 1.0
HOME_MIN_INTERVAL = 10.0
# A workspace's company tree (every aligned objective) is read at most this often: refreshes
# asked for after the last read wait for the next one and share it, so in a busy workspace the
# company section costs one read per interval, not one per refreshed Home.
COMPANY_TREE_MIN_INTERVAL = 2.0


class HomeRefresher:
    """One background thread publishes due Home tabs one at a time, so a burst of writes by
    many people never turns into many concurrent rebuilds competing with requests.

    The company section is the same for everyone in a workspace: a refresh reuses the company
    tree another refresh read, as long as that read began after this refresh was requested
    (so after the write it must show had committed). That tree is read again at most every
    `company_interval` seconds; a refresh that needs a newer one waits for it."""

    def __init__(
        self,
        delay: float = HOME_REFRESH_DELAY,
        min_interval: float = HOME_MIN_INTERVAL,
        company_interval: float = COMPANY_TREE_MIN_INTERVAL,
    ):
        self.delay = delay
        self.min_interval = min_interval
        self.company_interval = company_interval
        # (team, user) -> (when due, deps, client, when last requested)
        self._due: dict[tuple[str, str], tuple[float, Deps, object, float]] = {}
        self._last: dict[tuple[str, str], float] = {}
        # team -> (when its reading began, company tree); only this class's thread touches it
        self._company: dict[str, tuple[float, object]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self, deps: Deps, client, *, team_id: str, user_id: str) -> None:
        key = (team_id, user_id)
        with self._cond:
            now = time.monotonic()
            if key in self._due:  # already due: that publish reads data from after now
                when, deps, client, _ = self._due[key]
                self._due[key] = (when, deps, client, now)
                return
            when = now + self.delay
            last = self._last.get(key)
            if last is not None:
                when = max(when, last + self.min_interval)
            self._due[key] = (when, deps, client, now)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="home-refresh", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._due:
                    self._thread = None
                    return
                key, (when, deps, client, requested) = min(
                    self._due.items(), key=lambda kv: kv[1][0]
                )
                now = time.monotonic()
                if when > now:
                    self._cond.wait(when - now)
                    continue
                began, tree = self._company.get(key[0], (0.0, None))
                if (
                    tree is not None
                    and tree.nodes
                    and began <= requested
                    and now < began + self.company_interval
                ):
                    # The shared tree predates this refresh's write: wait for the next read
                    # (a workspace with no company objectives reads an empty one, at once).
                    self._due[key] = (began + self.company_interval, deps, client, requested)
                    continue
                del self._due[key]
                self._last[key] = time.monotonic()
                if len(self._last) > 10_000:  # forget the oldest users; bounded memory
                    for old in sorted(self._last, key=self._last.get)[:5_000]:
                        self._last.pop(old, None)
            try:
                with deps.session() as session:
                    seen = home_seen_recently(session, team_id=key[0], user_id=key[1])
                if seen:
                    publish_home(
                        deps,
                        client,
                        team_id=key[0],
                        user_id=key[1],
                        shared_company_tree=self._company_tree(deps, key[0], requested),
                    )
            except Exception:  # noqa: BLE001 - a background refresh must never take the app down
                log.exception("App Home refresh failed for %s", key[1])

    def _company_tree(self, deps: Deps, team_id: str, requested: float):
        began, tree = self._company.get(team_id, (0.0, None))
        quarter = quarter_of(utcnow().date())
        if tree is None or began <= requested or tree.quarter != quarter:
            began = time.monotonic()
            with deps.session() as session:
                tree = company_tree(session, team_id=team_id, quarter=quarter)
            self._company[team_id] = (began, tree)
            if len(self._company) > 1_000:  # bounded memory across many workspaces
                self._company.pop(next(iter(self._company)))
        return tree

    def cancel_all(self, wait: float = 0.0) -> None:
        """Drop every refresh not yet started; with `wait`, also let the one running finish."""
        with self._cond:
            self._due.clear()
            self._cond.notify()
        if wait:
            self.drain(timeout=wait)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every requested refresh has run (or was skipped); False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                thread = self._thread
                if thread is None:
                    return True
                due = min((entry[0] for entry in self._due.values()), default=None)
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if due is not None and due - time.monotonic() > left:
                return False  # the next refresh is not due before the deadline
            thread.join(min(left, 0.05))


def refresh_home(deps: Deps, client, *, team_id: str, user_id: str) -> None:
    """Refresh a user's Home after a write, if they looked at it lately (coalesced, off the
    request path). Call it once the write has committed."""
    deps.home_refresher.request(deps, client, team_id=team_id, user_id=user_id)
