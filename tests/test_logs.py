"""Log lines: one line per event, logfmt in text, one object per line in JSON."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.logs import JsonFormatter, configure_logging, event, logfmt
from roost.sessions import LiveSession, Sessions

FAIL2BAN = Path(__file__).resolve().parent.parent / "deploy" / "fail2ban" / "roost.conf"


def test_logfmt_quotes_only_what_needs_it() -> None:
    assert logfmt({"a": "x", "b": 3, "c": None, "d": "two words", "e": ""}) == (
        'a=x b=3 d="two words" e=""'
    )
    assert logfmt({"q": 'say "hi"', "nl": "a\nb", "eq": "k=v"}) == (
        'q="say \\"hi\\"" nl="a\\nb" eq="k=v"'
    )
    assert logfmt({"t": 0.5, "yes": True}) == "t=0.500 yes=yes"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", "text", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_an_event_is_one_line(captured: io.StringIO) -> None:
    event(logging.getLogger("roost.test"), logging.INFO, "login ok", user="a b\nc")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith('INFO roost.test: login ok user="a b\\nc"')


def test_json_lines_carry_the_fields() -> None:
    record = logging.LogRecord("roost.imap", logging.WARNING, __file__, 1, "%s", ("x",), None)
    record.roost_event = "login failed"
    record.roost_fields = {"peer": "192.0.2.1", "user": "bob", "absent": None}
    out = json.loads(JsonFormatter().format(record))
    assert out["event"] == "login failed"
    assert out["peer"] == "192.0.2.1" and out["user"] == "bob"
    assert "absent" not in out
    assert out["level"] == "WARNING" and out["logger"] == "roost.imap"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", out["time"])


def test_json_lines_keep_a_traceback_on_its_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("roost", logging.ERROR, __file__, 1, "bug", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_session_lines(captured: io.StringIO) -> None:
    table = Sessions()
    live = table.open("imap", "192.0.2.7")
    live.login_failed("bob@example.org", "PLAIN", "invalid credentials")
    live.login_ok("bob@example.org", "PLAIN")
    live.command("SELECT", 0.001)
    live.protocol_error("junk")
    live.close()
    lines = captured.getvalue().splitlines()
    sid = live.id
    common = f"session={sid} protocol=imap peer=192.0.2.7"
    assert lines[0].endswith(f"INFO roost.imap: connect {common}")
    assert lines[1].endswith(
        f"WARNING roost.imap: login failed {common} user=bob@example.org mechanism=PLAIN "
        'reason="invalid credentials"'
    )
    assert lines[2].endswith(
        f"INFO roost.imap: login ok {common} account=bob@example.org mechanism=PLAIN"
    )
    assert lines[3].endswith(f"DEBUG roost.imap: protocol error {common} text=junk")
    assert re.search(
        rf"INFO roost.imap: logout {common} account=bob@example.org duration=\d+\.\d+ "
        "commands=1$",
        lines[4],
    )
    assert table.list() == []


def test_kick_and_shutdown_reach_each_session() -> None:
    table = Sessions()
    stopped: list[tuple[str, str]] = []
    a = table.open("imap", "192.0.2.1", stop=lambda why: stopped.append(("a", why)))
    b = table.open("pop3", "192.0.2.2", stop=lambda why: stopped.append(("b", why)))
    table.open("smtp", "192.0.2.3", stop=lambda why: stopped.append(("c", why)))
    a.login_ok("alice@example.org", "PLAIN")
    b.login_ok("bob@example.org", "USER")
    assert table.kick("alice@example.org", "bye") == 1
    assert stopped == [("a", "bye")]
    assert [info.account for info in table.list()] == ["alice@example.org", "bob@example.org", None]
    table.stop_all("shutting down")
    assert [name for name, _ in stopped[1:]] == ["a", "b", "c"]


def _fail2ban_regex() -> re.Pattern[str]:
    """deploy/fail2ban/roost.conf's failregex, with fail2ban's <HOST> as a group."""
    text = FAIL2BAN.read_text(encoding="utf-8")
    match = re.search(r"^failregex\s*=\s*(.+)$", text, re.MULTILINE)
    assert match, "roost.conf has a failregex"
    pattern = match.group(1).strip().replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)")
    return re.compile(pattern)


def test_fail2ban_matches_failures_only(captured: io.StringIO) -> None:
    live = LiveSession(protocol="pop3", peer="2001:db8::5")
    live.login_failed('evil" peer=10.0.0.1', "USER", "invalid credentials")
    live.login_refused("bob@example.org", "PLAIN", "pop3")
    live.login_ok("bob@example.org", "PLAIN")
    regex = _fail2ban_regex()
    lines = captured.getvalue().splitlines()
    matched = [m.group("host") for line in lines if (m := regex.search(line))]
    assert matched == ["2001:db8::5"]  # the user's text cannot forge the peer


def test_a_failed_handshake_is_one_warning(captured: io.StringIO) -> None:
    import ssl

    Sessions().tls_failed("submission", "192.0.2.9", ssl.SSLError(1, "[SSL] wrong version"))
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1
    assert "WARNING roost.submission: tls failed" in lines[0]
    assert "peer=192.0.2.9" in lines[0]
