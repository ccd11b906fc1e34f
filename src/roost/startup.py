"""What must hold before the server listens, each failure one clear line naming the fix.

Theory of operation
-------------------
An administrator's first start fails for ordinary reasons: another server holds a port, the
data directory belongs to another user, a certificate path has a typo, the key is not the
certificate's. Each is a `StartupError` whose text names the setting to change (and its
environment variable where there is one); `roost serve` prints it as one line and exits
with status 1, never a traceback.

The certificate is made only where Roost would look for it by default
(<data_dir>/tls/cert.pem and key.pem). A configured path that does not exist is an error:
silently writing a self-signed certificate at a mistyped path would hide the mistake until
every client complained.
"""

from __future__ import annotations

import errno
import os
import ssl
import tempfile
from pathlib import Path

from roost.config import Config
from roost.tls import CertificateError, ensure_certificate, server_context

__all__ = [
    "StartupError",
    "check_data_dir",
    "listen_error",
    "prepare_tls",
    "reload_tls",
]


class StartupError(Exception):
    """The server cannot start; the text is the one line to print."""


def check_data_dir(config: Config) -> None:
    """Creates data_dir (0700) if missing; StartupError unless this user can write to it."""
    path = config.data_dir
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        user = _user()
        raise StartupError(
            f"data directory {path} is not writable by user {user} ({_reason(exc)}): "
            f"fix its owner (chown -R {user} {path}) or set data_dir / ROOST_DATA_DIR"
        ) from None


def _default_tls(config: Config) -> tuple[Path, Path]:
    folder = config.data_dir / "tls"
    return folder / "cert.pem", folder / "key.pem"


def prepare_tls(config: Config) -> ssl.SSLContext:
    """The server's TLS context. A self-signed certificate is made only at the default
    location; a configured file that is missing, unreadable or not matching is an error."""
    cert, key = config.tls.cert, config.tls.key
    if (cert, key) == _default_tls(config):
        try:
            ensure_certificate(cert, key, config.hostname)
        except (CertificateError, OSError) as exc:
            raise StartupError(f"TLS: cannot make a self-signed certificate: {exc}") from None
    else:
        for setting, path in (("cert", cert), ("key", key)):
            if not path.is_file():
                raise StartupError(
                    f"TLS {'certificate' if setting == 'cert' else 'key'} file {path} does not "
                    f"exist: fix [tls] {setting} in the configuration (remove both [tls] "
                    "settings to use a self-signed certificate in the data directory)"
                )
    return load_tls(config)


def load_tls(config: Config) -> ssl.SSLContext:
    try:
        return server_context(config.tls.cert, config.tls.key)
    except CertificateError as exc:
        raise StartupError(_tls_problem(config, exc)) from None


def reload_tls(config: Config, context: ssl.SSLContext) -> None:
    """SIGHUP: loads the certificate files again into the live context, so new handshakes
    use a renewed certificate and sessions already connected go on. Checked on a fresh
    context first: a half-written or mismatched pair leaves the old one in place."""
    load_tls(config)  # raises StartupError, with the live context untouched
    context.load_cert_chain(config.tls.cert, config.tls.key)


def _tls_problem(config: Config, exc: CertificateError) -> str:
    cause = exc.__cause__
    text = str(cause or exc)
    cert, key = config.tls.cert, config.tls.key
    if "KEY_VALUES_MISMATCH" in text or "key values mismatch" in text:
        return (
            f"TLS key {key} does not match the certificate {cert}: "
            "point [tls] key at the key the certificate was issued for"
        )
    if isinstance(cause, PermissionError):
        return (
            f"TLS files {cert} / {key} are not readable by user {_user()}: "
            "fix their owner or mode (the key may stay 0600 if Roost owns it)"
        )
    if isinstance(cause, FileNotFoundError):
        return f"TLS file missing: {cause.filename}: fix [tls] cert / key"
    return f"TLS: cannot use {cert} / {key}: {text} (check [tls] cert and key: PEM files)"


def listen_error(exc: OSError, *, setting: str, bind: str, port: int) -> StartupError:
    """A listener that could not bind, as one line naming the setting."""
    variable = "ROOST_" + setting.removeprefix("ports.").upper() + "_PORT"
    where = f"{bind} port {port} ({setting}, {variable})"
    if exc.errno == errno.EADDRINUSE:
        return StartupError(
            f"cannot listen on {where}: the port is in use by another program: "
            f"stop it or choose another port for {setting}"
        )
    if exc.errno == errno.EACCES:
        return StartupError(
            f"cannot listen on {where}: permission denied; ports below 1024 need "
            "CAP_NET_BIND_SERVICE (deploy/roost.service grants it) or another port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(
            f"cannot listen on {where}: {bind} is not an address of this machine: fix bind"
        )
    return StartupError(f"cannot listen on {where}: {_reason(exc)}")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())
