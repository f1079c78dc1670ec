"""``mudmap device forget-hostkey`` when other devices use the same address."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from mudmap_tui.cli.main import main
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

ADDRESS = "192.0.2.13"


@pytest.fixture
def known_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HostKeyStore:
    """A known_hosts file with one key for ADDRESS, and no user files from ~/.ssh."""
    path = tmp_path / "known_hosts"
    monkeypatch.setenv("MUDMAP_KNOWN_HOSTS", str(path))
    monkeypatch.setenv("HOME", str(tmp_path))
    store = HostKeyStore(path, [])
    store.add(ADDRESS, 22, asyncssh.generate_private_key("ssh-ed25519").convert_to_public())
    return store


def inventory(tmp_path: Path, *devices: Device) -> str:
    path = tmp_path / "inventory.db"
    db = open_database(path)
    try:
        for device in devices:
            DeviceStore(db).add(device)
    finally:
        db.close()
    return str(path)


def test_forget_shared_address_needs_force(known_hosts: HostKeyStore, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = inventory(tmp_path, Device(name="fake", host=ADDRESS, user="root"),
                   Device(name="lab3", host=ADDRESS, user="root"),
                   Device(name="other", host="192.0.2.14", user="root"))
    status = main(["--db", db, "device", "forget-hostkey", "fake"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert f"fake shares {ADDRESS} with lab3" in stderr
    assert "--force" in stderr
    assert "other" not in stderr
    assert len(known_hosts.lookup(ADDRESS, "", 22).host_keys) == 1


def test_forget_shared_address_with_force(known_hosts: HostKeyStore, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db = inventory(tmp_path, Device(name="fake", host=ADDRESS, user="root"),
                   Device(name="lab3", host=ADDRESS, user="root"))
    status = main(["--db", db, "device", "forget-hostkey", "fake", "--force"])
    stdout = capsys.readouterr().out
    assert status == 0
    assert f"removed 1 key(s) for {ADDRESS}" in stdout
    assert f"lab3 uses {ADDRESS} too, so mudmap asks to accept the key again" in stdout
    assert known_hosts.lookup(ADDRESS, "", 22).host_keys == []
    # Run again, nothing is left to remove, so the output does not mention lab3.
    assert main(["--db", db, "device", "forget-hostkey", "fake", "--force"]) == 0
    stdout = capsys.readouterr().out
    assert f"removed 0 key(s) for {ADDRESS}" in stdout
    assert "lab3" not in stdout


def test_forget_own_address_needs_no_force(known_hosts: HostKeyStore, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = inventory(tmp_path, Device(name="lab3", host=ADDRESS, user="root"),
                   Device(name="lab3-ssh", host=ADDRESS, port=2222, user="root"))
    status = main(["--db", db, "device", "forget-hostkey", "lab3"])
    stdout = capsys.readouterr().out
    assert status == 0
    assert "too" not in stdout
    assert known_hosts.lookup(ADDRESS, "", 22).host_keys == []
