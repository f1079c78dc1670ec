"""Planning a change without a device: operation checks, predicted state, diff and hash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agent import changes, snapshot
from agent.errors import AgentError


def bridge(name: str = "br0", **overrides: Any) -> dict[str, Any]:
    entry = {"name": name, "exists": True, "index": 7, "kind": "bridge", "mtu": 1500,
             "mac": "02:00:00:00:00:07", "admin_state": "up", "master": None,
             "addresses": ["10.0.0.1/24"], "settings": {"stp": False}}
    entry.update(overrides)
    return entry


def op(method: str, **params: Any) -> tuple[str, dict[str, Any]]:
    return method, params


@pytest.mark.parametrize("ops", [
    [],
    [{"method": "interfaces.create"}],
    [{"method": "system.reboot", "params": {"name": "eth0"}}],
    [{"method": "interfaces.update", "params": []}],
    [{"method": "interfaces.update", "params": {"name": "x" * 16}}],
    [{"method": "interfaces.update", "params": {"name": "eth0"}, "extra": 1}],
])
def test_parse_ops_rejects(ops: list[Any]) -> None:
    with pytest.raises(AgentError) as caught:
        changes.parse_ops(ops)
    assert caught.value.kind == "invalid_params"


@pytest.mark.parametrize(("item", "expected"), [
    ({"method": "interfaces.create", "params": {"kind": "wireguard", "name": "wg0",
                                                "listen_port": 70000}},
     "ops[0] interfaces.create: invalid listen_port 70000"),
    ({"method": "wg.create", "params": {"name": "wg0", "listen_port": 70000}},
     "ops[0] wg.create: invalid listen_port 70000"),
    ({"method": "wg.peer.add", "params": {"name": "wg0", "public_key": "A" * 43 + "=",
                                          "allowed_ips": ["10.9.0.2/32"],
                                          "persistent_keepalive": 70000}},
     "ops[0] wg.peer.add: invalid persistent_keepalive 70000"),
    ({"method": "wg.peer.update", "params": {"name": "wg0", "public_key": "A" * 43 + "=",
                                             "endpoint": "10.0.0.1:0"}},
     "ops[0] wg.peer.update: invalid endpoint '10.0.0.1:0'"),
    ({"method": "interfaces.update", "params": {"name": "eth0", "mtu": 10}},
     "ops[0] interfaces.update: invalid mtu 10"),
    ({"method": "interfaces.create", "params": {"kind": "bridge", "name": "br3",
                                                "listen_port": 1}},
     "ops[0] interfaces.create: unknown parameter 'listen_port'"),
    ({"method": "interfaces.create", "params": {"kind": "bridge", "name": "default"}},
     "ops[0] interfaces.create: invalid name 'default'"),
    ({"method": "addresses.add", "params": {"name": "eth0", "address": "10.0.0.1/33"}},
     "ops[0] addresses.add: invalid address '10.0.0.1/33'"),
    ({"method": "interfaces.create"}, 'ops[0] has no "params" object'),
])
def test_parse_ops_validates_params(item: dict[str, Any], expected: str) -> None:
    with pytest.raises(AgentError) as caught:
        changes.parse_ops([item])
    assert caught.value.kind == "invalid_params"
    assert caught.value.message.startswith(expected)


def link_message(index: int, name: str, kind: str | None, **attributes: Any) -> dict[str, Any]:
    """Build a link as the agent's netlink dump returns it."""
    message: dict[str, Any] = {"index": index, "ifi_type": 1, "flags": 0x1,
                               "IFLA_IFNAME": name, "IFLA_MTU": 1500}
    if kind is not None:
        message["IFLA_LINKINFO"] = {"IFLA_INFO_KIND": kind}
    message.update(attributes)
    return message


@pytest.fixture
def links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve a fixed set of links to the state checks in place of the netlink dump."""
    from agent import links as links_module

    table = links_module.LinkTable([
        link_message(1, "lo", None, ifi_type=772, flags=0x9),
        link_message(2, "eth0", None),
        link_message(3, "br0", "bridge"),
        link_message(4, "br1", "bridge"),
        link_message(5, "mv0", "macvlan", IFLA_MIN_MTU=68, IFLA_MAX_MTU=1500),
    ], [])
    monkeypatch.setattr(links_module, "read_table", lambda: table)


def state_error(ops: list[tuple[str, dict[str, Any]]]) -> AgentError:
    with pytest.raises(AgentError) as caught:
        changes.check_state(ops)
    return caught.value


def test_state_check_rejects_loopback_delete(links: None) -> None:
    error = state_error([op("interfaces.delete", name="lo")])
    assert error.kind == "invalid_params"
    assert error.message == ("ops[0] interfaces.delete: lo is a loopback interface and cannot "
                             "be deleted; set it down instead")


def test_state_check_rejects_mtu_above_link_max(links: None) -> None:
    error = state_error([op("interfaces.update", name="mv0", mtu=9000)])
    assert error.kind == "invalid_params"
    assert "link mv0 accepts an MTU from 68 to 1500" in error.message


def test_state_check_rejects_bridge_in_bridge(links: None) -> None:
    for ops in ([op("interfaces.update", name="br1", master="br0")],
                [op("interfaces.create", kind="bridge", name="br3", master="br0")]):
        error = state_error(ops)
        assert error.kind == "invalid_params"
        assert "a bridge cannot be a port of another bridge" in error.message
        assert "veth pair" in error.message


def test_state_check_names_second_op(links: None) -> None:
    error = state_error([op("interfaces.update", name="eth0", mtu=1400),
                         op("interfaces.delete", name="nosuch")])
    assert error.kind == "not_found"
    assert error.message == "ops[1] interfaces.delete: interface nosuch not found"


def test_state_check_skips_links_of_earlier_ops(links: None) -> None:
    changes.check_state([
        op("interfaces.create", kind="bridge", name="br5"),
        op("addresses.add", name="br5", address="10.0.5.1/24"),
        op("interfaces.create", kind="macvlan", name="mv5", parent="br5"),
        op("addresses.add", name="eth0", address="10.0.6.1/24"),
        op("addresses.remove", name="eth0", address="10.0.6.1/24"),
    ])


def test_touched_names_include_new_name_peer_and_master() -> None:
    ops = [op("interfaces.update", name="eth0", new_name="wan0", master="br0"),
           op("interfaces.create", kind="veth", name="v0", peer="v1")]
    assert changes.touched_names(ops) == ["eth0", "wan0", "br0", "v0", "v1"]


def test_delete_frees_ports_and_removes_stacked() -> None:
    before = [bridge(), bridge("veth0", kind="veth", master="br0", addresses=[], settings={}),
              bridge("mv0", kind="macvlan", settings={"parent": "br0", "mode": "bridge"})]
    after = changes.simulate(before, [op("interfaces.delete", name="br0")])
    entries = {entry["name"]: entry for entry in changes.diff(before, after)}
    assert entries["br0"]["action"] == "delete"
    assert entries["mv0"]["action"] == "delete"
    assert entries["veth0"]["action"] == "update"
    assert entries["veth0"]["changes"] == [{"field": "master", "before": "br0", "after": None}]


def test_update_and_addresses_diff() -> None:
    before = [bridge()]
    after = changes.simulate(before, [
        op("interfaces.update", name="br0", mtu=9000, state="down"),
        op("addresses.add", name="br0", address="10.0.1.1/24"),
        op("addresses.remove", name="br0", address="10.0.0.1/24"),
    ])
    (entry,) = changes.diff(before, after)
    fields = {change["field"]: change for change in entry["changes"]}
    assert fields["mtu"]["after"] == 9000
    assert fields["admin_state"]["after"] == "down"
    assert fields["addresses"]["after"] == ["10.0.1.1/24"]
    text = changes.format_diff([entry])
    assert text.splitlines()[0] == "~ br0 (bridge)"
    assert "    mtu: 1500 -> 9000" in text.splitlines()


def test_rename_shows_delete_and_create() -> None:
    before = [bridge()]
    after = changes.simulate(before, [op("interfaces.update", name="br0", new_name="lan0")])
    actions = {entry["name"]: entry["action"] for entry in changes.diff(before, after)}
    assert actions == {"br0": "delete", "lan0": "create"}


def test_wireguard_peer_ops() -> None:
    key = "A" * 43 + "="
    before = [bridge("wg0", kind="wireguard", settings={}, wireguard={
        "private_key": "secret", "listen_port": 51820, "fwmark": 0, "peers": []})]
    after = changes.simulate(before, [
        op("wg.peer.add", name="wg0", public_key=key, allowed_ips=["10.9.0.2/32"]),
        op("wg.set", name="wg0", listen_port=51821),
    ])
    (entry,) = changes.diff(before, after)
    (change,) = [c for c in entry["changes"] if c["field"] == "wireguard"]
    assert change["after"]["listen_port"] == 51821
    assert change["after"]["peers"] == [{"public_key": key, "allowed_ips": ["10.9.0.2/32"],
                                         "preshared_key_set": False,
                                         "preshared_key_sha256": None}]
    assert "secret" not in repr(entry)


PEER_KEY = "A" * 43 + "="


def one_peer(preshared_key: str | None) -> list[dict[str, Any]]:
    """Return wg0 with one peer, PEER_KEY, that has ``preshared_key``."""
    return [bridge("wg0", kind="wireguard", settings={}, wireguard={
        "private_key": "secret", "listen_port": 51820, "fwmark": 0,
        "peers": [{"public_key": PEER_KEY, "allowed_ips": [],
                   "preshared_key": preshared_key}]})]


def set_preshared_key(before: list[dict[str, Any]], psk: str) -> list[dict[str, Any]]:
    """Return the diff entries of giving PEER_KEY the preshared key ``psk``."""
    after = changes.simulate(before, [
        op("wg.peer.update", name="wg0", public_key=PEER_KEY, preshared_key=psk)])
    return changes.diff(before, after)


def test_preshared_key_shows_as_set_only() -> None:
    psk = "B" * 43 + "="
    (entry,) = set_preshared_key(one_peer(None), psk)
    (change,) = [c for c in entry["changes"] if c["field"] == "wireguard"]
    assert change["before"]["peers"][0]["preshared_key_set"] is False
    assert change["after"]["peers"][0]["preshared_key_set"] is True
    assert psk not in repr(entry) + changes.format_diff([entry])


def test_rotated_preshared_key_shows_in_diff() -> None:
    old_psk = "B" * 43 + "="
    new_psk = "C" * 43 + "="
    before = one_peer(old_psk)
    (entry,) = set_preshared_key(before, new_psk)
    (change,) = [c for c in entry["changes"] if c["field"] == "wireguard"]
    old_print = change["before"]["peers"][0]["preshared_key_sha256"]
    new_print = change["after"]["peers"][0]["preshared_key_sha256"]
    assert old_print is not None
    assert new_print is not None
    assert old_print != new_print
    text = repr(entry) + changes.format_diff([entry])
    assert old_psk not in text
    assert new_psk not in text
    assert set_preshared_key(before, old_psk) == []


def wireguard_with_peers(*peers: dict[str, Any]) -> list[dict[str, Any]]:
    return [bridge("wg0", kind="wireguard", settings={}, wireguard={
        "private_key": "secret", "listen_port": 51820, "fwmark": 0, "peers": list(peers)})]


def test_allowed_ip_moves_to_updated_peer() -> None:
    holder = "A" * 43 + "="
    taker = "B" * 43 + "="
    before = wireguard_with_peers(
        {"public_key": holder, "allowed_ips": ["10.9.0.2/32", "10.9.1.0/24"]},
        {"public_key": taker, "allowed_ips": ["10.9.0.3/32"]})
    warnings: list[str] = []
    after = changes.simulate(before, [
        op("wg.peer.update", name="wg0", public_key=taker,
           allowed_ips=["10.9.0.2/32", "10.9.1.0/25"])], warnings)
    peers = {peer["public_key"]: peer for peer in after["wg0"]["wireguard"]["peers"]}
    assert peers[taker]["allowed_ips"] == ["10.9.0.2/32", "10.9.1.0/25"]
    # The exact network moves; the overlapping /24 stays with its peer.
    assert peers[holder]["allowed_ips"] == ["10.9.1.0/24"]
    assert warnings == ["allowed IP 10.9.0.2/32 moves from peer AAAAAAAA\u2026 to peer "
                        "BBBBBBBB\u2026 on wg0"]
    (entry,) = changes.diff(before, after)
    (change,) = [c for c in entry["changes"] if c["field"] == "wireguard"]
    before_peers = {p["public_key"]: p for p in change["before"]["peers"]}
    after_peers = {p["public_key"]: p for p in change["after"]["peers"]}
    assert before_peers[holder]["allowed_ips"] == ["10.9.0.2/32", "10.9.1.0/24"]
    assert after_peers[holder]["allowed_ips"] == ["10.9.1.0/24"]


def test_allowed_ip_moves_to_added_peer() -> None:
    holder = "A" * 43 + "="
    newcomer = "C" * 43 + "="
    before = wireguard_with_peers({"public_key": holder, "allowed_ips": ["fd00:9::2/128"]})
    warnings: list[str] = []
    after = changes.simulate(before, [
        op("wg.peer.add", name="wg0", public_key=newcomer, allowed_ips=["fd00:9:0::2/128"])],
        warnings)
    peers = {peer["public_key"]: peer for peer in after["wg0"]["wireguard"]["peers"]}
    assert peers[holder]["allowed_ips"] == []
    assert peers[newcomer]["allowed_ips"] == ["fd00:9::2/128"]
    assert len(warnings) == 1
    assert "fd00:9::2/128 moves from peer AAAAAAAA" in warnings[0]


def test_disjoint_allowed_ips_give_no_warning() -> None:
    before = wireguard_with_peers({"public_key": "A" * 43 + "=", "allowed_ips": ["10.9.0.2/32"]})
    warnings: list[str] = []
    changes.simulate(before, [
        op("wg.peer.add", name="wg0", public_key="C" * 43 + "=", allowed_ips=["10.9.0.4/32"])],
        warnings)
    assert warnings == []


def test_endpoints_share_one_format() -> None:
    key = "A" * 43 + "="
    other = "C" * 43 + "="
    before = wireguard_with_peers(
        {"public_key": key, "allowed_ips": [], "endpoint": ["fd00:89::2", 51820]},
        {"public_key": other, "allowed_ips": [], "endpoint": ["10.0.0.9", 51820]})
    after = changes.simulate(before, [
        op("wg.peer.update", name="wg0", public_key=key, endpoint="[fd00:89::3]:51821")])
    (entry,) = changes.diff(before, after)
    (change,) = [c for c in entry["changes"] if c["field"] == "wireguard"]
    before_peers = {p["public_key"]: p for p in change["before"]["peers"]}
    after_peers = {p["public_key"]: p for p in change["after"]["peers"]}
    assert before_peers[key]["endpoint"] == "[fd00:89::2]:51820"
    assert after_peers[key]["endpoint"] == "[fd00:89::3]:51821"
    assert before_peers[other]["endpoint"] == "10.0.0.9:51820"
    assert after_peers[other]["endpoint"] == "10.0.0.9:51820"


def test_public_view_hides_private_key() -> None:
    entry = bridge("wg0", kind="wireguard", wireguard={"private_key": "c2VjcmV0",
                                                      "listen_port": 1, "peers": []})
    view = snapshot.public_view(entry)
    assert "private_key" not in view["wireguard"]
    assert view["wireguard"]["private_key_sha256"]
    assert "c2VjcmV0" not in repr(view)


names = st.text(alphabet="abcdefgh0123", min_size=1, max_size=8)
entries = st.lists(
    st.builds(lambda name, mtu, up, addresses: bridge(
        name, mtu=mtu, admin_state="up" if up else "down", addresses=sorted(set(addresses))),
        names, st.integers(68, 9000), st.booleans(),
        st.lists(st.sampled_from(["10.0.0.1/24", "fd00::1/64", "192.0.2.7/32"]), max_size=3)),
    max_size=6, unique_by=lambda entry: entry["name"])


@given(entries)
def test_no_ops_means_empty_diff(before: list[dict[str, Any]]) -> None:
    assert changes.diff(before, changes.simulate(before, [])) == []


@given(entries, st.randoms())
def test_state_hash_ignores_order(before: list[dict[str, Any]], random: Any) -> None:
    shuffled = list(before)
    random.shuffle(shuffled)
    assert snapshot.state_hash(shuffled) == snapshot.state_hash(before)


@given(entries, st.integers(68, 9000))
def test_state_hash_sees_mtu_change(before: list[dict[str, Any]], mtu: int) -> None:
    assume(before and before[0]["mtu"] != mtu)
    changed = [dict(before[0], mtu=mtu), *before[1:]]
    assert snapshot.state_hash(changed) != snapshot.state_hash(before)


def test_down_warns_ipv6_addresses_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changes, "_keeps_ipv6_on_down", lambda name: False)
    before = [bridge("br7", addresses=["192.0.2.77/24", "2001:db8::77/64", "fe80::1/64"])]
    warnings: list[str] = []
    changes.simulate(before, [op("interfaces.update", name="br7", state="down")], warnings)
    assert warnings == [
        "setting br7 down removes its IPv6 addresses 2001:db8::77/64, and setting it up again "
        "does not restore them; re-add them, or set net.ipv6.conf.br7.keep_addr_on_down=1 "
        "first"]
    monkeypatch.setattr(changes, "_keeps_ipv6_on_down", lambda name: True)
    kept: list[str] = []
    changes.simulate(before, [op("interfaces.update", name="br7", state="down")], kept)
    assert kept == []
    only_v4: list[str] = []
    changes.simulate([bridge("br8")], [op("interfaces.update", name="br8", state="down")],
                     only_v4)
    assert only_v4 == []
