"""Who is asking, and in what role: resolved once per request, on first use.

A middleware puts a `Caller` into every request's context. Whether they are a workspace admin
(LOYALTY_ADMINS, or Slack's admin/owner flags from the users.info cache) and which departments
they head are looked up at most once per request, in the listener's own database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient
from sqlmodel import Session

from slackapp.middleware import RequestMiddleware
from slackapp.slack_users import fetch_user
from storage.departments import departments_in, memberships
from storage.models import Department

if TYPE_CHECKING:
    from slackapp.context import Deps


class AdminFlag:
    """Whether the caller is a workspace admin, looked up only when a rule asks (`if
    is_admin`): an owner checking in on their own key result costs no lookup at all."""

    __slots__ = ("_caller", "_session")

    def __init__(self, caller: Caller, session: Session):
        self._caller, self._session = caller, session

    def __bool__(self) -> bool:
        return self._caller.is_admin(self._session)

    def __repr__(self) -> str:
        return repr(bool(self))


@dataclass
class Caller:
    deps: Deps
    client: WebClient
    team_id: str
    user_id: str
    _admin: bool | None = field(default=None, repr=False)
    _headed: list[int] | None = field(default=None, repr=False)

    def is_admin(self, session: Session) -> bool:
        if self._admin is None:
            self._admin = self.user_id in self.deps.settings.admin_ids or bool(
                fetch_user(
                    session, self.client, team_id=self.team_id, user_id=self.user_id
                ).is_admin
            )
        return self._admin

    def as_actor(self, session: Session) -> dict:
        """The keyword arguments of a storage write made by this person in their role (the
        admin flag is looked up when the write first tests it)."""
        return {
            "team_id": self.team_id,
            "actor_id": self.user_id,
            "is_admin": AdminFlag(self, session),
        }

    def as_user(self, session: Session) -> dict:
        """The same, for storage functions that name the person `user_id`."""
        return {
            "team_id": self.team_id,
            "user_id": self.user_id,
            "is_admin": AdminFlag(self, session),
        }

    def headed_department_ids(self, session: Session) -> list[int]:
        if self._headed is None:
            self._headed = [
                m.department_id
                for m in memberships(session, team_id=self.team_id, user_id=self.user_id)
                if m.is_head
            ]
        return self._headed

    def is_head(self, session: Session) -> bool:
        """Head of at least one department."""
        return bool(self.headed_department_ids(session))

    def managed_departments(self, session: Session) -> list[Department]:
        """Every department for an admin; otherwise the ones they head (by name)."""
        ids = None if self.is_admin(session) else self.headed_department_ids(session)
        return departments_in(session, team_id=self.team_id, ids=ids)


def install_caller(app: App) -> None:
    """Listeners then take `caller` as an argument (Bolt fills it in from the context)."""

    def resolve_caller(req, next):  # noqa: A002 - Bolt's parameter name
        context = req.context
        # Some events come without a team or a user: Bolt's properties are None then.
        if context.team_id and context.user_id:
            context["caller"] = Caller(
                deps=context["deps"],
                client=context.client,
                team_id=context.team_id,
                user_id=context.user_id,
            )
        return next()

    app.use(RequestMiddleware(resolve_caller))
