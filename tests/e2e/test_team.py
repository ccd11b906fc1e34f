"""Team mailboxes end to end (issue 15): the real `roost serve` with its IMAP, SMTP, LMTP and
submission listeners, `roost team` and `roost acl` run beside it, two and three users over
real sockets: team mail pushed to every member's idling session, \\Seen per member, rights
granted and revoked while sessions are open, and a user with no rights on a mailbox walking
every command without learning anything of it."""

from __future__ import annotations

import imaplib
import re
import smtplib
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, stop_server
from tests.e2e.rawimap import RawImap
from tests.e2e.test_smtp import SmtpPorts, smtp_server

pytestmark = pytest.mark.e2e

Mail = tuple[Server, SmtpPorts]


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mail]:
    # No mail leaves: the smarthost port is a free one nobody listens on.
    server, ports = smtp_server(tmp_path_factory.mktemp("team") / "data", free_port())
    yield server, ports
    stop_server(server)


def login(server: Server, user: str) -> RawImap:
    # Generous timeout: the reads below wait for a push on a loaded 2-core machine. IMAP4rev2
    # has no \Recent, so an idling session hears EXISTS alone.
    client = RawImap(server.host, server.imap_port, timeout=60.0)
    client.ok(f'LOGIN {user} "{PASSWORD}"')
    client.ok("ENABLE IMAP4rev2")
    return client


def flags(data: list[object]) -> list[set[bytes]]:
    """The FLAGS of each message in an imaplib FETCH answer, without IMAP4rev1's \\Recent."""
    found = []
    for item in data:
        assert isinstance(item, bytes)
        match = re.search(rb"FLAGS \(([^)]*)\)", item)
        assert match is not None, item
        found.append(set(match.group(1).split()) - {b"\\Recent"})
    return found


def idle(client: RawImap) -> None:
    client.file.write(b"idle IDLE\r\n")
    client.file.flush()
    assert client.read_line().startswith(b"+ ")


def done(client: RawImap) -> list[bytes]:
    """Ends IDLE; returns what came before its tagged OK."""
    client.file.write(b"DONE\r\n")
    client.file.flush()
    lines = []
    while not (line := client.read_line()).startswith(b"idle "):
        lines.append(line)
    assert line.startswith(b"idle OK"), line
    return lines


def make_team(server: Server, *members: str) -> str:
    team = f"team{free_port()}@example.org"
    args = [arg for member in members for arg in ("--member", member)]
    result = server.roost("team", "add", team, *args)
    assert result.returncode == 0, result.stderr
    return team


def shared(team: str) -> str:
    return "Shared/" + team.split("@")[0]


def test_team_mail_over_smtp_and_lmtp_reaches_every_idling_member(mail: Mail) -> None:
    server, ports = mail
    members = [server.add_user() for _ in range(3)]
    team = make_team(server, *members)
    inbox = f'"{shared(team)}/INBOX"'
    sessions = [login(server, member) for member in members]
    for session in sessions:
        session.ok(f"SELECT {inbox}")
        idle(session)
    with smtplib.SMTP("127.0.0.1", ports.smtp, local_hostname="mx.remote.test") as client:
        client.sendmail("customer@remote.test", [team], b"Subject: help\r\n\r\nplease\r\n")
    for session in sessions:
        assert session.read_line() == b"* 1 EXISTS\r\n"
    with smtplib.LMTP("127.0.0.1", ports.lmtp, local_hostname="mta.test") as lmtp:
        assert lmtp.sendmail("other@remote.test", [team], b"Subject: again\r\n\r\nx\r\n") == {}
    for session in sessions:
        assert session.read_line() == b"* 2 EXISTS\r\n"
        done(session)
        session.close()
    # The mail is the team's, not a member's: their own INBOX is empty.
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as client:
        client.login(members[0], PASSWORD)
        status, data = client.status("INBOX", "(MESSAGES)")
        assert status == "OK" and b"(MESSAGES 0)" in data[0]


def test_members_send_as_the_team_and_others_do_not(mail: Mail) -> None:
    server, ports = mail
    alice, mallory = server.add_user(), server.add_user()
    team = make_team(server, alice)
    message = f"From: {team}\r\nTo: {team}\r\nSubject: from the team\r\n\r\nhi\r\n".encode()
    with smtplib.SMTP("127.0.0.1", ports.submission, local_hostname="client.test") as client:
        client.login(alice, PASSWORD)
        assert client.sendmail(team, [team], message) == {}
    with smtplib.SMTP("127.0.0.1", ports.submission, local_hostname="client.test") as client:
        client.login(mallory, PASSWORD)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(team, [team], message)
        assert refused.value.smtp_code == 553
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as client:
        client.login(alice, PASSWORD)
        client.select(f'"{shared(team)}/INBOX"', readonly=True)
        _, data = client.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"Subject: from the team" in data[0][1]
    stranger = imaplib.IMAP4("127.0.0.1", server.imap_port)
    try:
        for password in ("", "!team", PASSWORD):  # nobody logs in to a team
            with pytest.raises(imaplib.IMAP4.error):
                stranger.login(team, password)
    finally:
        stranger.shutdown()


def test_each_member_has_their_own_seen_and_shares_the_other_flags(mail: Mail) -> None:
    server, ports = mail
    alice, bob = server.add_user(), server.add_user()
    team = make_team(server, alice, bob)
    inbox = f'"{shared(team)}/INBOX"'
    with smtplib.LMTP("127.0.0.1", ports.lmtp, local_hostname="mta.test") as lmtp:
        for n in range(2):
            lmtp.sendmail("c@remote.test", [team], f"Subject: {n}\r\n\r\nbody {n}\r\n".encode())
    a = imaplib.IMAP4("127.0.0.1", server.imap_port)
    b = imaplib.IMAP4("127.0.0.1", server.imap_port)
    try:
        a.login(alice, PASSWORD)
        b.login(bob, PASSWORD)
        a.select(inbox)
        b.select(inbox)
        a.fetch("1", "(BODY[])")  # alice reads the first: \Seen for her alone
        a.store("2", "+FLAGS", "(\\Flagged)")
        assert flags(a.fetch("1:2", "(FLAGS)")[1]) == [{b"\\Seen"}, {b"\\Flagged"}]
        # Bob hears of alice's \\Flagged, never of her \\Seen.
        b.noop()
        assert flags(b.response("FETCH")[1]) == [{b"\\Flagged"}]
        assert flags(b.fetch("1:2", "(FLAGS)")[1]) == [set(), {b"\\Flagged"}]
        assert b.status(inbox, "(UNSEEN)")[1] == [f"{inbox} (UNSEEN 2)".encode()]
        assert a.status(inbox, "(UNSEEN)")[1] == [f"{inbox} (UNSEEN 1)".encode()]
        assert a.search(None, "UNSEEN")[1] == [b"2"]
        assert b.search(None, "UNSEEN")[1] == [b"1 2"]
    finally:
        a.logout()
        b.logout()


def test_rights_granted_and_revoked_while_sessions_are_open(mail: Mail) -> None:
    server, _ = mail
    alice, bob = server.add_user(), server.add_user()
    owner = login(server, alice)
    owner.ok("CREATE Projects")
    body = b"Subject: plan\r\n\r\nthe plan\r\n"
    owner.ok(f"APPEND Projects {{{len(body)}+}}\r\n".encode() + body)
    grantee = login(server, bob)
    label = alice.split("@")[0]
    name = f'"Other Users/{label}/Projects"'
    assert grantee.ok('LIST "" "Other Users/*"') == []
    # Granted from the command line while bob's session is open: LIST shows it at once.
    assert server.roost("acl", "set", alice, "Projects", bob, "lr").returncode == 0
    listed = grantee.ok('LIST "" "Other Users/*"')
    assert listed[-1] == f'* LIST (\\HasNoChildren) "/" {name}'.encode()
    grantee.ok(f"EXAMINE {name}")
    idle(grantee)
    owner.ok(f"APPEND Projects {{{len(body)}+}}\r\n".encode() + body)
    assert grantee.read_line() == b"* 2 EXISTS\r\n"
    # Granted over IMAP by the owner: bob may now mark messages read.
    owner.ok(f"SETACL Projects {bob} +s")
    done(grantee)
    grantee.ok(f"SELECT {name}")
    grantee.ok("STORE 1 +FLAGS (\\Seen)")
    # Revoked while bob idles: he hears a BYE, never more of the mailbox.
    idle(grantee)
    assert server.roost("acl", "delete", alice, "Projects", bob).returncode == 0
    assert grantee.read_line().startswith(b"* BYE ")
    grantee.file.close()
    grantee.sock.close()
    again = login(server, bob)
    assert again.ok('LIST "" "Other Users/*"') == []
    assert again.command(f"SELECT {name}")[0].endswith("NO [NONEXISTENT] No such mailbox")
    again.close()
    owner.close()


# ----- a user with no rights on a mailbox learns nothing of it ---------------------------

WALK = [
    "SELECT {m}",
    "EXAMINE {m}",
    "STATUS {m} (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ)",
    "STATUS {m} (MESSAGES)",
    'LIST "" {m}',
    'LIST "" "Other Users/*"',
    'LIST "" "*"',
    'LIST "" "%"',
    'LIST (SUBSCRIBED) "" "*"',
    'LSUB "" "*"',
    'LIST "" "*" RETURN (STATUS (MESSAGES))',
    "SUBSCRIBE {m}",
    "UNSUBSCRIBE {m}",
    "CREATE {m}/Child",
    "DELETE {m}",
    "RENAME {m} Stolen",
    "RENAME INBOX/Nothing {m}",
    "APPEND {m} {{4+}}\r\nx\r\n",
    "GETACL {m}",
    "SETACL {m} {me} lrswipkxtea",
    "DELETEACL {m} {me}",
    "LISTRIGHTS {m} {me}",
    "MYRIGHTS {m}",
    "GETQUOTAROOT {m}",
    "ESEARCH IN (MAILBOXES {m}) RETURN (COUNT) ALL",
    "ESEARCH IN (SUBTREE {m}) RETURN (COUNT) ALL",
    "NOTIFY SET STATUS (MAILBOXES {m} (MessageNew MessageExpunge FlagChange))",
    "NOTIFY NONE",
    "SELECT INBOX",
    "COPY 1 {m}",
    "MOVE 1 {m}",
    "UNSELECT",
]


def _walk(client: RawImap, mailbox: str, me: str) -> list[str]:
    answers = []
    for step in WALK:
        status, untagged = client.command(step.format(m=mailbox, me=me))
        lines = [*untagged, status.split(" ", 1)[1].encode()]  # without its tag
        answers.append("\n".join(line.decode(errors="replace") for line in lines))
    return answers


def test_no_rights_walk_reveals_nothing(mail: Mail) -> None:
    server, ports = mail
    alice, bob = server.add_user(), server.add_user()
    owner = login(server, alice)
    owner.ok("CREATE Secret")
    owner.ok("CREATE Secret/Deeper")
    for n in range(3):
        body = f"Subject: secret {n}\r\n\r\nconfidential\r\n".encode()
        owner.ok(f"APPEND Secret (\\Flagged $Hidden) {{{len(body)}+}}\r\n".encode() + body)
    # Rights on another of alice's mailboxes must not open this one.
    owner.ok(f"SETACL Sent {bob} lr")
    spy = login(server, bob)
    spy.ok("APPEND INBOX {4+}\r\nx\r\n")
    label = alice.split("@")[0]
    # The same walk over the real mailbox and over names that are nothing at all.
    secret, nothing = f"Other Users/{label}/Secret", f"Other Users/{label}/Nothing"
    real = _walk(spy, f'"{secret}"', bob)
    absent = _walk(spy, f'"{nothing}"', bob)
    nobody = _walk(spy, '"Other Users/nobody/Secret"', bob)
    for step, seen, unseen, stranger in zip(WALK, real, absent, nobody, strict=True):
        assert seen.replace(secret, nothing) == unseen, step
        assert stranger.replace("Other Users/nobody/Secret", nothing) == unseen, step
    everything = "\n".join(real).lower()
    for leak in ("confidential", "$hidden", "deeper", "secret 0"):
        assert leak not in everything
    shared_lines = [line for line in everything.splitlines() if "other users/" in line]
    assert not any(re.search(r"\(messages [1-9]", line) for line in shared_lines)
    # Alice's mailbox is as she left it: nothing bob tried changed it.
    status = owner.ok("STATUS Secret (MESSAGES)")
    assert status == [b'* STATUS "Secret" (MESSAGES 3)']
    assert owner.ok('LIST "" "Secret*"')[-1].endswith(b'"Secret/Deeper"')
    # While bob watches with NOTIFY, new mail in Secret tells him nothing.
    spy.ok(
        "NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName)) "
        '(SUBTREE "Other Users" (MessageNew MessageExpunge))'
    )
    idle(spy)
    body = b"Subject: more\r\n\r\nx\r\n"
    owner.ok(f"APPEND Secret {{{len(body)}+}}\r\n".encode() + body)
    owner.ok("NOOP")
    assert done(spy) == []
    spy.close()
    owner.close()
