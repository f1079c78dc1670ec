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
                                         "preshared_key_set": False}]
    assert "secret" not in repr(entry)


def test_preshared_key_shows_as_set_only() -> None:
    key = "A" * 43 + "="
    psk = "B" * 43 + "="
    before = [bridge("wg0", kind="wireguard", settings={}, wireguard={
        "private_key": "secret", "listen_port": 51820, "fwmark": 0,
        "peers": [{"public_key": key, "allowed_ips": [], "preshared_key": None}]})]
    after = changes.simulate(before, [
        op("wg.peer.update", name="wg0", public_key=key, preshared_key=psk)])
    (entry,) = changes.diff(before, after)
    (change,) = [c for c in entry["changes"] if c["field"] == "wireguard"]
    assert change["before"]["peers"][0]["preshared_key_set"] is False
    assert change["after"]["peers"][0]["preshared_key_set"] is True
    assert psk not in repr(entry) + changes.format_diff([entry])


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
