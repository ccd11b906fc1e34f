"""Passwords never cross the network in the clear; SASL PLAIN with and without SASL-IR."""

from __future__ import annotations

import base64
import imaplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e


def insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that treats loopback like any other network."""
    root = tmp_path_factory.mktemp("strict")
    config = root / "roost.toml"
    config.write_text("allow_plaintext_auth_on_loopback = false\n")
    server = start_server(root / "data", config=config)
    yield server
    stop_server(server)


def test_plaintext_login_refused_without_tls(strict_server: Server) -> None:
    user = strict_server.add_user()
    client = imaplib.IMAP4(strict_server.host, strict_server.imap_port)
    assert "LOGINDISABLED" in client.capabilities
    assert "AUTH=PLAIN" not in client.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        client.login(user, PASSWORD)
    client.starttls(insecure_context())
    assert "LOGINDISABLED" not in client.capabilities
    client.login(user, PASSWORD)
    client.logout()


def test_implicit_tls_allows_login(strict_server: Server) -> None:
    user = strict_server.add_user()
    client = imaplib.IMAP4_SSL(
        strict_server.host, strict_server.imaps_port, ssl_context=insecure_context()
    )
    client.login(user, PASSWORD)
    client.logout()


def _plain(user: str, password: str) -> bytes:
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())


def test_authenticate_plain_with_initial_response(server: Server, user: str) -> None:
    with (
        socket.create_connection((server.host, server.imap_port)) as sock,
        sock.makefile("rwb") as f,
    ):
        f.readline()
        f.write(b"a AUTHENTICATE PLAIN " + _plain(user, PASSWORD) + b"\r\n")
        f.flush()
        assert f.readline().startswith(b"a OK [CAPABILITY")


def test_authenticate_plain_with_continuation(server: Server, user: str) -> None:
    with (
        socket.create_connection((server.host, server.imap_port)) as sock,
        sock.makefile("rwb") as f,
    ):
        f.readline()
        f.write(b"a AUTHENTICATE PLAIN\r\n")
        f.flush()
        assert f.readline().startswith(b"+")
        f.write(_plain(user, "wrong") + b"\r\n")
        f.flush()
        assert f.readline().startswith(b"a NO [AUTHENTICATIONFAILED]")
        f.write(b"b AUTHENTICATE PLAIN\r\n")
        f.flush()
        f.readline()
        f.write(b"*\r\n")
        f.flush()
        assert f.readline().startswith(b"b BAD")
        f.write(b"c AUTHENTICATE PLAIN\r\n")
        f.flush()
        f.readline()
        f.write(_plain(user, PASSWORD) + b"\r\n")
        f.flush()
        assert f.readline().startswith(b"c OK")


def test_imapclient_over_implicit_tls(server: Server, user: str, tmp_path: Path) -> None:
    from imapclient import IMAPClient

    client = IMAPClient(
        server.host, port=server.imaps_port, ssl=True, ssl_context=insecure_context()
    )
    client.login(user, PASSWORD)
    assert client.folder_exists("INBOX")
    client.logout()
