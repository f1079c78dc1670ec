"""interfaces.list builds its JSON from reused address texts; check it against references.

The reference decodes the same namespace with pyroute2 and describes it with the agent's
dict path. A fault in the agent's own decoder, in the reuse of earlier texts or in the
splicing of the JSON therefore shows up as a difference.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

import pytest

from agent import rtnl_dump, server
from tests.agent.netns_fixtures import ip_json, run_ip
from tests.agent_client import PYROUTE2_PARENT, REPO, AgentProcess, in_netns

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

# IPv6 text that RFC 5952 formatting gets wrong easily: a single zero group is not
# compressed, the first of two equal zero runs is, and glibc prints some with a dotted quad.
TRICKY_IPV6 = [
    "2001:db8::1:0:0:1/64",
    "2001:db8:0:1:1:1:1:1/64",
    "2001:db8:1:0:1::/64",
    "fe80::/64",
    "2001:db8::/64",
    "::ffff:198.51.100.1/128",
    "::198.51.100.2/128",
    "::2/128",
]

# Runs inside the namespace: the agent's listing twice (the second reuses the first's
# texts) and the reference, built from pyroute2's decoding with address text as ipaddress
# prints it, which is what the protocol promises.
COMPARE_SCRIPT = """
import ipaddress, json, sys
sys.path[0:0] = [{repo!r}, {pyroute2!r}]
from pyroute2 import IPRoute
from agent import links

first = links.interfaces_list({{}})
second = links.interfaces_list({{}})
with IPRoute() as ipr:
    table = links.LinkTable(list(ipr.link("dump")), list(ipr.addr("dump")))
reference = {{"interfaces": [table.describe(link) for link in table.links]}}
for interface in reference["interfaces"]:
    for address in interface["addresses"]:
        for member in ("address", "peer"):
            if member in address:
                address[member] = ipaddress.ip_address(address[member]).compressed
encoded = json.dumps(reference, separators=(",", ":")).encode()
print(json.dumps({{"first": first.decode(), "second": second.decode(),
                  "reference": encoded.decode()}}))
"""


def build_addresses(netns: str) -> list[str]:
    """Add links with many addresses and the tricky forms; return the IPv6 ones accepted.

    The links stay down, so no IPv6 neighbour or multicast traffic changes their counters
    between the dumps that the tests compare.
    """
    commands = [
        "link set lo up",
        "link add tr0 type veth peer name tr1",
        "link add tb0 type bridge",
        "link set tr1 master tb0",
        "addr add 192.0.2.1 peer 192.0.2.2/32 dev tr1",
        "addr add 192.0.2.9/24 dev tr1 label tr1:x",
        "addr add 2001:db8:5::1 peer 2001:db8:5::2/128 dev tr1 nodad",
    ]
    # Enough addresses to fill several receive buffers of the address dump.
    for number in range(300):
        high, low = divmod(number, 250)
        commands.append(f"addr add 198.18.{high}.{low + 1}/16 dev tr0")
        commands.append(f"addr add 2001:db8:7::{number + 1:x}/64 dev tb0 nodad")
    subprocess.run(
        ["ip", "-n", netns, "-batch", "-"],
        input="\n".join(commands) + "\n",
        text=True,
        check=True,
        timeout=60,
    )
    accepted = []
    for address in TRICKY_IPV6:
        result = run_ip(netns, "addr", "add", address, "dev", "tr0", "nodad", check=False)
        if result.returncode == 0:
            accepted.append(address)
    return accepted


def compare_in_netns(netns: str) -> dict[str, Any]:
    script = COMPARE_SCRIPT.format(repo=str(REPO), pyroute2=str(PYROUTE2_PARENT))
    completed = subprocess.run(
        in_netns(netns, ["/usr/bin/python3", "-I", "-c", script]),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def listed_addresses(interfaces: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (interface,) = [i for i in interfaces if i["name"] == name]
    return {a["address"]: a for a in interface["addresses"]}


def test_list_bytes_match_reference(netns: str) -> None:
    accepted = build_addresses(netns)

    result = compare_in_netns(netns)

    # Most of the tricky forms must be there, or the test would compare little.
    assert {"2001:db8::1:0:0:1/64", "2001:db8:0:1:1:1:1:1/64", "fe80::/64"} <= set(accepted)
    assert result["first"] == result["reference"]
    assert result["second"] == result["reference"]


def test_list_address_text_matches_ip(netns: str) -> None:
    accepted = build_addresses(netns)

    interfaces = json.loads(compare_in_netns(netns)["second"])["interfaces"]

    by_address = listed_addresses(interfaces, "tr0")
    for address in accepted:
        text = ipaddress.ip_interface(address).ip.compressed
        assert by_address[text]["prefixlen"] == ipaddress.ip_interface(address).network.prefixlen
    assert "2001:db8::1:0:0:1" in by_address
    assert "2001:db8:0:1:1:1:1:1" in by_address
    assert "fe80::" in by_address
    lo = listed_addresses(interfaces, "lo")
    assert lo["::1"]["scope"] == "host"
    (entry,) = ip_json(netns, "addr", "show", "dev", "tr0")
    from_ip = {ipaddress.ip_address(a["local"]).compressed for a in entry["addr_info"]}
    assert set(by_address) == from_ip


def test_list_peer_and_label(netns: str) -> None:
    build_addresses(netns)

    interfaces = json.loads(compare_in_netns(netns)["second"])["interfaces"]

    by_address = listed_addresses(interfaces, "tr1")
    assert by_address["192.0.2.1"]["peer"] == "192.0.2.2"
    assert by_address["2001:db8:5::1"]["peer"] == "2001:db8:5::2"
    assert by_address["192.0.2.9"]["label"] == "tr1:x"


def send_frame(netns: str, name: str) -> None:
    """Send one broadcast Ethernet frame out of link ``name``."""
    code = (
        "import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); "
        f"s.bind(({name!r}, 0)); "
        "s.send(b'\\xff' * 6 + b'\\x02\\x00\\x00\\x00\\x00\\x01' + b'\\x88\\xb5' + bytes(46))"
    )
    subprocess.run(in_netns(netns, ["/usr/bin/python3", "-I", "-c", code]), check=True, timeout=30)


def add_quiet_pair(netns: str) -> None:
    """Add the veth pair cv0/cv1, up and without IPv6, so only our frames move its counters."""
    run_ip(netns, "link", "add", "cv0", "type", "veth", "peer", "name", "cv1")
    for name in ("cv0", "cv1"):
        subprocess.run(
            in_netns(netns, ["sysctl", "-q", "-w", f"net.ipv6.conf.{name}.disable_ipv6=1"]),
            check=True,
            timeout=30,
        )
        run_ip(netns, "link", "set", name, "up")


def test_list_follows_changes(netns: str, agent: AgentProcess) -> None:
    build_addresses(netns)
    add_quiet_pair(netns)
    before = {i["name"]: i for i in agent.call("interfaces.list")["interfaces"]}

    send_frame(netns, "cv0")
    run_ip(netns, "addr", "change", "198.18.0.1/16", "dev", "tr0",
           "valid_lft", "300", "preferred_lft", "0")  # fmt: skip
    run_ip(netns, "addr", "del", "2001:db8:7::1/64", "dev", "tb0")
    run_ip(netns, "link", "set", "tb0", "name", "tb9")
    after = {i["name"]: i for i in agent.call("interfaces.list")["interfaces"]}

    assert after["cv0"]["counters"]["tx_packets"] == before["cv0"]["counters"]["tx_packets"] + 1
    assert after["cv1"]["counters"]["rx_packets"] == before["cv1"]["counters"]["rx_packets"] + 1
    changed = listed_addresses(list(after.values()), "tr0")["198.18.0.1"]
    assert 290 <= changed["valid_lifetime"] <= 300
    assert changed["preferred_lifetime"] == 0
    assert "deprecated" in changed["flags"]
    assert "tb0" not in after
    assert "2001:db8:7::1" not in listed_addresses(list(after.values()), "tb9")
    assert "2001:db8:7::2" in listed_addresses(list(after.values()), "tb9")
    assert after["tr1"]["master"] == "tb9"


@pytest.mark.parametrize(
    "text", ["::", "::1", "2001:db8::1:0:0:1", "fe80::", "2001:db8:0:1:1:1:1:1", "::ffff:0:1"]
)
def test_ipv6_text_is_rfc5952(text: str) -> None:
    raw = ipaddress.IPv6Address(text).packed

    assert rtnl_dump._ip(raw, 0, 16) == text


def test_encoded_result_response_matches_dumps() -> None:
    result = {"interfaces": [{"name": 'é"x', "mtu": 1500, "mac": None}]}
    encoded = json.dumps(result, separators=(",", ":")).encode()

    chunks = server.encode_response({"jsonrpc": "2.0", "id": "a", "result": encoded})

    expected = server.encode_response({"jsonrpc": "2.0", "id": "a", "result": result})
    assert b"".join(chunks) == b"".join(expected)
