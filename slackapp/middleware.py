"""The app's global middleware, in the form Bolt runs cheapest.

Bolt calls a middleware written as a function with keyword arguments it builds for that
function on every request (its parameters looked up, each value it might ask for prepared:
about 15 µs a middleware here, paid by every request); a `Middleware` object's `process` is
called directly. Each of ours is a plain `fn(req, next)` wrapped in `RequestMiddleware`."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware


class RequestMiddleware(Middleware):
    """Runs `fn(req, next)` for every request: `req.body`, `req.context` and `req.headers` are
    what a function middleware would take as `body`, `context` and `request.headers`."""

    def __init__(self, fn: Callable[[BoltRequest, Callable[[], BoltResponse]], BoltResponse]):
        self.fn = fn

    def process(self, *, req: BoltRequest, resp: BoltResponse, next):  # noqa: A002 - Bolt's name
        return self.fn(req, next)

    @property
    def name(self) -> str:
        return self.fn.__name__
