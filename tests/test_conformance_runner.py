"""bench/conformance.py without imaptest: how it reads imaptest's output and writes the
report (the run itself is `make conformance`, not part of `make test`)."""

from __future__ import annotations

from pathlib import Path

from bench import conformance as conf

STRESS = """\
Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe Logo ChkP
100%  50%  50% 100% 100% 100%  50% 100% 100% 100% 100% 100%
  59   28   31   57   58   86   22   34   61   43   62    8   7/ 10
  54   21   24   56   54   75   19   27   54   43   51    4  10/ 10
Error: u1[3]: Keyword used without being in FLAGS: $Label1
Panic: file client-state.c: line 222 (client_update_plan): assertion failed
Error: Raw backtrace: #0 t_askpass
""".splitlines()


def test_stress_output_counts_commands_errors_and_the_panic_apart() -> None:
    assert conf.count_commands(STRESS) == (
        59 + 28 + 31 + 57 + 58 + 86 + 22 + 34 + 61 + 43 + 62 + 8
    ) + (54 + 21 + 24 + 56 + 54 + 75 + 19 + 27 + 54 + 43 + 51 + 4)
    totals = ["Totals:", "Logi List", "100%  50%", "  10   20    5"]
    assert conf.count_commands(totals) == 35


def test_the_report_keeps_hand_written_notes(tmp_path: Path) -> None:
    out = tmp_path / "CONFORMANCE.md"
    out.write_text("# old table\n\n## Notes\n\nWhy the figures are what they are.\n")
    results = [
        conf.ServerResults(
            "Roost",
            groups=[
                conf.GroupResult("fetch", "pass"),
                conf.GroupResult("notify", "fail", "BAD"),
                conf.GroupResult("urlauth", "skip"),
            ],
            stress=[conf.StressResult(clients=10, seconds=30, errors=0, commands=900)],
        )
    ]
    options = conf.Options(
        imaptest="imaptest",
        tests=tmp_path,
        timeout=60,
        stress_seconds=30,
        clients=(10,),
        only=(),
        servers=("roost",),
    )
    text = conf.report(results, options, ["--output", str(out)]) + conf._kept_notes(out)
    assert "| Roost | 3 | 1 | 0 | 1 | 1 | 0 in 900 commands |" in text
    assert "| notify | fail | RFC 5465" in text
    assert text.endswith("## Notes\n\nWhy the figures are what they are.\n")
