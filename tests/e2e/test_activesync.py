"""ActiveSync end to end: the real `roost serve` over HTTPS with its self-signed
certificate, driven by pyactivesync (an EAS 16.1 client from PyPI that nobody here wrote),
with imaplib on the same account to show both protocols converge."""

from __future__ import annotations

import base64
import imaplib
import re
import smtplib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest
import requests
from pyactivesync import BodyType, Client, EmailChange, FolderType

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.e2e

ATTACHED = b"\x00\x01\x02\x03\x04 attachment bytes"


def message(subject: str, body: str, *, attachment: bool = False) -> bytes:
    head = (
        "From: Bob <bob@example.org>\r\n"
        "To: Alice <alice@example.org>\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 7 Feb 2022 21:52:25 -0800\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
    )
    if not attachment:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    encoded = base64.b64encode(ATTACHED).decode()
    return (
        head + 'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
        "--XX\r\nContent-Type: application/octet-stream; name=data.bin\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=data.bin\r\n\r\n" + encoded + "\r\n--XX--\r\n"
    ).encode()


@pytest.fixture(scope="module")
def eas_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    https = free_port()
    srv = start_server(
        tmp_path_factory.mktemp("roost-eas"),
        extra_env={"ROOST_HTTPS_PORT": str(https)},
        listeners=3,
    )
    yield srv, https
    stop_server(srv)


@pytest.fixture
def account(eas_server: tuple[Server, int]) -> str:
    return eas_server[0].add_user()


@pytest.fixture
def client(
    eas_server: tuple[Server, int], account: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    srv, https = eas_server
    # requests lets REQUESTS_CA_BUNDLE override a session's own `verify`: point it at the
    # server's self-signed certificate, so the certificate is verified, not skipped.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(srv.data_dir / "tls" / "cert.pem"))
    with Client(f"localhost:{https}", account, PASSWORD, device_id="pytestphone1") as c:
        yield c


@pytest.fixture
def imap(eas_server: tuple[Server, int], account: str) -> Iterator[imaplib.IMAP4]:
    srv = eas_server[0]
    connection = imaplib.IMAP4(srv.host, srv.imap_port)
    connection.login(account, PASSWORD)
    connection.select("INBOX")
    yield connection
    connection.logout()


def append(imap: imaplib.IMAP4, data: bytes, mailbox: str = "INBOX") -> None:
    status, _ = imap.append(mailbox, None, None, data)
    assert status == "OK"


def imap_flags(imap: imaplib.IMAP4, uid: int) -> str:
    status, data = imap.uid("FETCH", str(uid), "(FLAGS)")
    assert status == "OK" and data[0] is not None
    line = data[0] if isinstance(data[0], bytes) else data[0][0]
    found = re.search(rb"FLAGS \(([^)]*)\)", line)
    assert found is not None
    return found.group(1).decode()


def inbox_id(client: Client) -> str:
    return next(f.id for f in client.list_folders() if f.type is FolderType.INBOX)


def full_sync(client: Client, folder: str, window: int = 25) -> tuple[str, list[str]]:
    key = client.sync_folder(folder).sync_key
    seen: list[str] = []
    while True:
        result = client.sync_folder(folder, key, window_size=window)
        key = result.sync_key
        seen += [item.server_id for item in result.added]
        assert len(result.added) <= window
        if not result.more_available:
            return key, seen


def test_folder_list(client: Client) -> None:
    folders = {f.name: f for f in client.list_folders()}
    assert folders["INBOX"].type is FolderType.INBOX
    assert folders["Sent"].type is FolderType.SENT_ITEMS
    assert folders["Trash"].type is FolderType.DELETED_ITEMS
    assert folders["Drafts"].type is FolderType.DRAFTS
    assert folders["Archive"].type is FolderType.USER_GENERIC
    assert {f.parent_id for f in folders.values()} == {"0"}


def test_initial_then_incremental_sync(client: Client, imap: imaplib.IMAP4) -> None:
    for n in range(5):
        append(imap, message(f"note {n}", f"body of note {n}"))
    folder = inbox_id(client)
    key, seen = full_sync(client, folder, window=2)
    assert seen == [f"{folder}:{uid}" for uid in range(5, 0, -1)]  # newest first
    append(imap, message("late", "arrived after the first sync"))
    result = client.sync_folder(folder, key)
    assert [item.server_id for item in result.added] == [f"{folder}:6"]
    assert result.added[0].fields["Email.Subject"] == "late"
    assert result.added[0].fields["Email.Read"] == "0"
    assert result.changed == [] and result.deleted == []
    # Nothing more: the same key comes back, with nothing in it.
    again = client.sync_folder(folder, result.sync_key)
    assert (again.added, again.changed, again.deleted) == ([], [], [])


def test_imap_and_activesync_converge(client: Client, imap: imaplib.IMAP4) -> None:
    append(imap, message("first", "one"))
    append(imap, message("second", "two"))
    append(imap, message("third", "three"))
    folder = inbox_id(client)
    key, _ = full_sync(client, folder)

    # A flag set over IMAP shows up in the next ActiveSync Sync ...
    status, _ = imap.uid("STORE", "1", "+FLAGS", r"(\Flagged)")
    assert status == "OK"
    result = client.sync_folder(folder, key)
    assert [(c.server_id, c.fields.get("Email.Status")) for c in result.changed] == [
        (f"{folder}:1", "2")
    ]

    # ... a message read on the phone is \Seen for the IMAP client ...
    assert "\\Seen" not in imap_flags(imap, 2)
    changed = client.apply_email_changes(
        folder, result.sync_key, [EmailChange(server_id=f"{folder}:2", read=True)]
    )
    assert changed.statuses == {f"{folder}:2": "1"}
    assert "\\Seen" in imap_flags(imap, 2)

    # ... and an IMAP expunge is a Delete; the phone's own change is not echoed back.
    imap.uid("STORE", "3", "+FLAGS", r"(\Deleted)")
    imap.expunge()
    result = client.sync_folder(folder, changed.sync_key)
    assert result.deleted == [f"{folder}:3"]
    assert result.changed == []


def test_delete_on_the_phone_moves_to_trash(client: Client, imap: imaplib.IMAP4) -> None:
    append(imap, message("unwanted", "bin me"))
    folder = inbox_id(client)
    key, _ = full_sync(client, folder)
    client.apply_email_changes(folder, key, [EmailChange(server_id=f"{folder}:1", delete=True)])
    status, data = imap.uid("SEARCH", "ALL")
    assert status == "OK" and data == [b""]
    status, data = imap.status("Trash", "(MESSAGES)")
    assert status == "OK" and b"MESSAGES 1" in data[0]


def test_fetch_whole_body_and_attachment(client: Client, imap: imaplib.IMAP4) -> None:
    body = "A long letter. " * 400
    append(imap, message("long", body, attachment=True))
    folder = inbox_id(client)
    full_sync(client, folder)
    item = client.fetch_item(folder, f"{folder}:1", body_type=BodyType.PLAIN_TEXT)
    assert item.body is not None and item.body.truncated is False
    assert item.body.data == body  # the CRLF before the boundary belongs to the boundary
    (attached,) = item.attachments
    assert attached.display_name == "data.bin"
    assert client.fetch_attachment(attached.file_reference) == ATTACHED
    assert "\\Seen" not in imap_flags(imap, 1)  # fetching is not reading


def test_ping_wakes_on_an_imap_change(client: Client, imap: imaplib.IMAP4) -> None:
    append(imap, message("watched", "x"))
    folder = inbox_id(client)
    full_sync(client, folder)
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        pending = pool.submit(client.ping, folder, heartbeat=120, timeout=60)
        time.sleep(0.5)  # the Ping is waiting on the server by now
        assert not pending.done()
        changed_at = time.monotonic()
        imap.uid("STORE", "1", "+FLAGS", r"(\Seen)")
        result = pending.result(timeout=30)
        woke = time.monotonic() - changed_at
    assert result.status == "2" and result.changed_folder_ids == [folder]
    assert woke < 5, f"Ping answered {woke:.3f}s after the change"
    assert time.monotonic() - started < 60


def test_wrong_password_is_refused(eas_server: tuple[Server, int], account: str) -> None:
    srv, https = eas_server
    cert = str(srv.data_dir / "tls" / "cert.pem")
    response = requests.options(
        f"https://localhost:{https}/Microsoft-Server-ActiveSync",
        auth=(account, "wrong"),
        verify=cert,
        timeout=30,
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    response = requests.options(
        f"https://localhost:{https}/Microsoft-Server-ActiveSync",
        auth=(account, PASSWORD),
        verify=cert,
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["MS-ASProtocolVersions"] == "14.1,16.1"
    assert "Sync" in response.headers["MS-ASProtocolCommands"].split(",")


def test_folders_made_on_the_phone_are_mailboxes_for_imap(
    client: Client, imap: imaplib.IMAP4
) -> None:
    made = client.create_folder("Receipts", type=FolderType.USER_MAIL)
    status, listing = imap.list()
    assert status == "OK" and any(b'"Receipts"' in line or b" Receipts" in line for line in listing)
    child = client.create_folder("2024", parent_id=made.id, type=FolderType.USER_MAIL)
    client.update_folder(made.id, "Bills")
    names = {f.id: (f.name, f.parent_id) for f in client.list_folders()}
    assert names[made.id] == ("Bills", "0") and names[child.id] == ("2024", made.id)
    status, _ = imap.select("Bills/2024")
    assert status == "OK"
    imap.select("INBOX")
    client.delete_folder(child.id)
    assert child.id not in {f.id for f in client.list_folders()}


def test_move_and_estimate(client: Client, imap: imaplib.IMAP4) -> None:
    for n in range(3):
        append(imap, message(f"to sort {n}", "x"))
    folders = {f.name: f.id for f in client.list_folders()}
    inbox, archive = folders["INBOX"], folders["Archive"]
    key = client.sync_folder(inbox).sync_key
    assert client.get_item_estimate(inbox, key) == 3
    key, _ = full_sync(client, inbox)
    assert client.get_item_estimate(inbox, key) == 0
    moved = client.move_item(f"{inbox}:2", inbox, archive)
    assert moved.startswith(f"{archive}:")
    status, data = imap.uid("SEARCH", "ALL")
    assert data == [b"1 3"]
    status, data = imap.status("Archive", "(MESSAGES)")
    assert b"MESSAGES 1" in data[0]
    result = client.sync_folder(inbox, key)
    assert result.deleted == [f"{inbox}:2"]


def test_search_by_date_received(client: Client, imap: imaplib.IMAP4) -> None:
    append(imap, message("searched for", "found by date"))
    folder = inbox_id(client)
    found = client.search_mailbox(folder, date_received_after="2000-01-01T00:00:00.000Z")
    assert [item.get("Email.Subject") for item in found] == ["searched for"]
    assert client.search_mailbox(folder, date_received_after="2999-01-01T00:00:00.000Z") == []


def test_free_text_search_with_find(client: Client, imap: imaplib.IMAP4) -> None:
    append(imap, message("quarterly budget", "numbers inside"))
    append(imap, message("lunch", "sandwiches"))
    folder = inbox_id(client)
    found = client.find_mailbox("budget", folder_id=folder)
    assert [item.fields.get("Email.Subject") for item in found.items] == ["quarterly budget"]
    assert found.items[0].server_id == f"{folder}:1"
    assert client.search_mailbox(folder, free_text="sandwiches")[0]["Email.Subject"] == "lunch"


def test_send_from_the_phone_reaches_the_recipient_and_sent_once(
    client: Client, imap: imaplib.IMAP4, account: str, eas_server: tuple[Server, int]
) -> None:
    srv = eas_server[0]
    friend = srv.add_user()
    outgoing = EmailMessage()
    outgoing["From"] = account
    outgoing["To"] = friend
    outgoing["Subject"] = "sent over ActiveSync"
    outgoing["Message-ID"] = "<eas-send-1@example.org>"
    outgoing.set_content("Hello from the phone.")
    client.send_mail(outgoing)

    other = imaplib.IMAP4(srv.host, srv.imap_port)
    other.login(friend, PASSWORD)
    status, data = other.select("INBOX")
    assert status == "OK" and data == [b"1"]
    other.logout()
    # the Sent copy is there once for every IMAP device, \Seen, even if the phone's
    # client also APPENDs it (the de-duplication of submission)
    imap.select("Sent")
    status, data = imap.uid("SEARCH", "ALL")
    assert data == [b"1"]
    assert "\\Seen" in imap_flags(imap, 1)
    append(imap, to_crlf(outgoing), mailbox="Sent")
    status, data = imap.uid("SEARCH", "ALL")
    assert data == [b"1"]


def to_crlf(message: EmailMessage) -> bytes:
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_a_draft_saved_on_the_phone_is_in_drafts_for_imap(
    client: Client, imap: imaplib.IMAP4, account: str
) -> None:
    drafts = next(f.id for f in client.list_folders() if f.type is FolderType.DRAFTS)
    key, _ = full_sync(client, drafts)
    draft = EmailMessage()
    draft["From"] = account
    draft["To"] = "bob@example.org"
    draft["Subject"] = "unfinished"
    draft.set_content("To be continued")
    result = client.create_email_draft(drafts, key, draft)
    assert result.status == "1" and result.server_id == f"{drafts}:1"
    imap.select("Drafts")
    assert "\\Draft" in imap_flags(imap, 1)


# ----- out of office: set on the phone, answered on delivery, sent by the smarthost ----


def test_out_of_office_set_on_the_phone_answers_each_sender_once(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyactivesync import OofState

    from tests.smtp.harness import RemoteMx

    smarthost = RemoteMx()
    https, smtp = free_port(), free_port()
    data_dir = tmp_path_factory.mktemp("roost-oof")
    config = data_dir.parent / f"{data_dir.name}.toml"
    config.write_text(
        f'smarthost = "127.0.0.1"\nsmarthost_port = {smarthost.port}\nsmarthost_starttls = false\n',
        encoding="utf-8",
    )
    srv = start_server(
        data_dir,
        config=config,
        extra_env={"ROOST_HTTPS_PORT": str(https), "ROOST_SMTP_PORT": str(smtp)},
        listeners=4,
    )
    try:
        account = srv.add_user()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(srv.data_dir / "tls" / "cert.pem"))
        with Client(f"localhost:{https}", account, PASSWORD, device_id="oofphone1") as phone:
            phone.set_oof(OofState.ENABLED, reply_message="Away until Monday.")
            assert phone.get_oof().state == OofState.ENABLED
        notes = [
            ("carol@remote.test", "Subject: one\r\nMessage-ID: <one@remote.test>\r\n"),
            ("carol@remote.test", "Subject: two\r\n"),  # the same sender again: no reply
            ("cats@lists.test", "Subject: news\r\nList-Id: <cats.lists.test>\r\n"),
        ]
        with smtplib.SMTP("127.0.0.1", smtp, local_hostname="remote.test") as client:
            for sender, head in notes:
                data = f"From: {sender}\r\nTo: {account}\r\n{head}\r\nHello\r\n".encode()
                assert client.sendmail(sender, [account], data) == {}
        # Every reply was queued before its message's 250: once the queue is empty, every
        # reply there will be has reached the smarthost.
        deadline = time.monotonic() + 20
        while srv.roost("queue", "list").stdout.strip() != "the queue is empty":
            assert time.monotonic() < deadline, "the queue did not empty"
            time.sleep(0.1)
        [reply] = smarthost.received
        assert reply.rcpt_tos == ["carol@remote.test"]
        assert reply.original_content is not None
        assert b"Auto-Submitted: auto-replied\r\n" in reply.original_content
        assert b"In-Reply-To: <one@remote.test>\r\n" in reply.original_content
        assert b"Away until Monday." in reply.original_content
    finally:
        stop_server(srv)
        smarthost.stop()
