"""`python -m bench.profiled OUT serve ...`: runs `roost` with every thread profiled.

Roost does its SQLite work on an executor thread and plain `python -m cProfile` sees only
the main thread, so each thread gets its own cProfile.Profile (started by a
`threading.setprofile` hook on the thread's first event), and at exit the profiles are
merged into one pstats file at OUT.
"""

from __future__ import annotations

import cProfile
import pstats
import runpy
import sys
import threading
from types import FrameType
from typing import Any

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_thread_profile(frame: FrameType, event: str, arg: Any) -> None:
    profile = cProfile.Profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()  # replaces this hook for the rest of the thread's life


def main() -> None:
    out, sys.argv = sys.argv[1], ["roost", *sys.argv[2:]]
    threading.setprofile(_start_thread_profile)
    main_profile = cProfile.Profile()
    main_profile.enable()
    try:
        runpy.run_module("roost", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        main_profile.disable()
        stats = pstats.Stats(main_profile)
        with _lock:
            for profile in _profiles:
                stats.add(profile)
        stats.dump_stats(out)


if __name__ == "__main__":
    main()
