"""Run every bench/*_bench.py module's main(): `python -m bench [name ...]` runs a subset."""

from __future__ import annotations

import gc
import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.endswith("_bench")
    )
    failed = []
    for name in names:
        if wanted and name not in wanted and name.removesuffix("_bench") not in wanted:
            continue
        print(f"\n=== {name} ===", flush=True)
        # The previous bench's leftovers are collected now, not inside this bench's timings.
        gc.collect()
        started = time.perf_counter()
        try:
            ok = importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # noqa: BLE001 - report and go on to the next bench
            print(f"{name} crashed: {exc!r}")
            ok = False
        print(
            f"--- {name}: {'ok' if ok is not False else 'OVER BUDGET'} "
            f"in {time.perf_counter() - started:.1f}s",
            flush=True,
        )
        if ok is False:
            failed.append(name)
    if failed:
        print("\nOver budget or failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
