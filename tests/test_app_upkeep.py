"""The server runs the store's upkeep on a schedule (roost.app._upkeep), and a failed run
is logged and tried again rather than stopping the server."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from roost import app
from roost.config import Ports, load_config
from roost.store.mail.store import MailStore
from roost.store.mail.upkeep import Maintenance


def test_upkeep_runs_on_schedule_and_survives_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[timedelta] = []

    async def maintain(self: MailStore, *, retention: timedelta, **_: Any) -> Maintenance:
        calls.append(retention)
        if len(calls) == 1:
            raise OSError("disk trouble")
        return Maintenance(tombstones=1, log_rows=2, blobs=3)

    monkeypatch.setattr(MailStore, "maintain", maintain)
    monkeypatch.setattr(app, "FIRST_UPKEEP", 0)
    base = load_config(None, {"ROOST_DATA_DIR": str(tmp_path)}, hostname=lambda: "localhost")
    no_ports = Ports(**{f.name: 0 for f in dataclasses.fields(Ports)})
    config = dataclasses.replace(
        base, ports=no_ports, lmtp_socket="", maintenance_interval=0, retention_days=30
    )

    async def main() -> None:
        server = asyncio.create_task(app.run(config))
        for _ in range(500):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.01)
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server

    with caplog.at_level("INFO", logger="roost"):
        asyncio.run(main())
    assert calls[:2] == [timedelta(days=30)] * 2
    assert "store maintenance failed" in caplog.text
    assert "1 tombstones and 2 change-log rows folded, 3 blobs collected" in caplog.text
