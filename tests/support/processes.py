"""Real `loyalty serve` processes for tests and benches: a free port, a master's worker
processes, and whether the server answers its health check."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> set[int]:
    """The processes whose parent is `pid` (a server master's workers)."""
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(entry.name))
    return kids


def healthy(port: int) -> bool:
    """GET /healthz on loopback answered 200 {"ok": true}."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        return resp.status == 200 and json.loads(resp.read()) == {"ok": True}
    except (OSError, http.client.HTTPException, ValueError):
        return False
