"""The deployment files (deploy/), tested as far as this machine allows: the systemd unit
with `systemd-analyze verify` and its readiness protocol (sd_notify) spoken by the real
server, the container's entrypoint run directly with its configuration, the example
configurations loaded, LICENSE matching pyproject."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.config import SYSTEM_CONFIG_FILE, load_config
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ROOST = Path(sys.executable).parent / "roost"
ALL_PORTS = ("IMAP", "IMAPS", "POP3", "POP3S", "SUBMISSION", "SUBMISSIONS", "SMTP", "LMTP")


def unit() -> dict[str, str]:
    """deploy/roost.service's settings (the last value of each key)."""
    settings = {}
    for line in (DEPLOY / "roost.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def test_the_unit_runs_roost_as_its_own_user_on_standard_ports() -> None:
    settings = unit()
    assert settings["Type"] == "notify"
    assert settings["User"] == settings["Group"] == "roost"
    assert settings["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert settings["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert settings["NoNewPrivileges"] == "yes" and settings["ProtectSystem"] == "strict"
    assert settings["StateDirectory"] == "roost" and settings["StateDirectoryMode"] == "0700"
    assert settings["UMask"] == "0077"
    command = shlex.split(settings["ExecStart"])
    assert command[1:] == ["--config", str(SYSTEM_CONFIG_FILE), "serve"]
    config = load_config(DEPLOY / "roost.toml", {}, hostname=lambda: "x")
    assert config.data_dir == Path("/var/lib") / settings["StateDirectory"]
    assert (config.ports.imaps, config.ports.submission, config.ports.https) == (993, 587, 443)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    text = (DEPLOY / "roost.service").read_text().replace("/opt/roost/bin/roost", str(ROOST))
    (tmp_path / "roost.service").write_text(text)
    verify = ["systemd-analyze", "verify", str(tmp_path / "roost.service")]
    result = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "roost.service" not in result.stderr, result.stderr
    # The check can fail: a misspelt setting is reported.
    (tmp_path / "roost.service").write_text(text.replace("NoNewPrivileges", "NoNewPrivilege"))
    result = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert "NoNewPrivilege" in result.stderr


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env.update(ROOST_DATA_DIR=str(data_dir), ROOST_HOSTNAME="localhost", ROOST_BIND="127.0.0.1")
    env.update({f"ROOST_{name}_PORT": str(free_port()) for name in ALL_PORTS})
    env.update(ROOST_HTTP_PORT=str(free_port()), ROOST_HTTPS_PORT=str(free_port()))
    env.update(extra)
    return env


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(30)
    yield sock
    sock.close()


def test_sd_notify_ready_reloading_stopping(tmp_path: Path, notify_socket: socket.socket) -> None:
    """What systemd hears from the unit's ExecStart."""
    config = tmp_path / "roost.toml"
    config.write_text('log_format = "json"\n')
    env = server_env(tmp_path / "data", NOTIFY_SOCKET=str(tmp_path / "notify"))
    command = [str(ROOST), "--config", str(config), "serve"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert notify_socket.recv(4096) == b"READY=1\nSTATUS=serving"
        # Ready means listening: a client connects at once.
        with socket.create_connection(("127.0.0.1", int(env["ROOST_IMAP_PORT"]))) as client:
            assert client.recv(1024).startswith(b"* OK")
        process.send_signal(signal.SIGHUP)
        assert notify_socket.recv(4096) == b"RELOADING=1"
        assert notify_socket.recv(4096) == b"READY=1"
        process.send_signal(signal.SIGTERM)
        assert notify_socket.recv(4096) == b"STOPPING=1"
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        _, err = process.communicate()
    lines = [json.loads(line) for line in err.decode().splitlines()]  # JSON lines only
    assert any(line["message"].startswith("SIGHUP: reloaded") for line in lines)


def dockerfile() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0], line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_the_container_entrypoint_serves(tmp_path: Path) -> None:
    """No container engine runs here: the image's entrypoint, run directly with the
    image's configuration and environment (ports moved to free ones)."""
    instructions = dockerfile()
    for kind, value in instructions:
        if kind == "COPY":
            *sources, _ = value.split()
            assert all((ROOT / source).exists() for source in sources), value
    (config_copy,) = [v for k, v in instructions if k == "COPY" and v.startswith("deploy/")]
    source, target = config_copy.split()
    env_line = next(v for k, v in instructions if k == "ENV")
    image_env = dict(pair.split("=", 1) for pair in shlex.split(env_line))
    assert image_env["ROOST_CONFIG"] == target
    entrypoint = json.loads(next(v for k, v in instructions if k == "ENTRYPOINT"))
    cmd = json.loads(next(v for k, v in instructions if k == "CMD"))
    assert [entrypoint, cmd] == [["roost"], ["serve"]]
    container = tomllib.loads((ROOT / source).read_text())
    assert container["data_dir"] == "/var/lib/roost"
    assert any(k == "VOLUME" and "/var/lib/roost" in v for k, v in instructions)

    env = server_env(tmp_path / "data", **{**image_env, "ROOST_CONFIG": str(ROOT / source)})
    process = subprocess.Popen(
        [str(ROOST), *cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait_for_port(int(env["ROOST_HTTP_PORT"]), process)
        added = subprocess.run(
            [str(ROOST), "user", "add", "alice@example.org"],
            input="pw\n",
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert added.returncode == 0, added.stderr
        url = f"http://127.0.0.1:{env['ROOST_HTTP_PORT']}/mail/config-v1.1.xml"
        with urllib.request.urlopen(f"{url}?emailaddress=alice@example.org") as response:
            assert b"<hostname>localhost</hostname>" in response.read()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    # The image logs JSON lines (container.toml): every line is one object.
    assert all(json.loads(line) for line in err.decode().splitlines())


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the entrypoint exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the entrypoint never listened")


def test_license_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")


def test_the_readme_tells_how_to_install_on_a_server() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Install on a server", 1)[1].split("\n## ", 1)[0]
    for needed in ("deploy/roost.service", "useradd", "systemctl enable --now roost",
                   "roost dns", "deploy/Dockerfile", "journalctl -u roost"):  # fmt: skip
        assert needed in section, needed
    assert re.search(r"roost user add \S+@", section)
