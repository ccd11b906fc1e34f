"""Devices in the store: provisioning recorded, remote wipe ([MS-ASPROV] §3.1.5.2) asked
for by `roost devices wipe`, heard by the device on its next request and acknowledged,
and `roost devices list|delete`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.cli import main
from roost.config import ENV_OVERRIDES
from roost.proto.eas.wbxml import Element
from roost.store.api import DevicePolicy
from roost.store.engines.sqlite import SqliteStore
from tests.eas.scene import DEVICE, E, EasScene, find_all, first_text, run
from tests.eas.test_folders_ping import folder_sync

P = "Provision"


def ask_policy() -> Element:
    policy_type = E(P, "PolicyType", value="MS-EAS-Provisioning-WBXML")
    return E(P, P, E(P, "Policies", E(P, "Policy", policy_type)))


def wipe_done(status: str = "1") -> Element:
    return E(P, P, E(P, "RemoteWipe", E(P, "Status", value=status)))


def test_a_remote_wipe_is_heard_on_the_next_request_and_acknowledged(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        [device] = await s.store.list_devices(s.account.id)
        assert device.policy is DevicePolicy.FINAL
        assert (await s.command("FolderSync", folder_sync("0"))).status == 200
        await s.store.request_wipe(s.account.id, DEVICE)
        # Every command but Provision: provision again ([MS-ASHTTP] 449).
        assert (await s.command("FolderSync", folder_sync("0"))).status == 449
        answer = (await s.command(P, ask_policy())).document
        assert first_text(answer, P, "Status") == "1"
        assert find_all(answer, P, "RemoteWipe") != []
        assert find_all(answer, P, "Policies") == []  # no key to carry on with
        ack = (await s.command(P, wipe_done())).document
        assert first_text(ack, P, "Status") == "1" and find_all(ack, P, "RemoteWipe") == []
        [wiped] = await s.store.list_devices(s.account.id)
        assert wiped.wipe_acknowledged is not None
        # The wipe stays in force: a wiped device that comes back is wiped again.
        assert (await s.command("FolderSync", folder_sync("0"))).status == 449
        again = (await s.command(P, ask_policy())).document
        assert find_all(again, P, "RemoteWipe") != []
        # Another device of the account is untouched.
        await s.provision(device="otherphone")
        assert (await s.command("FolderSync", folder_sync("0"), device="otherphone")).status == 200
        # Deleted, the device starts over like a new one.
        await s.store.delete_device(s.account.id, DEVICE)
        await s.provision()
        assert (await s.command("FolderSync", folder_sync("0"))).status == 200

    run(tmp_path, scenario)


def test_a_failed_wipe_is_not_recorded_as_done(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        await s.store.request_wipe(s.account.id, DEVICE)
        assert (await s.command(P, wipe_done("2"))).status == 200
        [device] = await s.store.list_devices(s.account.id)
        assert device.wipe_pending and device.wipe_acknowledged is None

    run(tmp_path, scenario)


# ----- roost devices ----------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in [*ENV_OVERRIDES, "ROOST_CONFIG"]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr("roost.config.SYSTEM_CONFIG_FILE", tmp_path / "etc" / "roost.toml")
    monkeypatch.setenv("ROOST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROOST_HOSTNAME", "mail.test")

    async def fill() -> None:
        store = await SqliteStore.open(tmp_path / "data")
        try:
            bob = await store.create_account("bob@example.org", "h")
            alice = await store.create_account("alice@example.org", "h")
            await store.device_seen(bob.id, "PHONE1", "iPhone", "Apple-iPhone/2")
            await store.device_seen(alice.id, "ANDROID7", "SamsungSMG", "")
        finally:
            await store.close()

    asyncio.run(fill())
    return tmp_path / "data"


def roost(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_devices_list_wipe_and_delete(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = roost(capsys, "devices", "list")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    assert lines[0].startswith("alice@example.org  ANDROID7  SamsungSMG  policy not provisioned")
    assert lines[1].startswith("bob@example.org  PHONE1  iPhone (Apple-iPhone/2)  policy")
    assert all(line.endswith(", never synced") for line in lines)
    status, out, _ = roost(capsys, "devices", "list", "--user", "bob@example.org")
    assert [line.split()[1] for line in out.splitlines()] == ["PHONE1"]
    status, out, _ = roost(capsys, "devices", "wipe", "--user", "bob@example.org", "PHONE1")
    assert status == 0 and "wipe of PHONE1 asked for" in out
    _, out, _ = roost(capsys, "devices", "list", "--user", "bob@example.org")
    assert ", wipe asked " in out and "wiped" not in out
    status, _, err = roost(capsys, "devices", "wipe", "--user", "bob@example.org", "ANDROID7")
    assert status == 1 and "no device ANDROID7" in err  # alice's, not bob's
    status, _, err = roost(capsys, "devices", "list", "--user", "carol@example.org")
    assert status == 1 and "no account carol@example.org" in err
    status, out, _ = roost(capsys, "devices", "delete", "--user", "bob@example.org", "PHONE1")
    assert status == 0 and "deleted device PHONE1" in out
    _, out, _ = roost(capsys, "devices", "list", "--user", "bob@example.org")
    assert out == "no devices for bob@example.org\n"
    status, _, err = roost(capsys, "devices", "delete", "--user", "bob@example.org", "PHONE1")
    assert status == 1 and "no device PHONE1" in err
