"""POP3 sessions as transcripts (see transcript.py): authorization, the maildrop commands,
byte-exact RETR and TOP, and POP3 beside IMAP devices on one INBOX."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.imap.transcript import crlf
from tests.pop3.transcript import PopScene, transcript

LUNCH = """\
From: Bob <bob@example.org>
To: alice@example.org
Subject: Lunch

See you at noon.
Bring the map.
"""

# Lines that begin with "." (one a lone dot, which would end a response unstuffed).
DOTS = """\
From: Carol <carol@example.org>
Subject: Dots

.hidden
.
..two
end
"""

# Stored with bare LF and no line end on the last line, as a careless APPEND may leave it.
BARE = b"From: Dan <dan@example.org>\nSubject: Bare\n\nfirst\n.dotted\nno line end"

MESSAGES: dict[str, str | bytes] = {"lunch": LUNCH, "dots": DOTS, "bare": BARE}
SIZE = {
    "lunch": len(crlf(LUNCH)),
    "dots": len(crlf(DOTS)),
    "bare": len(BARE.replace(b"\n", b"\r\n") + b"\r\n"),
}

Run = Callable[..., PopScene]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES)


# --- authorization ------------------------------------------------------------------------


def test_greeting_and_capabilities(run: Run) -> None:
    run(
        """
        Sp1: +OK Roost POP3 ready
        Cp1: CAPA
        Sp1: +OK Capability list follows
        Sp1: TOP
        Sp1: UIDL
        Sp1: RESP-CODES
        Sp1: AUTH-RESP-CODE
        Sp1: PIPELINING
        Sp1: USER
        Sp1: SASL PLAIN
        Sp1: IMPLEMENTATION Roost
        Sp1: .
        Cp1: USER alice@example.org
        Sp1: +OK Send PASS
        Cp1: PASS secret
        Sp1: +OK Logged in; maildrop has 0 messages (0 octets)
        Cp1: CAPA
        Sp1: +OK Capability list follows
        Sp1: TOP
        Sp1: UIDL
        Sp1: RESP-CODES
        Sp1: AUTH-RESP-CODE
        Sp1: PIPELINING
        Sp1: IMPLEMENTATION Roost
        Sp1: .
        """
    )


def test_commands_before_authentication_are_refused(run: Run) -> None:
    run(
        """
        Cp1: STAT
        Sp1: -ERR Log in first
        Cp1: LIST
        Sp1: -ERR Log in first
        Cp1: UIDL 1
        Sp1: -ERR Log in first
        Cp1: RETR 1
        Sp1: -ERR Log in first
        Cp1: TOP 1 0
        Sp1: -ERR Log in first
        Cp1: DELE 1
        Sp1: -ERR Log in first
        Cp1: RSET
        Sp1: -ERR Log in first
        Cp1: NOOP
        Sp1: -ERR Log in first
        Cp1: PASS secret
        Sp1: -ERR Send USER first
        Cp1: APOP alice@example.org c4c9334bac560ecc979e58001b3e22fb
        Sp1: -ERR unknown command APOP
        Cp1: RETR one
        Sp1: -ERR expected a number
        Cp1: QUIT
        Sp1: +OK Bye
        """,
        deliver=["lunch"],
    )


def test_after_login_the_authorization_commands_are_refused(run: Run) -> None:
    run(
        """
        Cp1: USER alice@example.org
        Sp1: -ERR Already logged in
        Cp1: PASS secret
        Sp1: -ERR Already logged in
        Cp1: AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        Sp1: -ERR Already logged in
        Cp1: STLS
        Sp1: -ERR Already logged in
        """,
        login=["p1"],
    )


def test_auth_plain_with_and_without_initial_response(run: Run) -> None:
    run(
        """
        Cp1: AUTH
        Sp1: +OK Mechanisms follow
        Sp1: PLAIN
        Sp1: .
        Cp1: AUTH LOGIN
        Sp1: -ERR Unsupported mechanism LOGIN; use PLAIN
        Cp1: AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        Sp1: +OK Logged in; maildrop has 1 messages (... octets)
        Cp2: AUTH PLAIN
        Sp2: +
        Cp2: *
        Sp2: -ERR AUTH cancelled
        Cp2: AUTH PLAIN
        Sp2: +
        Cp2: not*base64
        Sp2: -ERR invalid base64 in SASL response
        Cp2: AUTH PLAIN
        Sp2: +
        Cp2: AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        Sp2: +OK Logged in; maildrop has 1 messages (... octets)
        """,
        deliver=["lunch"],
    )


def test_failed_plain_and_acting_for_another(run: Run) -> None:
    scene = run(
        """
        Cp1: AUTH PLAIN =
        Sp1: -ERR [AUTH] Malformed PLAIN credentials
        Cp1: AUTH PLAIN Ym9iQGV4YW1wbGUub3JnAGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        Sp1: -ERR [AUTH] Acting as another user is not allowed
        Cp1: AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n
        Sp1: -ERR [AUTH] Invalid credentials
        """
    )
    assert scene.slept == [1.0, 2.0, 4.0]


def test_wrong_passwords_are_answered_ever_later_then_the_connection_closes(run: Run) -> None:
    wrong = "Cp1: USER alice@example.org\nSp1: +OK Send PASS\nCp1: PASS wrong\n"
    scene = run(
        (wrong + "Sp1: -ERR [AUTH] Invalid credentials\n") * 3
        + "Cp1: USER nobody@example.org\nSp1: +OK Send PASS\nCp1: PASS secret\n"
        + "Sp1: -ERR [AUTH] Invalid credentials\n"
        + "Cp1: USER alice@example.org\nSp1: +OK Send PASS\nCp1: PASS secret\n"
        + "Sp1: +OK Logged in; ...\n"
        + (wrong.replace("p1", "p2") + "Sp2: -ERR [AUTH] Invalid credentials\n") * 9
        + wrong.replace("p1", "p2")
        + "Sp2: -ERR [AUTH] Invalid credentials; too many failures, closing\n"
    )
    assert scene.slept == [1.0, 2.0, 4.0, 8.0] + [1.0, 2.0, 4.0, 8.0] + [15.0] * 6
    assert scene.clients["p2"].session.closed


def test_no_password_in_the_clear_from_another_machine(run: Run) -> None:
    run(
        """
        Cp1: CAPA
        Sp1: +OK Capability list follows
        Sp1: TOP
        Sp1: UIDL
        Sp1: RESP-CODES
        Sp1: AUTH-RESP-CODE
        Sp1: PIPELINING
        Sp1: STLS
        Sp1: IMPLEMENTATION Roost
        Sp1: .
        Cp1: USER alice@example.org
        Sp1: -ERR [AUTH] Log in over TLS (STLS, or port 1995) or from this machine
        Cp1: AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        Sp1: -ERR [AUTH] Log in over TLS (STLS, or port 1995) or from this machine
        Cp1: STLS
        Sp1: +OK Begin TLS negotiation now
        Cp1: STLS
        Sp1: -ERR TLS is already active
        Cp1: CAPA
        Sp1: +OK Capability list follows
        Sp1: ...
        Sp1: USER
        Sp1: SASL PLAIN
        Sp1: IMPLEMENTATION Roost
        Sp1: .
        Cp1: USER alice@example.org
        Sp1: +OK Send PASS
        Cp1: PASS secret
        Sp1: +OK Logged in; ...
        """,
        remote=["p1"],
        tls=True,
    )


def test_stls_discards_commands_pipelined_after_it(tmp_path: Path) -> None:
    """RFC 2595 §4 (CVE-2011-0411): what came in the clear after STLS is not a command."""

    async def main() -> None:
        async with PopScene(tmp_path, remote=["p1"], tls=True) as scene:
            client = await scene.client("p1")
            await client.session.feed(b"STLS\r\nUSER alice@example.org\r\nPASS secret\r\nSTAT\r\n")
            assert client.receive() == ["+OK Begin TLS negotiation now"]
            assert client.conn.tls_started == 1 and client.session.account is None
            client.pending.clear()
            await client.session.feed(b"STAT\r\n")
            assert client.receive() == ["-ERR Log in first"]

    asyncio.run(main())


def test_stls_without_tls_configured(run: Run) -> None:
    run(
        """
        Cp1: STLS
        Sp1: -ERR TLS is not configured
        """
    )


def test_an_over_long_line_is_refused_and_the_session_goes_on(run: Run) -> None:
    run(
        f"""
        Cp1: USER {"x" * 3000}
        Sp1: -ERR line longer than 1024 octets
        Cp1: USER alice@example.org
        Sp1: +OK Send PASS
        """,
        max_line_length=1024,
    )


# --- the maildrop ------------------------------------------------------------------------------


def test_stat_list_uidl_and_retr(run: Run) -> None:
    lunch, dots = SIZE["lunch"], SIZE["dots"]
    run(
        f"""
        Cp1: USER alice@example.org
        Sp1: +OK Send PASS
        Cp1: PASS secret
        Sp1: +OK Logged in; maildrop has 2 messages ({lunch + dots} octets)
        Cp1: STAT
        Sp1: +OK 2 {lunch + dots}
        Cp1: LIST
        Sp1: +OK 2 messages ({lunch + dots} octets)
        Sp1: 1 {lunch}
        Sp1: 2 {dots}
        Sp1: .
        Cp1: LIST 2
        Sp1: +OK 2 {dots}
        Cp1: LIST 3
        Sp1: -ERR no message 3
        Cp1: LIST 0
        Sp1: -ERR no message 0
        Cp1: UIDL
        Sp1: +OK Unique-ID listing follows
        Sp1: re:1 \\d+\\.1
        Sp1: re:2 \\d+\\.2
        Sp1: .
        Cp1: UIDL 2
        Sp1: re:\\+OK 2 \\d+\\.2
        Cp1: RETR 1
        Sp1: +OK {lunch} octets
        Sp1: From: Bob <bob@example.org>
        Sp1: To: alice@example.org
        Sp1: Subject: Lunch
        Sp1:
        Sp1: See you at noon.
        Sp1: Bring the map.
        Sp1: .
        Cp1: NOOP
        Sp1: +OK
        """,
        deliver=["lunch", "dots"],
    )


def test_retr_and_top_dot_stuff(run: Run) -> None:
    run(
        f"""
        Cp1: RETR 1
        Sp1: +OK {SIZE["dots"]} octets
        Sp1: From: Carol <carol@example.org>
        Sp1: Subject: Dots
        Sp1:
        Sp1: ..hidden
        Sp1: ..
        Sp1: ...two
        Sp1: end
        Sp1: .
        Cp1: TOP 1 2
        Sp1: +OK Top of message follows
        Sp1: From: Carol <carol@example.org>
        Sp1: Subject: Dots
        Sp1:
        Sp1: ..hidden
        Sp1: ..
        Sp1: .
        Cp1: TOP 1 0
        Sp1: +OK Top of message follows
        Sp1: From: Carol <carol@example.org>
        Sp1: Subject: Dots
        Sp1:
        Sp1: .
        Cp1: TOP 1 999999
        Sp1: +OK Top of message follows
        Sp1: ...
        Sp1: end
        Sp1: .
        """,
        deliver=["dots"],
        login=["p1"],
    )


def test_a_message_stored_with_bare_lf_is_sent_with_crlf_and_sized_so(run: Run) -> None:
    scene = run(
        f"""
        Cp1: LIST 1
        Sp1: +OK 1 {SIZE["bare"]}
        Cp1: RETR 1
        Sp1: +OK {SIZE["bare"]} octets
        Sp1: From: Dan <dan@example.org>
        Sp1: Subject: Bare
        Sp1:
        Sp1: first
        Sp1: ..dotted
        Sp1: no line end
        Sp1: .
        """,
        deliver=["bare"],
        login=["p1"],
    )
    # Every line ended by CRLF (the harness would have refused a bare LF in the output).
    assert scene.clients["p1"].conn.output == b""


def test_dele_marks_rset_unmarks_and_quit_deletes(tmp_path: Path) -> None:
    async def main() -> None:
        async with PopScene(tmp_path) as scene:
            uids = [
                await scene.deliver(LUNCH),
                await scene.deliver(DOTS),
                await scene.deliver(LUNCH),
            ]
            await scene.login("p1")
            await scene.run(
                f"""
                Cp1: DELE 1
                Sp1: +OK Message 1 deleted
                Cp1: DELE 1
                Sp1: -ERR message 1 is deleted
                Cp1: RETR 1
                Sp1: -ERR message 1 is deleted
                Cp1: LIST 1
                Sp1: -ERR message 1 is deleted
                Cp1: STAT
                Sp1: +OK 2 {SIZE["dots"] + SIZE["lunch"]}
                Cp1: LIST
                Sp1: +OK 2 messages (...)
                Sp1: 2 {SIZE["dots"]}
                Sp1: 3 {SIZE["lunch"]}
                Sp1: .
                Cp1: RSET
                Sp1: +OK Maildrop has 3 messages (...)
                Cp1: DELE 3
                Sp1: +OK Message 3 deleted
                Cp1: DELE 2
                Sp1: +OK Message 2 deleted
                """
            )
            assert await scene.inbox_uids() == uids  # DELE only marks
            await scene.run(
                """
                Cp1: QUIT
                Sp1: +OK Bye; 2 deleted, 1 left on the server
                """
            )
            assert scene.clients["p1"].session.closed
            assert await scene.inbox_uids() == uids[:1]

    asyncio.run(main())


def test_a_dropped_connection_deletes_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        async with PopScene(tmp_path) as scene:
            uids = [await scene.deliver(LUNCH), await scene.deliver(DOTS)]
            await scene.login("p1")
            await scene.run(
                """
                Cp1: DELE 1
                Sp1: +OK Message 1 deleted
                Cp1: DELE 2
                Sp1: +OK Message 2 deleted
                Xp1:
                """
            )
            assert await scene.inbox_uids() == uids

    asyncio.run(main())


def test_quit_before_login_changes_nothing(run: Run) -> None:
    run(
        """
        Cp1: USER alice@example.org
        Sp1: +OK Send PASS
        Cp1: QUIT
        Sp1: +OK Bye
        """
    )


# --- POP3 beside IMAP devices ----------------------------------------------------------------


def test_quit_expunges_and_idling_imap_devices_hear_it_at_once(tmp_path: Path) -> None:
    async def main() -> None:
        async with PopScene(tmp_path) as scene:
            uids = [
                await scene.deliver(LUNCH),
                await scene.deliver(DOTS),
                await scene.deliver(LUNCH),
            ]
            await scene.login("p1", "i1", "i2")
            await scene.run(
                """
                Ci1: s SELECT INBOX
                Si1: ...
                Si1: s OK [READ-WRITE] SELECT completed
                Ci2: s SELECT INBOX
                Si2: ...
                Si2: s OK [READ-WRITE] SELECT completed
                Ci1: i IDLE
                Si1: + idling
                Cp1: DELE 1
                Sp1: +OK Message 1 deleted
                Cp1: DELE 3
                Sp1: +OK Message 3 deleted
                Cp1: QUIT
                Sp1: +OK Bye; 2 deleted, 1 left on the server
                Pi1:
                Si1: * 3 EXPUNGE
                Si1: * 1 EXPUNGE
                Si1: * 1 RECENT
                Ci1: DONE
                Si1: i OK IDLE terminated
                Ci2: n NOOP
                Si2: * 3 EXPUNGE
                Si2: * 1 EXPUNGE
                Si2: n OK NOOP completed
                """
            )
            assert await scene.inbox_uids() == [uids[1]]

    asyncio.run(main())


def test_a_message_an_imap_device_expunged_meanwhile(run: Run) -> None:
    """RETR of it says so; QUIT still deletes the others, and only them."""
    run(
        f"""
        Cp1: STAT
        Sp1: +OK 3 ...
        Ci1: s SELECT INBOX
        Si1: ...
        Si1: s OK [READ-WRITE] SELECT completed
        Ci1: e UID STORE 1 +FLAGS.SILENT (\\Deleted)
        Si1: e OK UID STORE completed
        Ci1: x EXPUNGE
        Si1: * 1 EXPUNGE
        Si1: * 2 RECENT
        Si1: x OK EXPUNGE completed
        Cp1: LIST 1
        Sp1: +OK 1 {SIZE["lunch"]}
        Cp1: RETR 1
        Sp1: -ERR message 1 was deleted by another client
        Cp1: TOP 1 0
        Sp1: -ERR message 1 was deleted by another client
        Cp1: RETR 2
        Sp1: +OK {SIZE["dots"]} octets
        Sp1: ...
        Sp1: .
        Cp1: DELE 1
        Sp1: +OK Message 1 deleted
        Cp1: DELE 2
        Sp1: +OK Message 2 deleted
        Cp1: QUIT
        Sp1: +OK Bye; 2 deleted, 1 left on the server
        Ci1: n NOOP
        Si1: * 1 EXPUNGE
        Si1: * 1 RECENT
        Si1: n OK NOOP completed
        Ci1: f UID FETCH 1:* (UID)
        Si1: * 1 FETCH (UID 3)
        Si1: f OK UID FETCH completed
        """,
        deliver=["lunch", "dots", "lunch"],
        login=["p1", "i1"],
    )


def test_new_mail_waits_for_the_next_session_and_uidl_is_stable(run: Run) -> None:
    run(
        """
        Cp1: UIDL
        Sp1: +OK Unique-ID listing follows
        Sp1: re:1 (\\d+)\\.1
        Sp1: .
        D: dots
        Cp1: STAT
        Sp1: +OK 1 ...
        Cp1: QUIT
        Sp1: +OK Bye; 0 deleted, 1 left on the server
        Cp2: USER alice@example.org
        Sp2: +OK Send PASS
        Cp2: PASS secret
        Sp2: +OK Logged in; maildrop has 2 messages (...)
        Cp2: UIDL
        Sp2: +OK Unique-ID listing follows
        Sp2: re:1 \\d+\\.1
        Sp2: re:2 \\d+\\.2
        Sp2: .
        """,
        deliver=["lunch"],
        login=["p1"],
    )


def test_uidl_values_are_uidvalidity_and_uid(tmp_path: Path) -> None:
    async def main() -> None:
        async with PopScene(tmp_path) as scene:
            first = await scene.deliver(LUNCH)
            second = await scene.deliver(DOTS)
            await scene.login("p1")
            client = scene.clients["p1"]
            await client.session.feed(b"UIDL\r\nQUIT\r\n")
            validity = scene.inbox.uidvalidity
            assert client.receive() == [
                "+OK Unique-ID listing follows",
                f"1 {validity}.{first}",
                f"2 {validity}.{second}",
                ".",
                "+OK Bye; 0 deleted, 2 left on the server",
            ]

    asyncio.run(main())


def test_retr_leaves_unread_mail_unread_by_default(run: Run) -> None:
    run(
        """
        Cp1: RETR 1
        Sp1: +OK ...
        Sp1: ...
        Sp1: .
        Ci1: s SELECT INBOX
        Si1: ...
        Si1: s OK [READ-WRITE] SELECT completed
        Ci1: f FETCH 1 (FLAGS)
        Si1: * 1 FETCH (FLAGS (\\Recent))
        Si1: f OK FETCH completed
        """,
        deliver=["lunch"],
        login=["p1", "i1"],
    )


def test_retr_marks_seen_when_configured_and_top_never(run: Run) -> None:
    run(
        """
        Ci1: s SELECT INBOX
        Si1: ...
        Si1: s OK [READ-WRITE] SELECT completed
        Ci1: i IDLE
        Si1: + idling
        Cp1: TOP 1 0
        Sp1: +OK Top of message follows
        Sp1: ...
        Sp1: .
        Cp1: RETR 2
        Sp1: +OK ...
        Sp1: ...
        Sp1: .
        Pi1:
        Si1: * 2 FETCH (UID 2 FLAGS (\\Recent \\Seen))
        Ci1: DONE
        Si1: i OK IDLE terminated
        """,
        deliver=["lunch", "dots"],
        login=["p1", "i1"],
        pop3_retr_marks_seen=True,
    )


def test_a_pop3_client_and_two_imap_devices_at_once(tmp_path: Path) -> None:
    """Each device's picture stays right while the others work on the same INBOX."""

    async def main() -> None:
        async with PopScene(tmp_path) as scene:
            for message in (LUNCH, DOTS, LUNCH, DOTS):
                await scene.deliver(message)
            await scene.login("p1", "i1", "i2")
            await scene.run(
                """
                Ci1: s SELECT INBOX
                Si1: ...
                Si1: s OK [READ-WRITE] SELECT completed
                Ci2: s SELECT INBOX
                Si2: ...
                Si2: s OK [READ-WRITE] SELECT completed
                Ci2: i IDLE
                Si2: + idling
                Cp1: DELE 2
                Sp1: +OK Message 2 deleted
                Ci1: m UID MOVE 4 Archive
                Si1: * OK [COPYUID ... 4 1] Moved
                Si1: * 4 EXPUNGE
                Si1: * 3 RECENT
                Si1: m OK UID MOVE completed
                Pi2:
                Si2: * 4 EXPUNGE
                D: lunch
                Pi2:
                Si2: * 4 EXISTS
                Si2: * 1 RECENT
                Cp1: RETR 4
                Sp1: -ERR message 4 was deleted by another client
                Cp1: DELE 4
                Sp1: +OK Message 4 deleted
                Cp1: QUIT
                Sp1: +OK Bye; 2 deleted, 2 left on the server
                Pi2:
                Si2: * 2 EXPUNGE
                Ci2: DONE
                Si2: i OK IDLE terminated
                Ci1: n NOOP
                Si1: * 2 EXPUNGE
                Si1: * 3 EXISTS
                Si1: re:\\* \\d+ RECENT
                Si1: n OK NOOP completed
                Ci1: f UID FETCH 1:* (UID)
                Si1: * 1 FETCH (UID 1)
                Si1: * 2 FETCH (UID 3)
                Si1: * 3 FETCH (UID 5)
                Si1: f OK UID FETCH completed
                Cp2: USER alice@example.org
                Sp2: +OK Send PASS
                Cp2: PASS secret
                Sp2: +OK Logged in; maildrop has 3 messages (...)
                Cp2: UIDL
                Sp2: +OK Unique-ID listing follows
                Sp2: re:1 \\d+\\.1
                Sp2: re:2 \\d+\\.3
                Sp2: re:3 \\d+\\.5
                Sp2: .
                """,
                messages=MESSAGES,
            )

    asyncio.run(main())
