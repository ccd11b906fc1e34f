"""Start-up checks (roost.startup): each failure one line naming the setting to fix."""

from __future__ import annotations

import errno
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from roost.config import Config, TlsFiles, load_config
from roost.startup import StartupError, listen_error, prepare_tls, reload_tls
from roost.tls import ensure_certificate


def config_in(tmp_path: Path) -> Config:
    return load_config(None, {"ROOST_DATA_DIR": str(tmp_path / "data")}, hostname=lambda: "x")


def test_only_the_default_location_gets_a_certificate(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    prepare_tls(config)
    assert config.tls.cert.is_file() and config.tls.key.is_file()
    moved = replace(config, tls=TlsFiles(cert=tmp_path / "c.pem", key=tmp_path / "k.pem"))
    with pytest.raises(StartupError, match=r"TLS certificate file .*c\.pem does not exist"):
        prepare_tls(moved)
    assert not (tmp_path / "c.pem").exists()
    shutil.copy(config.tls.cert, tmp_path / "c.pem")
    with pytest.raises(
        StartupError, match=r"TLS key file .*k\.pem does not exist: fix \[tls\] key"
    ):
        prepare_tls(moved)


def test_reload_keeps_the_old_certificate_when_the_new_pair_is_wrong(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    context = prepare_tls(config)
    ensure_certificate(tmp_path / "other" / "cert.pem", tmp_path / "other" / "key.pem", "x")
    shutil.copy(tmp_path / "other" / "cert.pem", config.tls.cert)  # a renewal half done
    with pytest.raises(StartupError, match="does not match the certificate"):
        reload_tls(config, context)
    shutil.copy(tmp_path / "other" / "key.pem", config.tls.key)  # now complete
    reload_tls(config, context)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (errno.EADDRINUSE, "the port is in use by another program"),
        (errno.EACCES, "ports below 1024 need CAP_NET_BIND_SERVICE"),
        (errno.EADDRNOTAVAIL, "0.0.0.1 is not an address of this machine: fix bind"),
    ],
)
def test_listen_errors_name_the_setting(code: int, text: str) -> None:
    error = listen_error(OSError(code, "x"), setting="ports.smtp", bind="0.0.0.1", port=25)
    assert str(error).startswith("cannot listen on 0.0.0.1 port 25 (ports.smtp, ROOST_SMTP_PORT)")
    assert text in str(error)
