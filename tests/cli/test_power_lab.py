"""``mudmap reboot`` and ``shutdown`` on lab devices, which restart in their own PID namespace.

Every test checks first that the device's sshd, and so the agent that acts, runs in a PID
namespace other than the host's: there reboot(2) ends only the device's init.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

# Not lab1: the inner device's link hangs off it.
DEVICE = "lab2"


@pytest.fixture(scope="module")
def power_lab(lab: Lab) -> Iterator[Lab]:
    """A lab of its own, because a restarted device can stay unreachable from the host.

    NOTE: after a power-off and start, the host's neighbour entry for the device keeps the
    old eth0 MAC address, so connections time out. A lab of its own keeps that away from
    the shared lab's other tests. The shared ``lab`` fixture is requested only so this one
    is skipped or failed for the same reasons.
    """
    own = Lab("p" + format(os.getpid() % 36**3, "x")[-3:], 2)
    own.up()
    try:
        yield own
    finally:
        own.down()


@pytest.fixture
def cli(power_lab: Lab, tmp_path: Path) -> LabCli:
    return LabCli(power_lab, tmp_path)


def require_isolated(lab: Lab, device: str) -> None:
    lab.check_isolated(device)
    over_ssh = subprocess.run([*lab.ssh_argv(device), "readlink /proc/self/ns/pid"],
                              capture_output=True, text=True, timeout=60, check=True)
    assert over_ssh.stdout.strip() != os.readlink("/proc/self/ns/pid")


def wait_for_state(lab: Lab, device: str, wanted: str, timeout: float = 30) -> object:
    """Return the device's state once it is ``wanted``, or the last state seen at timeout."""
    deadline = time.monotonic() + timeout
    while lab.state(device)["state"] != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return lab.state(device)["state"]


def test_reboot_goes_away_and_comes_back(cli: LabCli, power_lab: Lab) -> None:
    lab = power_lab
    require_isolated(lab, DEVICE)
    init_before = lab.init_pid(DEVICE)
    lab.run(DEVICE, ["touch", "/run/h5-before-reboot"])

    run = cli.run("reboot", DEVICE, "--yes", "--up-timeout", "120", "--json")
    assert run.returncode == 0, run.stderr
    # The lost connection is the outage the user asked for, so no warning reaches stderr.
    assert "WARNING" not in run.stderr
    result = json.loads(run.stdout)[0]
    assert result["device"] == DEVICE
    assert result["downtime"] >= 0
    assert result["back_after"] >= result["went_down_after"]

    assert lab.state(DEVICE)["state"] == "up"
    assert lab.init_pid(DEVICE) != init_before
    # /run is a tmpfs of the device's boot, so a file there is gone after a real restart.
    gone = lab.run(DEVICE, ["test", "-e", "/run/h5-before-reboot"], check=False)
    assert gone.returncode == 1
    hostname = subprocess.run([*lab.ssh_argv(DEVICE), "hostname"], capture_output=True,
                              text=True, timeout=60)
    assert hostname.stdout.strip() == DEVICE
    entry = next(item for item in cli.audit(DEVICE) if item["action"] == "device.reboot")
    assert entry["result"] == "ok"


def test_reboot_without_yes_needs_a_terminal(cli: LabCli, power_lab: Lab) -> None:
    lab = power_lab
    init_before = lab.init_pid(DEVICE)
    result = cli.run("reboot", DEVICE)
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert lab.init_pid(DEVICE) == init_before
    assert [item for item in cli.audit(DEVICE) if item["action"] == "device.reboot"] == []


def test_shutdown_reports_down(cli: LabCli, power_lab: Lab) -> None:
    lab = power_lab
    require_isolated(lab, DEVICE)
    try:
        output = cli.ok("shutdown", DEVICE, "--yes")
        assert f"{DEVICE}: went down" in output
        assert wait_for_state(lab, DEVICE, "off") == "off"
    finally:
        lab.restart(DEVICE)
    assert lab.state(DEVICE)["state"] == "up"
