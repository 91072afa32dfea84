"""How many pages a list of `count` items fills: one rule for every paged list (objective
lists, the alignment tree). An empty list still has its one (empty) page."""

from __future__ import annotations


def pages_for(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))
