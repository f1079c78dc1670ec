"""Two throwaway network namespaces joined by a veth pair, for agent tests that need root.

Namespaces made by ``ip netns add`` share the host's /run, so wireguard-go sockets of
both sides live in one /run/wireguard; tests give every interface a unique name.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.agent_client import AgentProcess, in_netns, source_agent_argv

# 198.18.0.0/15 is reserved for benchmarking (RFC 2544) and never routed; it lives only
# inside these namespaces.
UNDERLAY = ("198.18.3.1", "198.18.3.2")


@dataclass
class Side:
    netns: str
    address: str

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            in_netns(self.netns, list(argv)), capture_output=True, text=True, check=check
        )

    def agent(self) -> AgentProcess:
        return AgentProcess(in_netns(self.netns, source_agent_argv()))


def unique_tag() -> str:
    return "h3" + secrets.token_hex(3)


@contextmanager
def netns_pair() -> Iterator[tuple[Side, Side]]:
    if os.geteuid() != 0:
        raise PermissionError("network namespace tests need root")
    tag = unique_tag()
    sides = (Side(tag + "-a", UNDERLAY[0]), Side(tag + "-b", UNDERLAY[1]))
    try:
        for side in sides:
            subprocess.run(["ip", "netns", "add", side.netns], check=True)
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                tag + "a",
                "netns",
                sides[0].netns,
                "type",
                "veth",
                "peer",
                "name",
                tag + "b",
                "netns",
                sides[1].netns,
            ],
            check=True,
        )
        for side, link in zip(sides, (tag + "a", tag + "b"), strict=True):
            side.run("ip", "link", "set", "lo", "up")
            side.run("ip", "link", "set", link, "up")
            side.run("ip", "addr", "add", side.address + "/24", "dev", link)
        yield sides
    finally:
        for side in sides:
            _stop_wireguard_go(side)
            subprocess.run(["ip", "netns", "del", side.netns], check=False)


def _stop_wireguard_go(side: Side) -> None:
    """Stop wireguard-go processes left inside the namespace by a failed test."""
    listed = subprocess.run(
        ["ip", "netns", "pids", side.netns], capture_output=True, text=True, check=False
    )
    for pid in listed.stdout.split():
        try:
            with open(f"/proc/{pid}/comm") as comm:
                is_wireguard_go = comm.read().strip() == "wireguard-go"
            if is_wireguard_go:
                os.kill(int(pid), 15)
        except (OSError, ValueError):
            continue
