"""bench/scenarios/stress.py: how it reads imaptest's per-second rows (always), and a short
imaptest stress against Roost over loopback (skipped when there is no imaptest binary:
IMAPTEST=/path/to/imaptest, as for `make conformance`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.scenarios import stress
from bench.scenarios.base import SCALES, Context

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

# The start of a real run (clients=10 logout=0): imaptest's stdout heads, and its output=
# file, whose header names COPY although no row has a column for it.
STDOUT = "Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe \n100%  50%  50% 100% ...\n"
HEADER = "\t".join(
    f"{name} count\t{name} msecs"
    for name in "LOGIN LIST STATUS SELECT FETCH FETCH2 COPY STORE DELETE EXPUNGE APPEND".split()
)
ROWS = [
    "4 4 2108 28 28 1355 20 20 942 4 4 59 38 38 198 54 54 529 10 10 232 17 17 344 36 36 826 "
    "37 37 1532",
    "0 0 0 53 53 4389 65 65 5757 0 0 0 124 124 1736 172 172 5350 37 37 1628 71 71 3508 "
    "122 122 6625 95 95 6984",
]
OUTPUT = "\n".join([HEADER, *(row.replace(" ", "\t") for row in ROWS), "1\t1"]) + "\n"


def test_the_rows_sum_per_command_and_a_cut_row_is_left_out() -> None:
    names = stress.shown_commands(STDOUT)
    assert names == [
        "LOGIN",
        "LIST",
        "STATUS",
        "SELECT",
        "FETCH",
        "FETCH2",
        "STORE",
        "DELETE",
        "EXPUNGE",
        "APPEND",
    ]

    totals = stress.parse_output(names, OUTPUT)

    assert totals.seconds == 2
    assert totals.counts["LIST"] == 28 + 53
    assert totals.counts["APPEND"] == 37 + 95
    assert totals.commands == sum(int(f) for row in ROWS for f in row.split()[0::3])
    assert totals.per_second() == totals.commands / 2
    assert totals.average_ms("LOGIN") == 2108 / 4
    assert totals.average_ms("STATUS") == (942 + 5757) / (20 + 65)
    all_msecs = sum(int(f) for row in ROWS for f in row.split()[2::3])
    assert totals.average_ms() == all_msecs / totals.commands


def test_figures_name_the_load_and_put_each_command_in_the_details() -> None:
    totals = stress.parse_output(stress.shown_commands(STDOUT), OUTPUT)
    load = stress.LOADS[2]

    outcome = stress.Outcome(totals, ["Error: x"], commands=500, cpu_seconds=2.0)

    figures = {f.key: f for f in stress.figures(load, outcome)}

    assert figures["imaptest stress clients=10 logout=0: commands/s"].value == totals.per_second()
    assert figures["imaptest stress clients=10 logout=0: errors"].value == 1
    fetch = figures["imaptest stress clients=10 logout=0: FETCH ms"]
    assert fetch.detail and fetch.value == (198 + 1736) / (38 + 124)
    cpu = figures["imaptest stress clients=10 logout=0: server CPU ms per command"]
    assert cpu.detail and cpu.value == 4.0


def test_without_imaptest_every_figure_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAPTEST", "/nonexistent/imaptest")
    ctx = Context("127.0.0.1", 1, "pw", SCALES["small"], {"default": "u@x"}, {})

    figures = asyncio.run(stress.run(ctx, 0))

    assert len(figures) == 3 * len(stress.LOADS)
    assert all(f.value is None and "IMAPTEST" in f.note for f in figures)


@pytest.fixture
def roost(tmp_path: Path) -> Iterator[Server]:
    if stress.find_imaptest() is None:
        pytest.skip("no imaptest binary (set IMAPTEST=/path/to/imaptest)")
    server = start_server(tmp_path / "roost-data")
    yield server
    stop_server(server)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "load",
    [
        stress.Load("users=3 clients=3", clients=3, users=3),
        stress.Load("clients=3 logout=0", clients=3, logout=False),
    ],
    ids=["logins", "long-sessions"],
)
def test_imaptest_stress_runs_against_roost(roost: Server, load: stress.Load) -> None:
    for i in range(1, load.users + 1):
        roost.add_user(f"stress{i}@bench.test" if load.users > 1 else "stress@bench.test")
    user = "stress%d@bench.test" if load.users > 1 else "stress@bench.test"
    imaptest = stress.find_imaptest()
    assert imaptest is not None

    outcome = stress.run_imaptest(imaptest, roost.host, roost.imap_port, user, PASSWORD, load, 3)

    assert outcome.errors == []
    totals = outcome.totals
    assert totals.seconds >= 2
    for command in ("SELECT", "FETCH", "APPEND", "EXPUNGE"):
        assert totals.counts.get(command, 0) > 0, command
    assert ("LOGOUT" in totals.counts) == load.logout
    assert totals.average_ms() is not None
