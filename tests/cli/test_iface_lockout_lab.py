"""``mudmap iface`` refuses changes that can cut the SSH session off; forced ones roll back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli, device_links

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE = "lab3"


def default_route_devices(lab: Lab, device: str) -> set[str]:
    routes = json.loads(lab.run(device, ["ip", "-j", "route", "show", "default"]).stdout)
    return {route["dev"] for route in routes}


@pytest.fixture
def uplink_restored(lab: Lab) -> Iterator[None]:
    """Bring the uplink back through nsenter, should a rejected change still get through."""
    yield
    if device_links(lab, DEVICE)["eth0"]["operstate"] == "DOWN":
        lab.run(DEVICE, ["ip", "link", "set", "eth0", "up"])


@pytest.mark.usefixtures("uplink_restored")
@pytest.mark.parametrize("change", [["set", "--down"], ["set", "--mtu", "500"],
                                    ["set", "--master", "h5none"], ["delete"]])
def test_session_interface_change_rejected(cli: LabCli, lab: Lab, change: list[str]) -> None:
    action, *options = change
    result = cli.run("iface", action, DEVICE, "eth0", *options)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert "eth0 carries the SSH session" in result.stderr
    assert "--confirm-timeout" in result.stderr
    assert "--force" in result.stderr
    uplink = device_links(lab, DEVICE)["eth0"]
    assert uplink["operstate"] == "UP"
    assert uplink["mtu"] == 1500
    assert "master" not in uplink


@pytest.mark.usefixtures("uplink_restored")
def test_mtu_below_kernel_minimum_names_range(cli: LabCli, lab: Lab) -> None:
    # No link takes an MTU below 68, so the range is the message, not a lockout and --force.
    result = cli.run("iface", "set", DEVICE, "eth0", "--mtu", "10")
    assert result.returncode == 2, result.stderr
    assert "invalid --mtu 10" in result.stderr
    assert "--force" not in result.stderr
    assert device_links(lab, DEVICE)["eth0"]["mtu"] == 1500


@pytest.mark.usefixtures("uplink_restored")
def test_session_address_removal_rejected(cli: LabCli, lab: Lab) -> None:
    address = lab.devices[DEVICE].address
    addresses = json.loads(lab.run(DEVICE, ["ip", "-j", "addr", "show", "eth0"]).stdout)
    prefix = next(item["prefixlen"] for item in addresses[0]["addr_info"]
                  if item["local"] == address)
    result = cli.run("iface", "set", DEVICE, "eth0", "--remove-address", f"{address}/{prefix}")
    assert result.returncode == 2
    assert f"the device's address {address}" in result.stderr
    after = json.loads(lab.run(DEVICE, ["ip", "-j", "addr", "show", "eth0"]).stdout)
    assert address in [item["local"] for item in after[0]["addr_info"]]


def test_other_interface_needs_no_force(cli: LabCli, lab: Lab) -> None:
    assert "h5lk0" not in default_route_devices(lab, DEVICE)
    cli.ok("iface", "create", DEVICE, "h5lk0", "--kind", "bridge", "--up")
    cli.ok("iface", "set", DEVICE, "h5lk0", "--down")
    assert device_links(lab, DEVICE)["h5lk0"]["operstate"] == "DOWN"
    cli.ok("iface", "delete", DEVICE, "h5lk0")
    assert "h5lk0" not in device_links(lab, DEVICE)


@pytest.fixture(scope="module")
def lockout_lab(lab: Lab) -> Iterator[Lab]:
    """A lab of its own, because a forced change really cuts its device off."""
    own = Lab("k" + format(os.getpid() % 36**3, "x")[-3:], 1)
    own.up()
    try:
        yield own
    finally:
        own.down()


def test_forced_down_rolls_back(lockout_lab: Lab, tmp_path: Path) -> None:
    cli = LabCli(lockout_lab, tmp_path)
    result = cli.run("iface", "set", "lab1", "eth0", "--down", "--force",
                     "--confirm-timeout", "10")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "admin_state: up -> down" in result.stdout
    assert "rolled back" in result.stdout.splitlines()[-1]
    assert device_links(lockout_lab, "lab1")["eth0"]["operstate"] == "UP"
    actions = [entry["action"] for entry in cli.audit("lab1")]
    assert "change.rollback" in actions
    assert "change.confirm" not in actions
