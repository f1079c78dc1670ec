"""Throwaway network namespaces and agents running inside them, for the agent's lab tests.

Test modules import the fixtures from here. Namespace names start with "h2a-" so they
never collide with other suites' namespaces.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.agent_client import AgentProcess, in_netns, source_agent_argv

NETNS_PREFIX = "h2a-"


def run_ip(netns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "-n", netns, *args], capture_output=True, text=True, check=check, timeout=30
    )


def ip_json(netns: str, *args: str) -> Any:
    return json.loads(run_ip(netns, "-j", *args).stdout or "[]")


def links(netns: str) -> dict[str, dict[str, Any]]:
    """Return ``ip -j -d link`` in the namespace, keyed by interface name."""
    return {link["ifname"]: link for link in ip_json(netns, "-d", "link", "show")}


def addresses(netns: str, name: str) -> list[str]:
    """Return the addresses of one link as "address/prefixlen" strings, per ``ip -j addr``."""
    (entry,) = ip_json(netns, "addr", "show", "dev", name)
    return [f"{a['local']}/{a['prefixlen']}" for a in entry["addr_info"]]


def snapshot(netns: str) -> tuple[Any, Any]:
    """Capture every link and address, minus counters that move on their own."""
    link_dump = ip_json(netns, "-d", "link", "show")
    for link in link_dump:
        link.pop("stats64", None)
        link.pop("stats", None)
    address_dump = ip_json(netns, "addr", "show")
    for entry in address_dump:
        for address in entry.get("addr_info", []):
            address.pop("valid_life_time", None)
            address.pop("preferred_life_time", None)
    return link_dump, address_dump


def new_netns(tag: str) -> str:
    name = f"{NETNS_PREFIX}{tag}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    return name


def delete_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "delete", name], check=False, timeout=30)


# ip(8) arguments that create one link of each kind; macvlan sits on the veth "p-veth".
PROBE_COMMANDS = {
    "veth": ["link", "add", "p-veth", "type", "veth", "peer", "name", "p-vpeer"],
    "dummy": ["link", "add", "p-dummy", "type", "dummy"],
    "bond": ["link", "add", "p-bond", "type", "bond"],
    "bridge": ["link", "add", "p-bridge", "type", "bridge"],
    "vlan": ["link", "add", "link", "p-veth", "name", "p-vlan", "type", "vlan", "id", "5"],
    "macvlan": ["link", "add", "link", "p-veth", "name", "p-macvlan", "type", "macvlan"],
    "vxlan": ["link", "add", "p-vxlan", "type", "vxlan", "id", "1", "dstport", "4789"],
}


def probe_kernel_kinds() -> dict[str, bool]:
    """Try to create each link kind in a throwaway namespace; map kind to support."""
    netns = new_netns("probe")
    try:
        return {
            kind: run_ip(netns, *command, check=False).returncode == 0
            for kind, command in PROBE_COMMANDS.items()
        }
    finally:
        delete_netns(netns)


@pytest.fixture(scope="session")
def kernel_kinds() -> dict[str, bool]:
    if os.geteuid() != 0:
        pytest.fail("the agent's lab tests need root to create network namespaces")
    return probe_kernel_kinds()


@pytest.fixture
def netns(request: pytest.FixtureRequest) -> Iterator[str]:
    name = new_netns(request.node.name[:6].strip("_").replace("_", "") or "t")
    try:
        yield name
    finally:
        delete_netns(name)


def start_agent(netns: str, **env: str) -> AgentProcess:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return AgentProcess(in_netns(netns, source_agent_argv()), env=environment)


@pytest.fixture
def agent(netns: str) -> Iterator[AgentProcess]:
    process = start_agent(netns)
    try:
        yield process
    finally:
        process.close()
