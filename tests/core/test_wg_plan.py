"""Peer planning: free addresses, overlaps and the params sent to wg.peer.*."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mudmap_tui import wg_plan
from mudmap_tui.errors import InvalidInput

SERVER_KEY = "CNPC1JI4KEzS53dZSy3r+jvPCQ/JQ/pZMqquaehk2mo="
OTHER_KEY = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="


@st.composite
def subnet_and_peers(draw: st.DrawFn, version: int) -> tuple:
    """Draw a small subnet, the interface's address in it and other peers' allowed IPs."""
    bits = 32 if version == 4 else 128
    prefix = draw(st.integers(min_value=bits - 8, max_value=bits))
    base = draw(st.integers(min_value=0, max_value=2**bits - 1))
    network = ipaddress.ip_network((base >> (bits - prefix) << (bits - prefix), prefix))
    offset = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    interface = ipaddress.ip_interface((int(network.network_address) + offset, prefix))
    taken = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        length = draw(st.integers(min_value=max(prefix - 2, 0), max_value=bits))
        where = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
        start = int(network.network_address) + where
        taken.append(ipaddress.ip_network((start >> (bits - length) << (bits - length), length)))
    return interface, taken


def brute_force_free(interface, taken) -> list:
    network = interface.network
    first, last = wg_plan.usable_range(network)
    free = []
    for value in range(first, last + 1):
        address = (
            ipaddress.ip_address(value) if network.version == 4 else ipaddress.IPv6Address(value)
        )
        if address == interface.ip or any(address in net for net in taken):
            continue
        free.append(address)
    return free


@given(subnet_and_peers(4))
def test_next_free_ipv4_is_lowest_free(case) -> None:
    interface, taken = case
    expected = brute_force_free(interface, taken)
    found = wg_plan.next_free_address(interface, taken)
    assert found == (expected[0] if expected else None)


@given(subnet_and_peers(6))
def test_next_free_ipv6_is_lowest_free(case) -> None:
    interface, taken = case
    expected = brute_force_free(interface, taken)
    found = wg_plan.next_free_address(interface, taken)
    assert found == (expected[0] if expected else None)


@given(subnet_and_peers(4))
def test_next_free_avoids_reserved(case) -> None:
    interface, taken = case
    found = wg_plan.next_free_address(interface, taken)
    network = interface.network
    if found is None:
        return
    assert found in network
    assert found != interface.ip
    assert not any(found in net for net in taken)
    if network.prefixlen <= 30:
        assert found != network.network_address
        assert found != network.broadcast_address


def test_next_free_none_when_full() -> None:
    interface = ipaddress.ip_interface("10.8.0.1/30")
    assert wg_plan.next_free_address(interface, [ipaddress.ip_network("10.8.0.2/32")]) is None


def test_next_free_skips_network_and_broadcast() -> None:
    interface = ipaddress.ip_interface("10.8.0.2/30")
    assert wg_plan.next_free_address(interface, []) == ipaddress.ip_address("10.8.0.1")
    interface = ipaddress.ip_interface("10.8.0.1/30")
    assert wg_plan.next_free_address(interface, []) == ipaddress.ip_address("10.8.0.2")


def test_next_free_ignores_other_family() -> None:
    interface = ipaddress.ip_interface("fd00::1/64")
    taken = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("fd00::2/127")]
    assert wg_plan.next_free_address(interface, taken) == ipaddress.ip_address("fd00::4")


def test_next_free_blocked_by_site_route() -> None:
    interface = ipaddress.ip_interface("10.8.0.1/24")
    assert wg_plan.next_free_address(interface, [ipaddress.ip_network("10.8.0.0/16")]) is None


def net_set(network) -> set[int]:
    return set(range(int(network.network_address), int(network.broadcast_address) + 1))


@given(subnet_and_peers(4), subnet_and_peers(4))
def test_overlaps_match_brute_force(mine, theirs) -> None:
    _, new_ips = mine
    _, other_ips = theirs
    peer = wg_plan.PeerView(OTHER_KEY, tuple(other_ips))
    overlaps = wg_plan.find_overlaps(new_ips, [peer])
    expected = {(a, b) for a in new_ips for b in other_ips if net_set(a) & net_set(b)}
    assert {(item.network, item.other_network) for item in overlaps} == expected


def test_overlaps_skip_the_edited_peer() -> None:
    peer = wg_plan.PeerView(OTHER_KEY, (ipaddress.ip_network("10.8.0.2/32"),))
    networks = [ipaddress.ip_network("10.8.0.0/24")]
    assert wg_plan.find_overlaps(networks, [peer], exclude_public_key=OTHER_KEY) == []
    overlaps = wg_plan.find_overlaps(networks, [peer])
    assert len(overlaps) == 1
    assert "10.8.0.0/24 overlaps 10.8.0.2/32" in overlaps[0].describe()


def test_overlaps_ignore_other_family() -> None:
    peer = wg_plan.PeerView(OTHER_KEY, (ipaddress.ip_network("::/0"),))
    assert wg_plan.find_overlaps([ipaddress.ip_network("0.0.0.0/0")], [peer]) == []


INTERFACES_GET = {
    "interface": {
        "name": "wg0",
        "kind": "wireguard",
        "addresses": [
            {"family": "inet", "address": "10.8.0.1", "prefixlen": 24},
            {"family": "inet6", "address": "fd08::1", "prefixlen": 64},
            {"family": "inet6", "address": "fe80::1", "prefixlen": 64},
        ],
        "wireguard": {
            "name": "wg0",
            "public_key": SERVER_KEY,
            "listen_port": 51820,
            "peers": [
                {
                    "public_key": OTHER_KEY,
                    "allowed_ips": ["10.8.0.2/32", "fd08::2/128"],
                    "endpoint": None,
                    "persistent_keepalive": 0,
                },
            ],
        },
    }
}


def test_view_reads_interfaces_get() -> None:
    view = wg_plan.interface_view(INTERFACES_GET)
    assert view.name == "wg0"
    assert view.listen_port == 51820
    assert view.public_key == SERVER_KEY
    assert len(view.addresses) == 3
    assert view.peers[0].allowed_ips[0] == ipaddress.ip_network("10.8.0.2/32")


def test_suggestion_skips_taken_and_link_local() -> None:
    view = wg_plan.interface_view(INTERFACES_GET)
    assert wg_plan.suggest_allowed_ips(view) == ["10.8.0.3/32", "fd08::3/128"]


def test_key_pair_derives_public() -> None:
    pair = wg_plan.generate_key_pair()
    assert wg_plan.public_key_of(pair.private_key) == pair.public_key
    assert pair.private_key not in repr(pair)


def test_bad_key_names_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        wg_plan.parse_public_key("not-a-key")
    assert caught.value.field == "public key"
    assert "base64" in caught.value.rule


def test_bad_allowed_ips_names_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        wg_plan.parse_allowed_ips("10.8.0.0/24, 10.8.0.300/32")
    assert caught.value.field == "allowed IPs"
    assert caught.value.value == "10.8.0.300/32"


def test_allowed_ips_normalised() -> None:
    assert wg_plan.parse_allowed_ips("10.8.0.7/24, fd08::9/64") == ["10.8.0.0/24", "fd08::/64"]


def test_endpoint_ipv6_in_brackets() -> None:
    assert wg_plan.parse_endpoint("[2001:db8::1]:51820") == "[2001:db8::1]:51820"
    assert wg_plan.parse_endpoint("") is None
    with pytest.raises(InvalidInput):
        wg_plan.parse_endpoint("vpn.example.net:51820")


def test_update_params_only_changes() -> None:
    view = wg_plan.interface_view(INTERFACES_GET)
    existing = view.peers[0]
    same = wg_plan.PeerInput(OTHER_KEY, ["fd08::2/128", "10.8.0.2/32"])
    assert wg_plan.peer_update_params("wg0", existing, same) == {
        "name": "wg0",
        "public_key": OTHER_KEY,
    }
    changed = wg_plan.PeerInput(OTHER_KEY, ["10.8.0.2/32"], persistent_keepalive=25)
    assert wg_plan.peer_update_params("wg0", existing, changed) == {
        "name": "wg0",
        "public_key": OTHER_KEY,
        "allowed_ips": ["10.8.0.2/32"],
        "persistent_keepalive": 25,
    }


def test_add_params_omit_empty() -> None:
    peer = wg_plan.PeerInput(OTHER_KEY, ["10.8.0.3/32"])
    assert wg_plan.peer_add_params("wg0", peer) == {
        "name": "wg0",
        "public_key": OTHER_KEY,
        "allowed_ips": ["10.8.0.3/32"],
    }


def test_same_network_described_as_move() -> None:
    peer = wg_plan.PeerView(OTHER_KEY, (ipaddress.ip_network("10.8.0.2/32"),))
    overlaps = wg_plan.find_overlaps([ipaddress.ip_network("10.8.0.2/32")], [peer])
    assert overlaps[0].describe() == (
        f"10.8.0.2/32 moves from peer {OTHER_KEY[:8]}… to this peer; "
        f"peer {OTHER_KEY[:8]}… loses it")
