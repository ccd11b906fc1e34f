"""`roost devices` lists an account's IMAP clients (those that say who they are with IMAP ID,
RFC 2971) beside its ActiveSync devices (issue 16), whether they send ID before or after
logging in; an IMAP client cannot be wiped, and the command says what to do instead."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e


def test_identified_imap_clients_are_listed_as_devices(server: Server) -> None:
    user = server.add_user()
    other = server.add_user()
    with IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10) as laptop:
        laptop.login(user, PASSWORD)
        laptop.id_({"name": "Thunderbird", "version": "128.3"})  # after login
    with IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10) as phone:
        phone.id_({"name": "iOS Mail"})  # before login: remembered at login
        phone.login(user, PASSWORD)
    with IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10) as anonymous:
        anonymous.login(other, PASSWORD)  # no ID: nothing to list
    listed = server.roost("devices", "list", "--user", user)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2, lines
    assert any(
        "imap:Thunderbird 128.3  IMAP client (Thunderbird 128.3 from 127.0.0.1" in line
        for line in lines
    )
    assert any("imap:iOS Mail  IMAP client" in line for line in lines)
    assert (
        server.roost("devices", "list", "--user", other).stdout.strip() == f"no devices for {other}"
    )
    refused = server.roost("devices", "wipe", "--user", user, "imap:iOS Mail")
    assert refused.returncode != 0
    assert "cannot be wiped remotely" in refused.stderr and "roost kick" in refused.stderr
