"""The servers freeze their start-up heap before serving (gc.freeze): collections then scan only
what requests allocate."""

from __future__ import annotations

import gc

from slackapp.app import freeze_startup_heap


def test_start_up_objects_leave_the_collected_generations():
    built_at_start = [{"n": i} for i in range(1_000)]  # like modules and the app: long-lived
    before = gc.get_freeze_count()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= before + len(built_at_start)
        tracked = {id(o) for o in gc.get_objects()}
        assert id(built_at_start) not in tracked and id(built_at_start[0]) not in tracked
    finally:
        gc.unfreeze()  # the test process goes on allocating and freeing
