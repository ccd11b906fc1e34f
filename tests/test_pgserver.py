"""tests/pgserver.py itself: a test cluster whose session died is stopped and removed by
the next session, and one whose session lives is left alone."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.pgserver import TEST_SETTINGS, PostgresServer, find_bindir, reap_orphans


def _cluster(bindir: Path, owner: int) -> PostgresServer:
    server = PostgresServer(bindir, settings=TEST_SETTINGS)
    (server.socket_dir.parent / "owner").write_text(str(owner))
    server.start()
    return server


def _ends(pid: int, within: float = 10.0) -> bool:
    """The process ends within `within` seconds (the postmaster removes its pid file, which
    pg_ctl waits for, a moment before it exits)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_clusters_of_dead_sessions_are_reaped_and_live_ones_kept() -> None:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed")
    dead_owner = subprocess.Popen(["true"])  # a pid whose process has ended
    dead_owner.wait()
    orphan = _cluster(bindir, dead_owner.pid)
    kept = _cluster(bindir, os.getpid())
    try:
        orphan_pid, kept_pid = orphan.postmaster_pid(), kept.postmaster_pid()
        assert orphan_pid is not None and kept_pid is not None
        reap_orphans(bindir)
        assert not orphan.socket_dir.parent.exists()
        assert _ends(orphan_pid)
        assert kept.postmaster_pid() == kept_pid
        os.kill(kept_pid, 0)
    finally:
        orphan.stop()
        kept.stop()
