"""End to end, as an operator sees Roost (issue 13): the real `roost serve` on loopback, its
log lines read from its stderr, its metrics scraped from /metrics, `roost status`, `kick`
and `queue flush` reaching it through its control socket, per-account services,
postmaster@ and plus-addressing, goodbyes at shutdown, SIGHUP, and start-up errors as one
line each."""

from __future__ import annotations

import grp
import imaplib
import json
import os
import poplib
import re
import select
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from roost.tls import ensure_certificate
from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e

PORT_NAMES = ("POP3", "POP3S", "SUBMISSION", "SUBMISSIONS", "SMTP", "HTTP", "HTTPS")


@dataclass
class Ops:
    server: Server
    ports: dict[str, int]
    log: str = ""
    seen: int = 0  # how much of the log earlier tests consumed
    extra: dict[str, str] = field(default_factory=dict)

    def read_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Waits until the server's stderr, past what earlier checks consumed, matches."""
        assert self.server.process.stderr is not None
        fd = self.server.process.stderr.fileno()
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.MULTILINE)
        while True:
            match = regex.search(self.log, self.seen)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {pattern!r} in the log:\n{self.log[self.seen :]}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(f"roost serve exited:\n{self.log}")
                self.log += chunk.decode("utf-8", "replace")

    def skip_log(self) -> None:
        self.seen = len(self.log)

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.ports['HTTP']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        line = f"{name}{{{wanted}}} " if labels else f"{name} "
        for text in self.metrics().splitlines():
            if text.startswith(line):
                return float(text.split()[-1])
        return 0.0

    def imap(self) -> imaplib.IMAP4:
        return imaplib.IMAP4(self.server.host, self.server.imap_port)


def start_ops(data_dir: Path, config_text: str = "", **env: str) -> Ops:
    ports = {name: free_port() for name in PORT_NAMES}
    config = data_dir.parent / f"{data_dir.name}.toml"
    config.write_text(config_text, encoding="utf-8")
    server = start_server(
        data_dir,
        config=config,
        extra_env={**{f"ROOST_{n}_PORT": str(p) for n, p in ports.items()}, **env},
        # IMAP x2, POP3 x2, submission x2, SMTP, HTTP, HTTPS and the LMTP socket
        listeners=10,
    )
    return Ops(server, ports)


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    running = start_ops(
        tmp_path_factory.mktemp("ops") / "data",
        'postmaster = "admin@example.org"\ndeliver_to_tag_mailbox = true\nqueue_retry = 300\n',
    )
    running.server.add_user("admin@example.org")
    yield running
    stop_server(running.server)


def roost(server: Server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return server.roost(*args, stdin=stdin)


# ----- logins: log lines and metrics -----------------------------------------------------


def test_logins_are_logged_and_counted(ops: Ops) -> None:
    user = ops.server.add_user()
    ops.skip_log()
    failed_before = ops.metric("roost_logins_total", protocol="imap", result="failed")
    client = ops.imap()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(user, "wrong password")
    line = ops.read_log(r"^.* WARNING roost\.imap: login failed .*$").group(0)
    assert re.search(
        rf"session=[0-9a-f]{{8}} protocol=imap peer=127\.0\.0\.1 user={re.escape(user)} "
        r'mechanism=LOGIN reason="invalid credentials"$',
        line,
    )
    client.login(user, PASSWORD)
    client.select("INBOX")
    client.logout()
    ok = ops.read_log(rf"login ok session=(\w+) protocol=imap peer=127\.0\.0\.1 account={user}")
    ops.read_log(
        rf"logout session={ok.group(1)} protocol=imap peer=127\.0\.0\.1 account={user} "
        r"duration=\d+\.\d{3} commands=[3-9]"
    )
    assert ops.metric("roost_logins_total", protocol="imap", result="failed") == failed_before + 1
    assert ops.metric("roost_logins_total", protocol="imap", result="ok") >= 1
    assert ops.metric("roost_command_seconds_count", protocol="imap", command="SELECT") >= 1

    pop = poplib.POP3(ops.server.host, ops.ports["POP3"])
    pop.user(user)
    with pytest.raises(poplib.error_proto):
        pop.pass_("wrong")
    pop.quit()
    ops.read_log(
        rf"WARNING roost\.pop3: login failed session=\w+ protocol=pop3 peer=127\.0\.0\.1 user={user} mechanism=USER"
    )
    with (
        smtplib.SMTP(ops.server.host, ops.ports["SUBMISSION"]) as smtp,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        smtp.login(user, "wrong")
    ops.read_log(
        rf"WARNING roost\.submission: login failed .* peer=127\.0\.0\.1 user={user} mechanism=PLAIN"
    )
    assert ops.metric("roost_logins_total", protocol="submission", result="failed") >= 1


def test_a_failed_tls_handshake_is_one_warning(ops: Ops) -> None:
    ops.skip_log()
    for port in (ops.server.imaps_port, ops.ports["POP3S"], ops.ports["SUBMISSIONS"]):
        with socket.create_connection((ops.server.host, port)) as sock:
            sock.sendall(b"this is not a TLS ClientHello\r\n" * 4)
            sock.settimeout(5)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
    for protocol in ("imap", "pop3", "submission"):
        ops.read_log(
            rf"WARNING roost\.{protocol}: tls failed session=\w+ protocol={protocol} peer=127\.0\.0\.1 error="
        )
    assert "Traceback" not in ops.log
    assert ops.metric("roost_tls_handshake_failures_total", protocol="imap") >= 1


# ----- deliveries, postmaster, plus-addressing --------------------------------------------


def message(to: str, subject: str) -> str:
    return f"From: sender@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.test>\r\n\r\nHello\r\n"


def subjects(ops: Ops, user: str, mailbox: str = "INBOX") -> list[str]:
    client = ops.imap()
    client.login(user, PASSWORD)
    client.select(mailbox)
    _, data = client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    client.logout()
    found = []
    for item in data:
        if isinstance(item, tuple):
            found.append(item[1].decode().strip().removeprefix("Subject: "))
    return found


def test_deliveries_postmaster_and_plus_addressing(ops: Ops) -> None:
    user = ops.server.add_user()
    local, domain = user.split("@")
    client = ops.imap()
    client.login(user, PASSWORD)
    client.create("news")
    client.logout()
    ops.skip_log()
    delivered_before = ops.metric("roost_deliveries_total", protocol="smtp", result="delivered")
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        smtp.sendmail("sender@remote.test", [user], message(user, "plain"))
        smtp.sendmail("sender@remote.test", [f"{local}+news@{domain}"], message(user, "tagged"))
        smtp.sendmail("sender@remote.test", [f"{local}+nofolder@{domain}"], message(user, "other"))
        smtp.sendmail("", [f"PostMaster@{domain}"], message("postmaster", "to-postmaster"))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("sender@remote.test", [f"nobody@{domain}"], message(user, "x"))
    line = ops.read_log(
        r"^.*INFO roost\.delivery: delivery session=\w+ protocol=smtp .*message_id=<plain@remote\.test>.*$"
    ).group(0)
    assert f"sender=sender@remote.test recipient={user} size=" in line
    assert "result=delivered" in line
    ops.read_log(
        r"sender=<> recipient=admin@example\.org size=\d+ message_id=<to-postmaster@remote\.test> result=delivered"
    )
    assert sorted(subjects(ops, user)) == ["other", "plain"]
    assert subjects(ops, user, "news") == ["tagged"]
    assert "to-postmaster" in subjects(ops, "admin@example.org")
    after = ops.metric("roost_deliveries_total", protocol="smtp", result="delivered")
    assert after == delivered_before + 4


def test_a_submission_is_logged(ops: Ops) -> None:
    user = ops.server.add_user()
    other = ops.server.add_user()
    ops.skip_log()
    with smtplib.SMTP(ops.server.host, ops.ports["SUBMISSION"]) as smtp:
        smtp.login(user, PASSWORD)
        smtp.sendmail(
            user,
            [other],
            f"From: {user}\r\nTo: {other}\r\nMessage-ID: <sub@x>\r\nSubject: s\r\n\r\nhi\r\n",
        )
    ops.read_log(
        rf"INFO roost\.submission: submission session=\w+ account={user} sender={user} recipients=1 size=\d+ message_id=<sub@x> result=accepted"
    )
    ops.read_log(
        rf"INFO roost\.delivery: delivery session=\w+ protocol=submission sender={user} recipient={other} .*result=delivered"
    )
    assert ops.metric("roost_submissions_total", result="accepted") >= 1
    # Each SMTP command is timed as IMAP's are, and counted in the logout line.
    for command in ("EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"):
        assert (
            ops.metric("roost_command_seconds_count", protocol="submission", command=command) >= 1
        ), command
    ops.read_log(
        rf"logout session=\w+ protocol=submission peer=127\.0\.0\.1 account={user} "
        r"duration=\d+\.\d{3} commands=[6-9]"
    )
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        assert b"Syntax: MAIL FROM" in smtp.help("MAIL")  # aiosmtpd's HELP still reads it
    assert ops.metric("roost_command_seconds_count", protocol="smtp", command="HELP") >= 1


# ----- aliases of several accounts, catch-alls ---------------------------------------------


def test_an_alias_of_several_accounts(ops: Ops) -> None:
    ann, ben, cat = (ops.server.add_user(f"{name}@team.test") for name in ("ann", "ben", "cat"))
    added = roost(ops.server, "alias", "add", "crew@team.test", ben, ann)
    assert added.stdout == f"crew@team.test -> {ann}, {ben}\n", added.stderr
    ops.skip_log()
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        # ann is named twice (directly and through the alias): she gets one copy.
        sent = smtp.sendmail("sender@remote.test", ["crew@team.test", ann], message(ann, "smtp"))
        assert sent == {}
    ops.read_log(rf"delivery session=\w+ protocol=smtp .*recipient={ben} .*<smtp@remote\.test>")
    # LMTP answers once per RCPT: for the alias, once for both its accounts.
    with smtplib.LMTP(str(ops.server.data_dir / "lmtp.sock")) as lmtp:
        lmtp.ehlo("mta.test")
        lmtp.mail("sender@remote.test")
        assert lmtp.rcpt("crew@team.test")[0] == 250
        assert lmtp.rcpt(cat)[0] == 250
        assert lmtp.data(message("crew@team.test", "lmtp").encode()) == (
            250,
            b"2.0.0 <crew@team.test> delivered",
        )
        assert lmtp.getreply() == (250, f"2.0.0 <{cat}> delivered".encode())
    assert subjects(ops, ann) == subjects(ops, ben) == ["smtp", "lmtp"]
    assert subjects(ops, cat) == ["lmtp"]
    # Each account of the alias may send as it; another may not.
    for member in (ann, ben):
        with smtplib.SMTP(ops.server.host, ops.ports["SUBMISSION"]) as smtp:
            smtp.login(member, PASSWORD)
            mail = f"From: crew@team.test\r\nTo: {cat}\r\nSubject: from {member}\r\n\r\nhi\r\n"
            assert smtp.sendmail("crew@team.test", [cat], mail) == {}
    with smtplib.SMTP(ops.server.host, ops.ports["SUBMISSION"]) as smtp:
        smtp.login(cat, PASSWORD)
        with pytest.raises(smtplib.SMTPSenderRefused):
            smtp.sendmail("crew@team.test", [ann], "From: crew@team.test\r\n\r\nx\r\n")
    assert subjects(ops, cat) == ["lmtp", f"from {ann}", f"from {ben}"]
    with smtplib.SMTP(ops.server.host, ops.ports["SUBMISSION"]) as smtp:  # submitted to it
        smtp.login(cat, PASSWORD)
        mail = f"From: {cat}\r\nTo: crew@team.test\r\nSubject: to crew\r\n\r\nhi\r\n"
        assert smtp.sendmail(cat, ["crew@team.test", ben], mail) == {}
    assert subjects(ops, ann) == subjects(ops, ben) == ["smtp", "lmtp", "to crew"]


def test_an_alias_account_that_fails_gets_its_copy_from_the_queue(ops: Ops) -> None:
    full, other = ops.server.add_user("full@duo.test"), ops.server.add_user("other@duo.test")
    assert roost(ops.server, "alias", "add", "duo@duo.test", full, other).returncode == 0
    assert roost(ops.server, "user", "quota", full, "--messages", "1").returncode == 0
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        smtp.sendmail("sender@remote.test", [full], message(full, "first"))
        # full is over quota: the alias's mail is taken (other has it), full's copy waits.
        assert smtp.sendmail("sender@remote.test", ["duo@duo.test"], message(full, "duo")) == {}
    assert subjects(ops, other) == ["duo"]
    assert "1 recipients waiting" in roost(ops.server, "status").stdout
    assert roost(ops.server, "user", "quota", full, "--messages", "none").returncode == 0
    assert roost(ops.server, "queue", "flush").returncode == 0
    started = time.monotonic()
    while "queue: empty" not in roost(ops.server, "status").stdout:
        assert time.monotonic() - started < 10, "the server did not act on the flush"
        time.sleep(0.2)
    assert subjects(ops, full) == ["first", "duo"]
    assert subjects(ops, other) == ["duo"]  # once, however the retry went


def test_a_catch_all_takes_unknown_addresses_but_not_postmaster(ops: Ops) -> None:
    keeper = ops.server.add_user("keeper@catch.test")
    set_it = roost(ops.server, "domain", "set", "catch.test", "--catch-all", keeper)
    assert set_it.returncode == 0, set_it.stderr
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        assert smtp.sendmail("s@remote.test", ["typo@catch.test"], message("typo", "typo")) == {}
        smtp.sendmail("s@remote.test", ["postmaster@catch.test"], message("pm", "pm-catch"))
    assert subjects(ops, keeper) == ["typo"]
    assert "pm-catch" in subjects(ops, "admin@example.org")  # the configured postmaster
    assert roost(ops.server, "domain", "set", "catch.test", "--catch-all", "none").returncode == 0
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("s@remote.test", ["typo@catch.test"], message("typo", "again"))
        assert refused.value.recipients["typo@catch.test"][0] == 550


# ----- services per account ---------------------------------------------------------------


def test_services_per_account(ops: Ops) -> None:
    address = "limited@example.org"
    result = roost(ops.server, "user", "add", address, "--services", "pop3", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "(pop3)" in roost(ops.server, "user", "list").stdout
    ops.skip_log()
    client = ops.imap()
    with pytest.raises(imaplib.IMAP4.error, match=r"\[CONTACTADMIN\]"):
        client.login(address, PASSWORD)
    client.shutdown()
    ops.read_log(
        rf"INFO roost\.imap: login refused session=\w+ protocol=imap peer=127\.0\.0\.1 account={address} mechanism=LOGIN"
    )
    with smtplib.SMTP(ops.server.host, ops.ports["SUBMISSION"]) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(address, PASSWORD)
        assert refused.value.smtp_code == 535
    pop = poplib.POP3(ops.server.host, ops.ports["POP3"])
    pop.user(address)
    assert pop.pass_(PASSWORD).startswith(b"+OK")
    pop.quit()
    assert roost(ops.server, "user", "set", address, "--services", "imap").returncode == 0
    pop = poplib.POP3(ops.server.host, ops.ports["POP3"])
    pop.user(address)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        pop.pass_(PASSWORD)
    pop.close()
    client = ops.imap()
    client.login(address, PASSWORD)
    client.logout()
    assert roost(ops.server, "user", "set", address, "--services", "all").returncode == 0
    assert "limited@example.org  (" not in roost(ops.server, "user", "list").stdout
    assert ops.metric("roost_logins_total", protocol="imap", result="refused") >= 1


# ----- status, kick, queue flush ----------------------------------------------------------


def test_status_and_kick(ops: Ops) -> None:
    user = ops.server.add_user()
    client = ops.imap()
    client.login(user, PASSWORD)
    client.xatom("ID", '("name" "Thunderbird" "version" "128.0")')
    client.select("INBOX")
    status = roost(ops.server, "status")
    assert status.returncode == 0, status.stderr
    (line,) = [line for line in status.stdout.splitlines() if user in line]
    assert re.search(
        rf"\w{{8}}  imap\s+{re.escape(user)}\s+127\.0\.0\.1\s+since \S+  \d+ commands  client Thunderbird 128\.0",
        line,
    )
    kicked = roost(ops.server, "kick", user)
    assert kicked.returncode == 0, kicked.stderr
    assert kicked.stdout.strip() == f"ended 1 sessions of {user}"
    client.sock.settimeout(10)
    rest = b""
    while chunk := client.sock.recv(4096):
        rest += chunk
    client.sock.close()
    assert rest.startswith(b"* BYE Disconnected by the administrator")
    assert user not in roost(ops.server, "status").stdout


def test_queue_flush_acts_at_once(ops: Ops) -> None:
    full, other = ops.server.add_user(), ops.server.add_user()
    assert roost(ops.server, "user", "quota", full, "--messages", "1").returncode == 0
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        smtp.sendmail("sender@remote.test", [full], message(full, "first"))
        # full is over quota now: other gets it, full's copy waits in the queue (300 s)
        smtp.sendmail("sender@remote.test", [full, other], message(full, "second"))
    assert "1 recipients waiting" in roost(ops.server, "status").stdout
    assert ops.metric("roost_queue_entries") == 1
    assert ops.metric("roost_queue_oldest_seconds") > 0
    assert roost(ops.server, "user", "quota", full, "--messages", "none").returncode == 0
    started = time.monotonic()
    flushed = roost(ops.server, "queue", "flush")
    assert flushed.stdout.strip() == "1 entries due now; the server is trying them"
    while "queue: empty" not in roost(ops.server, "status").stdout:
        assert time.monotonic() - started < 10, "the server did not act on the flush"
        time.sleep(0.2)
    assert sorted(subjects(ops, full)) == ["first", "second"]
    assert ops.metric("roost_queue_entries") == 0


def test_push_latency_is_measured(ops: Ops) -> None:
    user = ops.server.add_user()
    pushed_before = ops.metric("roost_push_seconds_count")
    idler = RawImap(ops.server.host, ops.server.imap_port)
    idler.ok(f'LOGIN "{user}" "{PASSWORD}"')
    idler.ok("SELECT INBOX")
    idler.file.write(b"i IDLE\r\n")
    idler.file.flush()
    assert idler.read_line().startswith(b"+ ")
    with smtplib.SMTP(ops.server.host, ops.ports["SMTP"]) as smtp:
        smtp.sendmail("sender@remote.test", [user], message(user, "pushed"))
    assert idler.read_line() == b"* 1 EXISTS\r\n"
    idler.file.write(b"DONE\r\n")
    idler.file.flush()
    idler.sock.close()
    assert ops.metric("roost_push_seconds_count") >= pushed_before + 1


# ----- shutdown, SIGHUP, JSON lines -------------------------------------------------------


def test_every_session_gets_a_goodbye_at_shutdown(tmp_path: Path) -> None:
    running = start_ops(tmp_path / "data")
    user = running.server.add_user()
    imap = running.imap()
    imap.login(user, PASSWORD)
    pop = socket.create_connection((running.server.host, running.ports["POP3"]))
    smtp = socket.create_connection((running.server.host, running.ports["SUBMISSION"]))
    assert pop.recv(1024).startswith(b"+OK")
    assert smtp.recv(1024).startswith(b"220")
    running.server.process.send_signal(signal.SIGTERM)
    assert running.server.process.wait(timeout=15) == 0
    imap.sock.settimeout(5)
    assert imap.sock.recv(4096).startswith(b"* BYE Server shutting down")
    pop.settimeout(5)
    assert pop.recv(1024) == b"-ERR [SYS/TEMP] Server shutting down\r\n"
    smtp.settimeout(5)
    assert smtp.recv(1024) == b"421 4.3.2 localhost Server shutting down\r\n"
    for sock in (pop, smtp, imap.sock):
        sock.close()
    stop_server(running.server)


def certificate_of(host: str, port: int, cafile: Path) -> bytes:
    context = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection((host, port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        cert = tls.getpeercert(binary_form=True)
    assert cert is not None
    return cert


def test_sighup_reloads_the_certificate(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    ensure_certificate(certs / "cert.pem", certs / "key.pem", "localhost")
    config = tmp_path / "roost.toml"
    config.write_text(f'[tls]\ncert = "{certs / "cert.pem"}"\nkey = "{certs / "key.pem"}"\n')
    server = start_server(tmp_path / "data", config=config)
    try:
        user = server.add_user()
        first = certificate_of(server.host, server.imaps_port, certs / "cert.pem")
        kept = imaplib.IMAP4_SSL(
            server.host,
            server.imaps_port,
            ssl_context=ssl.create_default_context(cafile=str(certs / "cert.pem")),
        )
        kept.login(user, PASSWORD)
        (certs / "cert.pem").unlink()
        (certs / "key.pem").unlink()
        ensure_certificate(certs / "cert.pem", certs / "key.pem", "localhost")  # renewed
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while certificate_of(server.host, server.imaps_port, certs / "cert.pem") == first:
            assert time.monotonic() < deadline, "SIGHUP did not reload the certificate"
            time.sleep(0.1)
        assert kept.noop()[0] == "OK"  # the session from before goes on
        kept.logout()
    finally:
        stop_server(server)


def test_json_lines(tmp_path: Path) -> None:
    running = start_ops(tmp_path / "data", 'log_format = "json"\n')
    try:
        user = running.server.add_user()
        client = running.imap()
        client.login(user, PASSWORD)
        client.logout()
        running.read_log(r'"event": "logout"')
    finally:
        stop_server(running.server)
    events = [json.loads(line) for line in running.log.splitlines() if line.strip()]
    (login,) = [e for e in events if e.get("event") == "login ok"]
    assert login["account"] == user and login["protocol"] == "imap"
    assert login["peer"] == "127.0.0.1" and login["mechanism"] == "LOGIN"
    assert login["level"] == "INFO" and login["logger"] == "roost.imap"


# ----- start-up errors: one line each -----------------------------------------------------


def serve_once(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    environ.update(
        ROOST_DATA_DIR=str(data_dir),
        ROOST_HOSTNAME="localhost",
        **{f"ROOST_{name}_PORT": "0" for name in ("IMAPS", "LMTP", *PORT_NAMES)},
        ROOST_IMAP_PORT=str(free_port()),
    )
    environ.pop("ROOST_CONFIG", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "roost", *args, "serve"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "WARNING roost: postmaster" not in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_port_in_use_names_its_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(serve_once(tmp_path / "data", ROOST_IMAP_PORT=str(port)))
    assert line == (
        f"roost: cannot listen on 127.0.0.1 port {port} (ports.imap, ROOST_IMAP_PORT): the port "
        "is in use by another program: stop it or choose another port for ports.imap"
    )


def test_a_missing_configured_certificate_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "roost.toml"
    config.write_text('[tls]\ncert = "typo/cert.pem"\nkey = "typo/key.pem"\n')
    line = one_line(serve_once(tmp_path / "data", "--config", str(config)))
    assert line.startswith(
        f"roost: TLS certificate file {tmp_path / 'typo' / 'cert.pem'} does not exist: fix [tls] cert"
    )
    assert not (tmp_path / "typo").exists()  # nothing written at the mistyped path


def test_a_key_that_does_not_match(tmp_path: Path) -> None:
    ensure_certificate(tmp_path / "a" / "cert.pem", tmp_path / "a" / "key.pem", "localhost")
    ensure_certificate(tmp_path / "b" / "cert.pem", tmp_path / "b" / "key.pem", "localhost")
    config = tmp_path / "roost.toml"
    config.write_text('[tls]\ncert = "a/cert.pem"\nkey = "b/key.pem"\n')
    line = one_line(serve_once(tmp_path / "data", "--config", str(config)))
    assert line == (
        f"roost: TLS key {tmp_path / 'b' / 'key.pem'} does not match the certificate "
        f"{tmp_path / 'a' / 'cert.pem'}: point [tls] key at the key the certificate was issued for"
    )


def test_a_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    line = one_line(serve_once(blocker / "data"))
    assert line.startswith(f"roost: data directory {blocker / 'data'} is not writable by user ")
    assert line.endswith("or set data_dir / ROOST_DATA_DIR")


def test_files_are_private(tmp_path: Path) -> None:
    # The LMTP socket gets the configured mode and group, for an MTA of another user: as
    # root any group will do (nogroup, if there is one), otherwise one's own.
    gid = 65534 if os.geteuid() == 0 and _group_name(65534) else os.getgid()
    running = start_ops(
        tmp_path / "data", f'lmtp_socket_mode = "0620"\nlmtp_socket_owner = ":{_group_name(gid)}"\n'
    )
    socket_path = tmp_path / "data" / "lmtp.sock"
    try:
        assert stat.S_IMODE(socket_path.stat().st_mode) == 0o620
        assert socket_path.stat().st_gid == gid
    finally:
        stop_server(running.server)
    data = tmp_path / "data"
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "roost.db").stat().st_mode & 0o777 == 0o600
    assert (data / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


def test_an_lmtp_socket_owner_that_does_not_exist(tmp_path: Path) -> None:
    config = tmp_path / "roost.toml"
    config.write_text('lmtp_socket_owner = "no-such-user-here"\n')
    result = serve_once(tmp_path / "data", "--config", str(config))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.splitlines()[-1]  # after the listeners opened before it
    assert line.startswith("roost: cannot give the LMTP socket ")
    assert "owner 'no-such-user-here' and mode 0660 (lmtp_socket_owner, lmtp_socket_mode)" in line
