"""The self-signed certificate and the server context, checked by real TLS handshakes in
memory (no sockets)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import stat
import warnings
from pathlib import Path

import pytest
from cryptography import x509

from roost.tls import (
    VALIDITY,
    CertificateError,
    discard_unread,
    ensure_certificate,
    server_context,
)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    ensure_certificate(cert, key, "mail.example.org")
    return cert, key


def handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str
) -> ssl.SSLObject:
    """Drives a TLS handshake between two in-memory endpoints; returns the client side."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_side = server.wrap_bio(to_server, to_client, server_side=True)
    c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side, outgoing, peer_incoming in (
            ("client", client_side, c_out, to_server),
            ("server", server_side, to_client, c_in),
        ):
            try:
                side.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
            peer_incoming.write(outgoing.read())
        if all(done.values()):
            return client_side
    raise AssertionError("handshake did not finish")


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_generated_files(pair: tuple[Path, Path]) -> None:
    cert, key = pair
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not list(cert.parent.glob(".*.tmp"))


def test_certificate_contents(pair: tuple[Path, Path]) -> None:
    cert = x509.load_pem_x509_certificate(pair[0].read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["mail.example.org", "localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == VALIDITY == datetime.timedelta(days=825)
    assert cert.not_valid_before_utc <= datetime.datetime.now(datetime.UTC)


def test_loads_into_a_server_context(pair: tuple[Path, Path]) -> None:
    context = server_context(*pair)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("name", ["mail.example.org", "localhost", "127.0.0.1", "::1"])
def test_clients_verify_it_for_each_name(pair: tuple[Path, Path], name: str) -> None:
    client = handshake(server_context(*pair), trusting(pair[0]), name)
    assert client.version() in ("TLSv1.2", "TLSv1.3")


def test_clients_refuse_it_for_another_name(pair: tuple[Path, Path]) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server_context(*pair), trusting(pair[0]), "other.example.org")


def test_tls_1_1_is_refused(pair: tuple[Path, Path]) -> None:
    old = trusting(pair[0])
    with warnings.catch_warnings():  # Python deprecates TLS 1.1 too, which is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        handshake(server_context(*pair), old, "localhost")


def test_existing_certificate_is_kept(pair: tuple[Path, Path]) -> None:
    before = pair[0].read_bytes(), pair[1].read_bytes()
    ensure_certificate(*pair, "other.example.org")
    assert (pair[0].read_bytes(), pair[1].read_bytes()) == before


def test_key_without_certificate_gets_a_certificate(pair: tuple[Path, Path]) -> None:
    cert, key = pair
    key_before = key.read_bytes()
    cert.unlink()
    ensure_certificate(cert, key, "mail.example.org")
    assert key.read_bytes() == key_before
    handshake(server_context(cert, key), trusting(cert), "localhost")


def test_certificate_without_key_is_an_error(pair: tuple[Path, Path]) -> None:
    pair[1].unlink()
    with pytest.raises(CertificateError, match="key"):
        ensure_certificate(*pair, "mail.example.org")


def test_unusable_files_are_an_error(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not a certificate")
    key.write_text("not a key")
    with pytest.raises(CertificateError):
        server_context(cert, key)


def test_internationalised_hostname(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ensure_certificate(cert, key, "mail.bücher.de")
    handshake(server_context(cert, key), trusting(cert), "mail.xn--bcher-kva.de")


def test_ip_address_hostname(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ensure_certificate(cert, key, "192.0.2.7")
    handshake(server_context(cert, key), trusting(cert), "192.0.2.7")


def test_starttls_discards_what_was_sent_in_the_clear_before_the_upgrade() -> None:
    # RFC 9051 §6.2.1, RFC 2595 §4 (the CVE-2011-0411 class): a command injected after
    # STARTTLS, still unread in the stream's buffer when the upgrade starts, must not be read
    # afterwards as if it had come over TLS. Both STARTTLS paths (IMAP, POP3) go through
    # discard_unread; the IMAP one is checked here with a writer that sees the buffer.
    from roost.imap.server import StreamConnection

    async def main() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"b LOGIN injected secret\r\n")
        seen: list[bytes] = []
        paused: list[bool] = []

        class Transport(asyncio.ReadTransport):
            def pause_reading(self) -> None:
                # Nothing more is read into the buffer until the upgrade takes the socket.
                paused.append(True)

        class Writer:
            transport = Transport()

            def get_extra_info(self, name: str) -> object:
                return ("127.0.0.1", 1) if name == "peername" else None

            async def start_tls(self, context: object, **_: object) -> None:
                assert paused == [True]
                reader.feed_eof()
                seen.append(await reader.read())

        conn = StreamConnection(reader, Writer(), ssl.create_default_context(), secure=False)  # type: ignore[arg-type]
        await conn.start_tls()
        assert seen == [b""] and conn.secure

    asyncio.run(main())


def test_discard_unread_keeps_what_comes_after() -> None:
    async def main() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"in the clear")
        discard_unread(reader)
        reader.feed_data(b"over TLS")
        reader.feed_eof()
        assert await reader.read() == b"over TLS"

    asyncio.run(main())
