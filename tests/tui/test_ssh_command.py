"""The OpenSSH command line that "open SSH session" runs, tried on the lab."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mudmap_tui.inventory import load_inventory
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.ssh_command import ssh_argv
from mudmap_tui.store.models import Device


def test_argv_carries_device_settings(tmp_path: Path) -> None:
    devices = {
        "gw": Device(name="gw", host="192.0.2.1", port=2222, user="ops",
                     identity_file="/keys/gw"),
        "in": Device(name="in", host="2001:db8::5", jump="gw"),
    }
    hostkeys = HostKeyStore(tmp_path / "known", [tmp_path / "user known"])
    argv = ssh_argv("in", devices, hostkeys, ["true"])
    assert argv[0] == "ssh"
    assert argv[-2:] == ["2001:db8::5", "true"]
    proxy = next(option for option in argv if option.startswith("ProxyCommand="))
    assert "-W '[2001:db8::5]:22' 192.0.2.1" in proxy
    assert "-p 2222" in proxy and "-i /keys/gw" in proxy and "-l ops" in proxy
    known = next(option for option in argv if option.startswith("UserKnownHostsFile="))
    assert known == f"UserKnownHostsFile={tmp_path / 'known'} '{tmp_path / 'user known'}'"


def test_inline_jump_uses_dash_j(tmp_path: Path) -> None:
    devices = {"d": Device(name="d", host="192.0.2.9", jump="admin@bastion.example:2200")}
    argv = ssh_argv("d", devices, HostKeyStore(tmp_path / "k", []))
    assert argv[argv.index("-J") + 1] == "admin@bastion.example:2200"


@pytest.mark.lab
@pytest.mark.timeout(120)
def test_argv_reaches_device_behind_jump(lab: Lab, tmp_path: Path) -> None:
    devices = load_inventory(lab.inventory_path).devices
    hostkeys = HostKeyStore(tmp_path / "known_hosts", [lab.known_hosts])
    argv = ssh_argv("lab-inner", devices, hostkeys, ["hostname"])
    argv[1:1] = ["-F", "/dev/null", "-o", "BatchMode=yes"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lab-inner"
