"""The agent on lab devices: entered with nsenter, and over OpenSSH as the controller does.

Most tests copy the agent's source and pyroute2 into each device's private /root; the
zipapp tests install the archive that the controller ships. Either way the device runs its
own copy with its own python3, never the host's tree.
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mudmap_tui import agent_build
from mudmap_tui.lab import INNER_DEVICE, Lab
from tests.agent_client import PYROUTE2_PARENT, REPO, AgentCallError, AgentProcess

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE_DIR = "/root/h2a-agent"
BOOTSTRAP = (
    f"import sys; sys.path[0:0] = [{DEVICE_DIR!r}]; from agent.server import main; sys.exit(main())"
)
ZIPAPP_DIR = "/root/h2a-zipapp"
WRITE = (
    "import base64, os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
    "open(sys.argv[1], 'wb').write(base64.b64decode(sys.stdin.read()))"
)
UNPACK = (
    "import base64, io, sys, tarfile; "
    "tarfile.open(fileobj=io.BytesIO(base64.b64decode(sys.stdin.read()))).extractall(sys.argv[1])"
)


def agent_archive() -> str:
    """Pack agent/ and pyroute2/ (without bytecode) as base64 text for lab.run's input."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for root, name in ((REPO, "agent"), (PYROUTE2_PARENT, "pyroute2")):
            archive.add(
                Path(root) / name,
                arcname=name,
                filter=lambda info: None if "__pycache__" in info.name else info,
            )
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def installed(lab: Lab) -> Lab:
    archive = agent_archive()
    for device in lab.devices:
        lab.run(device, ["rm", "-rf", DEVICE_DIR])
        lab.run(device, ["/usr/bin/python3", "-I", "-c", UNPACK, DEVICE_DIR], input=archive)
    return lab


def nsenter_agent(lab: Lab, device: str) -> AgentProcess:
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
        "-c",
        BOOTSTRAP,
    ]
    return AgentProcess(argv)


def ssh_agent(lab: Lab, device: str) -> AgentProcess:
    remote = shlex.join(["python3", "-I", "-c", BOOTSTRAP])
    return AgentProcess([*lab.ssh_argv(device), remote])


def device_links(lab: Lab, device: str) -> dict[str, dict[str, Any]]:
    dump = json.loads(lab.run(device, ["ip", "-j", "-d", "link", "show"]).stdout)
    return {link["ifname"]: link for link in dump}


@pytest.fixture
def nsenter_lab1(installed: Lab) -> Iterator[AgentProcess]:
    process = nsenter_agent(installed, "lab1")
    yield process
    process.close()


def test_hello_inside_device(installed: Lab, nsenter_lab1: AgentProcess) -> None:
    hello = nsenter_lab1.call("hello")

    assert hello["hostname"] == "lab1"
    assert hello["is_root"] is True
    assert hello["backends"]["netlink"] is True
    assert hello["import_errors"] == []


def test_list_matches_device_ip(installed: Lab, nsenter_lab1: AgentProcess) -> None:
    listed = {i["name"]: i for i in nsenter_lab1.call("interfaces.list")["interfaces"]}
    state = device_links(installed, "lab1")

    assert set(listed) == set(state)
    eth0 = json.loads(installed.run("lab1", ["ip", "-j", "addr", "show", "eth0"]).stdout)[0]
    reported = {(a["address"], a["prefixlen"]) for a in listed["eth0"]["addresses"]}
    assert {(a["local"], a["prefixlen"]) for a in eth0["addr_info"]} == reported


def test_write_cycle_inside_device(installed: Lab, nsenter_lab1: AgentProcess) -> None:
    agent = nsenter_lab1
    agent.call(
        "interfaces.create_many",
        interfaces=[
            {"kind": "bridge", "name": "h2abr"},
            {"kind": "veth", "name": "h2av0", "peer": "h2av1", "master": "h2abr", "state": "up"},
        ],
    )
    try:
        agent.call("addresses.add", name="h2abr", address="192.0.2.77/28")
        agent.call("interfaces.update", name="h2abr", mtu=1400, state="up")

        state = device_links(installed, "lab1")
        assert state["h2av0"]["master"] == "h2abr"
        assert state["h2abr"]["mtu"] == 1400
        assert "UP" in state["h2abr"]["flags"]
        addresses = json.loads(installed.run("lab1", ["ip", "-j", "addr", "show", "h2abr"]).stdout)
        assert [a["local"] for a in addresses[0]["addr_info"] if a["family"] == "inet"] == [
            "192.0.2.77"
        ]
    finally:
        for name in ("h2av0", "h2abr"):
            try:
                agent.call("interfaces.delete", name=name)
            except AgentCallError as error:
                assert error.kind == "not_found"
    remaining = device_links(installed, "lab1")
    assert "h2abr" not in remaining
    assert "h2av1" not in remaining


@pytest.mark.parametrize("device", ["lab2", INNER_DEVICE])
def test_over_ssh(installed: Lab, device: str) -> None:
    with ssh_agent(installed, device) as agent:
        hello = agent.call("hello")
        assert hello["hostname"] == device

        agent.call("interfaces.create", kind="veth", name="h2ass0", peer="h2ass1")
        assert "h2ass0" in device_links(installed, device)
        renamed = agent.call("interfaces.update", name="h2ass0", new_name="h2ass9")
        assert renamed["interface"]["name"] == "h2ass9"
        assert agent.call("interfaces.delete", name="h2ass9") == {"deleted": "h2ass9"}

        with pytest.raises(AgentCallError) as caught:
            agent.call("interfaces.get", name="h2ass9")
        assert caught.value.kind == "not_found"
    assert "h2ass0" not in device_links(installed, device)
    assert "h2ass9" not in device_links(installed, device)


def test_ssh_agent_exits_on_eof(installed: Lab) -> None:
    agent = ssh_agent(installed, "lab3")
    assert agent.call("hello")["hostname"] == "lab3"
    assert agent.close() == 0


def test_wireguard_through_interfaces_create(installed: Lab, nsenter_lab1: AgentProcess) -> None:
    agent = nsenter_lab1
    created = agent.call("interfaces.create", kind="wireguard", name="h2awg0", listen_port=51999)
    try:
        interface = created["interface"]
        assert interface["kind"] == "wireguard"
        assert interface["wireguard"]["listen_port"] == 51999
        assert "h2awg0" in device_links(installed, "lab1")
        listed = {i["name"]: i for i in agent.call("interfaces.list")["interfaces"]}
        assert listed["h2awg0"]["kind"] == "wireguard"
        assert "wireguard" not in listed["h2awg0"]
    finally:
        agent.call("wg.delete", name="h2awg0")
    assert "h2awg0" not in device_links(installed, "lab1")


@pytest.fixture(scope="module")
def zipapp(lab: Lab) -> str:
    """Install the zipapp that the controller ships on every device; return its path there."""
    data, sha256 = agent_build.build()
    path = f"{ZIPAPP_DIR}/{agent_build.file_name(sha256)}"
    encoded = base64.b64encode(data).decode()
    for device in lab.devices:
        lab.run(device, ["/usr/bin/python3", "-I", "-c", WRITE, path], input=encoded)
    return path


@pytest.mark.parametrize("device", ["lab1", INNER_DEVICE])
def test_zipapp_over_ssh(lab: Lab, zipapp: str, device: str) -> None:
    with AgentProcess([*lab.ssh_argv(device), shlex.join(["python3", "-I", zipapp])]) as agent:
        hello = agent.call("hello")
        assert hello["hostname"] == device
        assert hello["import_errors"] == []

        listed = {i["name"] for i in agent.call("interfaces.list")["interfaces"]}
        assert listed == set(device_links(lab, device))

        agent.call("interfaces.create", kind="bridge", name="h2azb0", state="up")
        assert "UP" in device_links(lab, device)["h2azb0"]["flags"]
        agent.call("interfaces.delete", name="h2azb0")
    assert "h2azb0" not in device_links(lab, device)
