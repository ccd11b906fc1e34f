"""TLS: a self-signed certificate on first start, and the server-side SSL context.

A fresh installation has no certificate, yet IMAP clients need TLS (STARTTLS on the IMAP port,
implicit TLS on IMAPS). `ensure_certificate` makes a self-signed one valid for the configured
hostname and for loopback, so a mail client can connect at once after accepting it; an
operator replaces the two PEM files with real ones (e.g. from Let's Encrypt) by pointing
`[tls] cert`/`key` at them. `discard_unread` is the one rule every STARTTLS (IMAP STARTTLS,
POP3 STLS) follows before the upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Apple platforms refuse TLS server certificates valid for more than 825 days.
VALIDITY = datetime.timedelta(days=825)
# Start validity a little in the past so a client whose clock is slightly behind accepts it.
CLOCK_SKEW = datetime.timedelta(minutes=5)


class CertificateError(Exception):
    """The configured certificate or key cannot be used or made."""


def ensure_certificate(cert_path: Path, key_path: Path, hostname: str) -> None:
    """Makes a self-signed certificate (and its key) unless `cert_path` already exists.

    An existing key without a certificate (say, a start interrupted between the two writes)
    is reused. A certificate without its key cannot be repaired and raises CertificateError.
    """
    if cert_path.exists():
        if not key_path.exists():
            raise CertificateError(f"{cert_path} exists but its key {key_path} is missing")
        return
    if key_path.exists():
        key = _load_key(key_path)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_atomically(key_path, key_pem, mode=0o600)
    cert = self_signed_certificate(key, hostname)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


# The key types Roost can sign its own certificate with.
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def self_signed_certificate(
    key: SigningKey, hostname: str, *, now: datetime.datetime | None = None
) -> x509.Certificate:
    """A server certificate for `hostname`, localhost, 127.0.0.1 and ::1, signed by `key`."""
    start = (now or datetime.datetime.now(datetime.UTC)) - CLOCK_SKEW
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _common_name(hostname))])
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hostname)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                # TLS 1.2 RSA key transport encrypts to the certificate's key.
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A server-side context offering TLS 1.2 and 1.3 only, with the given certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(f"cannot load {cert_path} / {key_path}: {exc}") from exc
    return context


def _alt_names(hostname: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for entry in (hostname, "localhost", "127.0.0.1", "::1"):
        name = _general_name(entry)
        if name is not None and name not in names:
            names.append(name)
    return names


def _general_name(entry: str) -> x509.GeneralName | None:
    try:
        return x509.IPAddress(ipaddress.ip_address(entry))
    except ValueError:
        pass
    try:
        # SANs hold A-labels: an internationalised hostname goes in its punycode form.
        return x509.DNSName(entry.encode("idna").decode("ascii"))
    except UnicodeError:
        return None  # not a usable DNS name; localhost and loopback still apply


def _common_name(hostname: str) -> str:
    # The CN is informational (clients match the SAN) but must be 1-64 characters.
    return hostname[:64] or "localhost"


def _load_key(key_path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CertificateError(f"cannot read the private key {key_path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateError(f"{key_path}: only EC and RSA keys are supported")
    return key


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Writes `data` to a temporary file created with `mode`, syncs it, then renames it over
    `path`, so a crash never leaves a half-written PEM file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def discard_unread(reader: asyncio.StreamReader) -> None:
    """Before a STARTTLS upgrade: drops what the client sent that the session has not read
    yet. RFC 2595 §4 / RFC 9051 §6.2.1 (the CVE-2011-0411 class): bytes sent in the clear
    after STARTTLS wait in the stream's own buffer, which the upgrade keeps, and would come
    out as if they had arrived over TLS. Called once the reply is drained, with nothing
    awaited between this and the upgrade pausing the socket, so nothing slips in after it.
    asyncio has no public way to empty the buffer, hence its private one."""
    buffered = getattr(reader, "_buffer", None)
    if isinstance(buffered, bytearray):
        buffered.clear()
