"""The agent zipapp on lab devices: hello, WireGuard, errors without systemd, and reboot.

The zipapp is copied into each device's private /root and started there with the
device's python3, through nsenter into the device's namespaces.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from mudmap_tui import agent_build
from mudmap_tui.lab import Lab
from tests.agent_client import AgentCallError, AgentProcess

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE_CACHE = "/root/.cache/mudmap/agent"
WRITE = (
    "import base64, os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
    "open(sys.argv[1], 'wb').write(base64.b64decode(sys.stdin.read()))"
)


@pytest.fixture(scope="module")
def zipapp(lab: Lab) -> str:
    """Install the zipapp on every device; return its path there."""
    data, sha256 = agent_build.build()
    path = f"{DEVICE_CACHE}/{agent_build.file_name(sha256)}"
    encoded = base64.b64encode(data).decode()
    for device in lab.devices:
        lab.run(device, ["/usr/bin/python3", "-I", "-c", WRITE, path], input=encoded)
    return path


def device_agent(lab: Lab, device: str, path: str) -> AgentProcess:
    argv = [
        "nsenter",
        "-t",
        str(lab.init_pid(device)),
        "-n",
        "-m",
        "-u",
        "-p",
        "--wd=/",
        "--",
        "/usr/bin/python3",
        "-I",
        path,
    ]
    return AgentProcess(argv)


@pytest.fixture
def lab2_agent(lab: Lab, zipapp: str) -> Iterator[AgentProcess]:
    with device_agent(lab, "lab2", zipapp) as process:
        yield process


def test_self_test_on_device(lab: Lab, zipapp: str) -> None:
    result = lab.run("lab2", ["/usr/bin/python3", "-I", zipapp, "--self-test"])
    hello = json.loads(result.stdout)
    assert hello["hostname"] == "lab2"
    assert hello["import_errors"] == []
    assert hello["backends"]["systemd"] is False


def test_services_unsupported_without_systemd(lab: Lab, lab2_agent: AgentProcess) -> None:
    kinds = []
    for method, params in (
        ("services.list", {}),
        ("services.status", {"name": "ssh"}),
        ("services.restart", {"name": "ssh.service"}),
        ("services.enable", {"name": "ssh.service"}),
    ):
        with pytest.raises(AgentCallError) as error:
            lab2_agent.call(method, **params)
        kinds.append(error.value.kind)
        assert "systemd is not running" in error.value.message
    assert kinds == ["unsupported"] * 4
    # The device's sshd was not touched: the SSH login still works.
    assert subprocess.run([*lab.ssh_argv("lab2"), "true"], timeout=30).returncode == 0


def test_journal_by_unit_unsupported(lab2_agent: AgentProcess) -> None:
    with pytest.raises(AgentCallError) as error:
        lab2_agent.call("journal.tail", unit="ssh", lines=5)
    assert error.value.kind == "unsupported"


def test_wireguard_on_device(lab: Lab, lab2_agent: AgentProcess) -> None:
    created = lab2_agent.call("wg.create", name="h3wg0", listen_port=51820)
    try:
        links = json.loads(lab.run("lab2", ["ip", "-j", "link", "show", "h3wg0"]).stdout)
        dump = lab.run("lab2", ["wg", "show", "h3wg0", "dump"]).stdout.split("\t")
        listed = lab2_agent.call("interfaces.get", name="h3wg0")["interface"]
    finally:
        lab2_agent.call("wg.delete", name="h3wg0")
    remaining = lab.run("lab2", ["ip", "link", "show", "h3wg0"], check=False)

    assert created["backend"] == "userspace"
    assert [link["ifname"] for link in links] == ["h3wg0"]
    assert dump[1] == created["public_key"]
    assert dump[2] == "51820"
    assert listed["kind"] == "wireguard"
    assert listed["wireguard"]["public_key"] == created["public_key"]
    assert listed["wireguard"]["listen_port"] == 51820
    assert remaining.returncode != 0


def wait_rebooted(lab: Lab, device: str, requested: float, old_init: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        record = lab.state(device)
        since = record.get("since")
        pid = record.get("init_pid")
        fresh = isinstance(since, float) and since > requested
        if fresh and record["state"] == "up" and isinstance(pid, int) and pid != old_init:
            return pid
        time.sleep(0.2)
    raise AssertionError(f"{device} did not come back up; state: {lab.state(device)}")


def ssh_answers(lab: Lab, device: str) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = subprocess.run(
            [*lab.ssh_argv(device), "cat", "/proc/sys/kernel/hostname"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip() == device:
            return True
        time.sleep(0.5)
    return False


def test_reboot_inside_device(lab: Lab, zipapp: str) -> None:
    device = sorted(name for name in lab.devices if name != "lab-inner")[-1]
    old_init = lab.init_pid(device)
    # Safety: reboot(2) is only harmless in a PID namespace other than the host's.
    lab.check_isolated(device)
    host_namespace = os.readlink("/proc/self/ns/pid")
    device_namespace = os.readlink(f"/proc/{old_init}/ns/pid")
    assert device_namespace != host_namespace
    # A process entered the way the agent is entered must see the device's namespace.
    entered = lab.run(device, ["readlink", "/proc/self/ns/pid"]).stdout.strip()
    assert entered == device_namespace

    requested = time.time()
    with device_agent(lab, device, zipapp) as agent:
        result = agent.call("system.reboot", delay=1)
    new_init = wait_rebooted(lab, device, requested, old_init)

    assert result["action"] == "reboot"
    assert result["via"] == "reboot(2)"
    assert new_init != old_init
    assert ssh_answers(lab, device)
