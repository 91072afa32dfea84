"""Make one function of the app slow, as a database that answers late would."""

from __future__ import annotations

import time


def slow_down(monkeypatch, module, name: str, seconds: float) -> None:
    """`module.name` waits `seconds` before doing what it does (undone after the test)."""
    real = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)
