"""The supervisor of `roost serve` with `workers = N` (N > 1): N worker processes, each
running the whole server on its own event loop, so that every core serves.

Theory of operation
-------------------
The supervisor does no serving itself. It forks the workers (after the start-up checks and
the store's migrations, so that no worker races another through them); each worker binds
every listener with SO_REUSEPORT, and the kernel spreads new connections over them. What
must happen once per server happens in worker 0 only (roost.app: the outbound queue, the
store's upkeep, the LMTP socket); push crosses workers through the store (SQLite wake-ups,
PostgreSQL's NOTIFY), as it crosses nodes.

A worker that dies is logged and started again in its place (a worker that dies within
RESTART_BACKOFF seconds of starting waits that long first, so a worker that cannot start
does not spin). SIGTERM or SIGINT stops them all: each gets SIGTERM (and says goodbye to
its sessions), and one still running after STOP_SECONDS gets SIGKILL; SIGHUP is passed on
(each worker reloads the TLS certificate). A worker asks the
kernel to send it SIGTERM should the supervisor die, so none is ever left serving alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from roost.sdnotify import notify

__all__ = ["RESTART_BACKOFF", "STARTUP_FAILED", "STOP_SECONDS", "supervise"]

log = logging.getLogger("roost.serve")

RESTART_BACKOFF = 1.0
STOP_SECONDS = 10
# A worker's exit status when it cannot start (a port taken): starting it again would fail
# again, so the supervisor stops them all instead.
STARTUP_FAILED = 78
_PR_SET_PDEATHSIG = 1


def supervise(count: int, run_worker: Callable[[int], int]) -> int:
    """Runs run_worker(i) in a process of its own for i in range(count) until SIGTERM or
    SIGINT, starting again any that dies; returns 0 once all have stopped, or 1 if one
    could not start (it returned STARTUP_FAILED)."""
    workers: dict[int, tuple[int, float]] = {}  # pid -> (index, started at)
    stopping = False
    failed = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            if frame is not None:
                log.info("%s received, stopping the workers", signal.Signals(signum).name)
            notify("STOPPING=1")
            stopping = True
            signal.alarm(STOP_SECONDS)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def forward(signum: int, frame: FrameType | None) -> None:
        for pid in workers:  # SIGHUP: each worker reloads its TLS certificate
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def overdue(signum: int, frame: FrameType | None) -> None:
        for pid, (index, _) in workers.items():
            log.warning(
                "worker %d (pid %d) still running after %d s: killed", index, pid, STOP_SECONDS
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    previous = {
        signum: signal.signal(signum, handler)
        for signum, handler in (
            (signal.SIGTERM, stop),
            (signal.SIGINT, stop),
            (signal.SIGALRM, overdue),
            (signal.SIGHUP, forward),
        )
    }
    try:
        for index in range(count):
            pid = _start(index, run_worker)
            workers[pid] = (index, time.monotonic())
        notify("READY=1\nSTATUS=serving")
        while workers:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in workers:
                continue
            index, started = workers.pop(pid)
            if stopping:
                continue
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == STARTUP_FAILED:
                failed = True
                stop(signal.SIGTERM, None)
                continue
            log.error("worker %d (pid %d) %s; starting it again", index, pid, _death(status))
            if time.monotonic() - started < RESTART_BACKOFF:
                time.sleep(RESTART_BACKOFF)
            if not stopping:
                workers[_start(index, run_worker)] = (index, time.monotonic())
    finally:
        signal.alarm(0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("all workers stopped")
    return 1 if failed else 0


def _start(index: int, run_worker: Callable[[int], int]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        log.info("worker %d started (pid %d)", index, pid)
        return pid
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        _die_with_parent(parent)
        code = run_worker(index)
    except BaseException:
        log.exception("worker %d failed", index)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM to this process when its parent (the supervisor) dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the supervisor died before the request was made
        os._exit(1)


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
