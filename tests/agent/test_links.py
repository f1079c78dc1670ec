"""The agent's interface, address and route methods against a real namespace, checked with ip(8)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.agent.netns_fixtures import addresses, links, run_ip, snapshot
from tests.agent_client import AgentCallError, AgentProcess, in_netns, source_agent_argv

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

# One create request per kind, each on parent "base0" (a veth made by the test) where needed.
CREATE_REQUESTS: dict[str, dict[str, Any]] = {
    "dummy": {"kind": "dummy", "name": "dm0"},
    "bond": {"kind": "bond", "name": "bd0", "mode": "active-backup", "miimon": 100},
    "vlan": {"kind": "vlan", "name": "base0.10", "parent": "base0", "id": 10},
    "bridge": {"kind": "bridge", "name": "br0", "stp": True},
    "macvlan": {"kind": "macvlan", "name": "mv0", "parent": "base0", "mode": "private"},
    "vxlan": {
        "kind": "vxlan",
        "name": "vx0",
        "vni": 4242,
        "remote": "192.0.2.7",
        "local": "192.0.2.1",
        "port": 4790,
    },
    "veth": {"kind": "veth", "name": "ve0", "peer": "ve1"},
}


def make_base(netns_name: str) -> None:
    run_ip(netns_name, "link", "add", "base0", "type", "veth", "peer", "name", "base1")


def call_error(agent_process: AgentProcess, method: str, **params: Any) -> AgentCallError:
    with pytest.raises(AgentCallError) as caught:
        agent_process.call(method, **params)
    return caught.value


def check_kind_details(kind: str, link: dict[str, Any]) -> None:
    """Compare what ip -d reports for a created link with its create request."""
    info = link["linkinfo"]
    assert info["info_kind"] == kind
    data = info.get("info_data", {})
    if kind == "bridge":
        assert data["stp_state"] == 1
    elif kind == "bond":
        assert data["mode"] == "active-backup"
        assert data["miimon"] == 100
    elif kind == "vlan":
        assert data["id"] == 10
        assert link["link"] == "base0"
    elif kind == "macvlan":
        assert data["mode"] == "private"
        assert link["link"] == "base0"
    elif kind == "vxlan":
        assert data["id"] == 4242
        assert data["remote"] == "192.0.2.7"
        assert data["local"] == "192.0.2.1"
        assert data["port"] == 4790
    elif kind == "veth":
        assert link["link"] == "ve1"


@pytest.mark.parametrize("kind", list(CREATE_REQUESTS))
def test_create_each_kind(
    kind: str, netns: str, agent: AgentProcess, kernel_kinds: dict[str, bool]
) -> None:
    make_base(netns)
    request = CREATE_REQUESTS[kind]
    if not kernel_kinds[kind]:
        before = snapshot(netns)
        error = call_error(agent, "interfaces.create", **request)
        assert error.kind == "unsupported"
        assert kind in error.message
        assert "no support" in error.message
        assert snapshot(netns) == before
        return

    result = agent.call("interfaces.create", **request)["interface"]

    assert result["name"] == request["name"]
    assert result["kind"] == kind
    check_kind_details(kind, links(netns)[request["name"]])
    listed = {i["name"]: i for i in agent.call("interfaces.list")["interfaces"]}
    assert listed[request["name"]]["kind"] == kind


def test_create_many_rolls_back(netns: str, agent: AgentProcess) -> None:
    before = snapshot(netns)

    # The macvlan's MTU of 9000 exceeds its parent's 1500, so the kernel rejects it after
    # the bridge and the veth pair exist. Both must be gone again afterwards.
    error = call_error(
        agent,
        "interfaces.create_many",
        interfaces=[
            {"kind": "macvlan", "name": "rm0", "parent": "rp1", "mtu": 9000},
            {"kind": "veth", "name": "rp0", "peer": "rp1", "master": "rbr"},
            {"kind": "bridge", "name": "rbr"},
        ],
    )

    assert error.kind in ("invalid_params", "unsupported")
    assert error.data["rolled_back"] == ["rp0", "rbr"]
    assert snapshot(netns) == before


def test_create_many_checks_names_first(netns: str, agent: AgentProcess) -> None:
    run_ip(netns, "link", "add", "taken1", "type", "veth", "peer", "name", "taken2")
    before = snapshot(netns)

    error = call_error(
        agent,
        "interfaces.create_many",
        interfaces=[
            {"kind": "bridge", "name": "mbr"},
            {"kind": "veth", "name": "p0", "peer": "taken2", "master": "mbr"},
        ],
    )

    assert error.kind == "exists"
    assert snapshot(netns) == before


def test_create_many_orders_parents(
    netns: str, agent: AgentProcess, kernel_kinds: dict[str, bool]
) -> None:
    # A macvlan on a veth peer that is enslaved to a bridge, listed child first.
    result = agent.call(
        "interfaces.create_many",
        interfaces=[
            {"kind": "macvlan", "name": "cmv", "parent": "cp1"},
            {"kind": "veth", "name": "cp0", "peer": "cp1", "master": "cbr"},
            {"kind": "bridge", "name": "cbr"},
        ],
    )

    assert [i["name"] for i in result["interfaces"]] == ["cbr", "cp0", "cmv"]
    state = links(netns)
    assert state["cp0"]["master"] == "cbr"
    assert state["cmv"]["link"] == "cp1"


def test_create_many_stacked_unsupported(
    netns: str, agent: AgentProcess, kernel_kinds: dict[str, bool]
) -> None:
    make_base(netns)
    specs = [
        {"kind": "vlan", "name": "bnd0.5", "parent": "bnd0", "id": 5},
        {"kind": "bond", "name": "bnd0", "mode": "802.3ad"},
    ]
    if kernel_kinds["bond"] and kernel_kinds["vlan"]:
        agent.call("interfaces.create_many", interfaces=specs)
        assert links(netns)["bnd0.5"]["link"] == "bnd0"
        return
    before = snapshot(netns)
    error = call_error(agent, "interfaces.create_many", interfaces=specs)
    assert error.kind == "unsupported"
    assert snapshot(netns) == before


def test_update_and_delete(netns: str, agent: AgentProcess) -> None:
    agent.call("interfaces.create", kind="bridge", name="ubr")
    agent.call("interfaces.create", kind="veth", name="up0", peer="up1")

    result = agent.call(
        "interfaces.update",
        name="up0",
        mtu=1400,
        mac="02:AA:bb:cc:dd:01",
        master="ubr",
        new_name="upx",
        state="up",
    )

    assert result["mtu"] == 1400
    state = links(netns)
    assert "up0" not in state
    assert state["upx"]["mtu"] == 1400
    assert state["upx"]["address"] == "02:aa:bb:cc:dd:01"
    assert state["upx"]["master"] == "ubr"
    assert "UP" in state["upx"]["flags"]

    agent.call("interfaces.update", name="upx", master=None, state="down")
    state = links(netns)
    assert "master" not in state["upx"]
    assert "UP" not in state["upx"]["flags"]

    assert agent.call("interfaces.delete", name="upx") == {"deleted": "upx"}
    state = links(netns)
    assert "upx" not in state
    assert "up1" not in state


def test_update_reports_kernel_mtu(netns: str, agent: AgentProcess) -> None:
    agent.call("interfaces.create", kind="bridge", name="mbr")
    result = agent.call("interfaces.update", name="mbr", mtu=9000)
    assert result["mtu"] == links(netns)["mbr"]["mtu"]


def test_addresses_add_remove_replace(netns: str, agent: AgentProcess) -> None:
    agent.call("interfaces.create", kind="bridge", name="abr")

    agent.call("addresses.add", name="abr", address="192.0.2.10/24")
    agent.call("addresses.add", name="abr", address="2001:DB8:0::10/64")
    assert addresses(netns, "abr") == ["192.0.2.10/24", "2001:db8::10/64"]

    agent.call("addresses.remove", name="abr", address="192.0.2.10/24")
    assert addresses(netns, "abr") == ["2001:db8::10/64"]

    result = agent.call(
        "addresses.replace",
        name="abr",
        addresses=["198.51.100.1/24", "198.51.100.2/24", "2001:db8::20/64"],
    )
    assert sorted(result["added"]) == ["198.51.100.1/24", "198.51.100.2/24", "2001:db8::20/64"]
    assert result["removed"] == ["2001:db8::10/64"]
    assert sorted(addresses(netns, "abr")) == sorted(
        ["198.51.100.1/24", "198.51.100.2/24", "2001:db8::20/64"]
    )

    # Dropping the primary would take the secondary with it; replace keeps the secondary.
    agent.call("addresses.replace", name="abr", addresses=["198.51.100.2/24"])
    assert addresses(netns, "abr") == ["198.51.100.2/24"]


def test_address_errors(netns: str, agent: AgentProcess) -> None:
    agent.call("interfaces.create", kind="bridge", name="ebr")
    agent.call("addresses.add", name="ebr", address="192.0.2.1/24")
    before = snapshot(netns)

    assert call_error(agent, "addresses.add", name="ebr", address="192.0.2.1/24").kind == "exists"
    assert (
        call_error(agent, "addresses.remove", name="ebr", address="192.0.2.99/24").kind
        == "not_found"
    )
    assert (
        call_error(agent, "addresses.add", name="nope0", address="192.0.2.3/24").kind == "not_found"
    )
    assert snapshot(netns) == before


def test_write_errors_leave_device_unchanged(netns: str, agent: AgentProcess) -> None:
    agent.call("interfaces.create", kind="bridge", name="xbr")
    agent.call("interfaces.create", kind="veth", name="xv0", peer="xv1")
    before = snapshot(netns)

    cases = [
        ("interfaces.create", {"kind": "bridge", "name": "xbr"}, "exists"),
        ("interfaces.create", {"kind": "veth", "name": "n0", "peer": "xv1"}, "exists"),
        ("interfaces.create", {"kind": "macvlan", "name": "m0", "parent": "nope"}, "not_found"),
        ("interfaces.update", {"name": "nope", "mtu": 1400}, "not_found"),
        ("interfaces.update", {"name": "xv0", "master": "xv1"}, "conflict"),
        ("interfaces.update", {"name": "xv0", "new_name": "xbr"}, "exists"),
        ("interfaces.delete", {"name": "nope"}, "not_found"),
        ("interfaces.delete", {"name": "lo"}, "invalid_params"),
        ("interfaces.create", {"kind": "bridge", "name": "xbr2", "master": "xbr"},
         "invalid_params"),
    ]
    for method, params, kind in cases:
        error = call_error(agent, method, **params)
        assert (method, params, error.kind) == (method, params, kind)
    assert snapshot(netns) == before


INVALID_PARAMS = [
    ("interfaces.create", {"kind": "bridge", "name": "a" * 16}, "name"),
    ("interfaces.create", {"kind": "bridge", "name": "a/b"}, "name"),
    ("interfaces.create", {"kind": "bridge", "name": "a b"}, "name"),
    ("interfaces.create", {"kind": "bridge", "name": ".."}, "name"),
    ("interfaces.create", {"kind": "teleport", "name": "t0"}, "kind"),
    ("interfaces.create", {"kind": "bridge", "name": "b0", "stp": "yes"}, "stp"),
    ("interfaces.create", {"kind": "bridge", "name": "b0", "colour": "red"}, "colour"),
    ("interfaces.create", {"kind": "bridge", "name": "b0", "mtu": 67}, "mtu"),
    ("interfaces.create", {"kind": "bridge", "name": "b0", "mac": "01:00:5e:00:00:01"}, "mac"),
    ("interfaces.create", {"kind": "bond", "name": "b0", "mode": "fastest"}, "mode"),
    ("interfaces.create", {"kind": "bond", "name": "b0", "miimon": -1}, "miimon"),
    ("interfaces.create", {"kind": "vlan", "name": "v0", "parent": "xv0", "id": 4095}, "id"),
    (
        "interfaces.create",
        {"kind": "vlan", "name": "v0", "parent": "xv0", "id": 5, "protocol": "802.1x"},
        "protocol",
    ),
    ("interfaces.create", {"kind": "macvlan", "name": "m0", "parent": "xv0", "mode": "x"}, "mode"),
    ("interfaces.create", {"kind": "vxlan", "name": "x0", "vni": 2**24}, "vni"),
    ("interfaces.create", {"kind": "vxlan", "name": "x0", "vni": 1, "port": 0}, "port"),
    (
        "interfaces.create",
        {"kind": "vxlan", "name": "x0", "vni": 1, "remote": "239.1.1.1"},
        "remote",
    ),
    (
        "interfaces.create",
        {"kind": "vxlan", "name": "x0", "vni": 1, "remote": "192.0.2.300"},
        "remote",
    ),
    ("interfaces.create", {"kind": "veth", "name": "p0"}, "peer"),
    ("interfaces.update", {"name": "xv0", "mtu": 65536}, "mtu"),
    ("interfaces.update", {"name": "xv0", "mtu": True}, "mtu"),
    ("interfaces.update", {"name": "xv0", "state": "sideways"}, "state"),
    ("interfaces.update", {"name": "xv0", "mac": "02:00:00:00:00"}, "mac"),
    ("interfaces.update", {"name": "xv0", "new_name": "x" * 20}, "new_name"),
    ("addresses.add", {"name": "xv0", "address": "192.0.2.1"}, "address"),
    ("addresses.add", {"name": "xv0", "address": "192.0.2.1/33"}, "address"),
    ("addresses.add", {"name": "xv0", "address": "2001:db8::1/129"}, "address"),
    ("addresses.add", {"name": "xv0", "address": "fe80::1%xv0/64"}, "address"),
    (
        "addresses.replace",
        {"name": "xv0", "addresses": ["192.0.2.1/24", "192.0.2.1/25"]},
        "addresses[1]",
    ),
    ("routes.list", {"table": "nonsense"}, "table"),
]


@pytest.mark.parametrize(("method", "params", "field"), INVALID_PARAMS)
def test_invalid_params_change_nothing(
    method: str, params: dict[str, Any], field: str, netns: str, agent: AgentProcess
) -> None:
    run_ip(netns, "link", "add", "xv0", "type", "veth", "peer", "name", "xv1")
    before = snapshot(netns)

    error = call_error(agent, method, **params)

    assert error.kind == "invalid_params"
    assert error.code == -32602
    assert error.data["field"] == field
    assert snapshot(netns) == before


def test_mtu_limits_match_ip(netns: str, agent: AgentProcess) -> None:
    agent.call("interfaces.create", kind="bridge", name="rbr")
    link = agent.call("interfaces.get", name="rbr")["interface"]
    assert link["min_mtu"] == links(netns)["rbr"]["min_mtu"]
    assert link["max_mtu"] == links(netns)["rbr"]["max_mtu"]


def test_mtu_kernel_rejection_changes_nothing(netns: str, agent: AgentProcess) -> None:
    # A macvlan's MTU may not exceed its parent's, a rule that only the kernel checks.
    run_ip(netns, "link", "add", "mp0", "type", "veth", "peer", "name", "mp1")
    run_ip(netns, "link", "add", "link", "mp0", "name", "mm0", "type", "macvlan")
    before = snapshot(netns)

    error = call_error(agent, "interfaces.update", name="mm0", mtu=9000, state="up")

    assert error.kind == "invalid_params"
    assert "mm0" in error.message
    assert snapshot(netns) == before


def test_list_matches_ip(netns: str, agent: AgentProcess) -> None:
    run_ip(netns, "link", "add", "lb0", "type", "bridge")
    run_ip(netns, "link", "add", "lv0", "type", "veth", "peer", "name", "lv1")
    run_ip(netns, "link", "set", "lv0", "master", "lb0")
    run_ip(netns, "link", "set", "lb0", "up")
    run_ip(netns, "addr", "add", "192.0.2.5/24", "dev", "lb0")
    run_ip(netns, "addr", "add", "192.0.2.6/24", "dev", "lb0")
    run_ip(netns, "addr", "add", "2001:db8:0:0::5/64", "dev", "lb0", "nodad")

    listed = {i["name"]: i for i in agent.call("interfaces.list")["interfaces"]}
    state = links(netns)

    assert set(listed) == set(state)
    for name, link in state.items():
        assert listed[name]["index"] == link["ifindex"]
        assert listed[name]["mtu"] == link["mtu"]
        assert listed[name]["mac"] == link.get("address")
    assert listed["lo"]["kind"] == "loopback"
    assert listed["lb0"]["bridge"]["ports"] == ["lv0"]
    assert listed["lv0"]["master"] == "lb0"
    assert listed["lv0"]["veth"]["peer"]["name"] == "lv1"
    assert listed["lb0"]["admin_state"] == "up"
    by_address = {a["address"]: a for a in listed["lb0"]["addresses"]}
    assert by_address["192.0.2.5"]["prefixlen"] == 24
    assert "secondary" in by_address["192.0.2.6"]["flags"]
    assert "permanent" in by_address["2001:db8::5"]["flags"]
    assert by_address["2001:db8::5"]["valid_lifetime"] is None


def test_veth_peer_in_other_netns(netns: str, agent: AgentProcess) -> None:
    other = netns + "o"
    run_ip(netns, "link", "add", "xn0", "type", "veth", "peer", "name", "xn1")
    try:
        subprocess.run(["ip", "netns", "add", other], check=True)
        run_ip(netns, "link", "set", "xn1", "netns", other)
        peer = agent.call("interfaces.get", name="xn0")["interface"]["veth"]["peer"]
        assert peer["name"] is None
        assert isinstance(peer["netns_id"], int)
        assert isinstance(peer["index"], int)
    finally:
        subprocess.run(["ip", "netns", "delete", other], check=False)


def test_routes_list(netns: str, agent: AgentProcess) -> None:
    run_ip(netns, "link", "add", "rb0", "type", "bridge")
    run_ip(netns, "link", "set", "rb0", "up")
    run_ip(netns, "addr", "add", "192.0.2.1/24", "dev", "rb0")
    run_ip(netns, "route", "add", "default", "via", "192.0.2.254", "metric", "50")
    run_ip(netns, "route", "add", "198.51.100.0/24", "via", "192.0.2.253", "table", "100")

    main = agent.call("routes.list")["routes"]
    default = [r for r in main if r["destination"] == "0.0.0.0/0"]
    assert default == [
        {
            "family": "inet",
            "destination": "0.0.0.0/0",
            "gateway": "192.0.2.254",
            "dev": "rb0",
            "metric": 50,
            "protocol": "boot",
            "scope": "global",
            "type": "unicast",
            "table": "main",
            "prefsrc": None,
        }
    ]
    assert all(r["table"] == "main" for r in main)
    table_100 = agent.call("routes.list", table=100)["routes"]
    assert [r["destination"] for r in table_100] == ["198.51.100.0/24"]
    every = agent.call("routes.list", table="all")["routes"]
    assert {r["table"] for r in every} >= {"main", "local", 100}


def test_get_missing_interface(agent: AgentProcess) -> None:
    error = call_error(agent, "interfaces.get", name="missing0")
    assert error.kind == "not_found"
    assert "missing0" in error.message


def test_facts(agent: AgentProcess) -> None:
    facts = agent.call("facts")
    assert facts["cpus"] >= 1
    assert facts["memory"]["total"] > 0
    assert facts["kernel"]["release"]
    assert facts["network_config"]["primary"] in (
        "systemd_networkd",
        "networkmanager",
        "netplan",
        "ifupdown",
        "none",
    )


def test_kind_settings_match_ip(netns: str, agent: AgentProcess) -> None:
    run_ip(
        netns,
        "link",
        "add",
        "kb0",
        "type",
        "bridge",
        "stp_state",
        "1",
        "forward_delay",
        "900",
        "priority",
        "4096",
    )
    run_ip(netns, "link", "add", "kv0", "type", "veth", "peer", "name", "kv1")
    run_ip(netns, "link", "add", "link", "kv1", "name", "km0", "type", "macvlan", "mode", "vepa")
    run_ip(
        netns,
        "link",
        "add",
        "kx0",
        "type",
        "vxlan",
        "id",
        "99",
        "remote",
        "2001:db8::9",
        "local",
        "2001:db8::1",
        "dstport",
        "8472",
        "dev",
        "kv0",
    )
    run_ip(
        netns,
        "link",
        "add",
        "kx1",
        "type",
        "vxlan",
        "id",
        "100",
        "group",
        "239.0.0.9",
        "dev",
        "kv0",
        "dstport",
        "4789",
    )

    listed = {i["name"]: i for i in agent.call("interfaces.list")["interfaces"]}

    assert listed["kb0"]["bridge"]["stp"] is True
    assert listed["kb0"]["bridge"]["forward_delay"] == 9.0
    assert listed["kb0"]["bridge"]["priority"] == 4096
    assert listed["km0"]["macvlan"] == {"mode": "vepa", "parent": "kv1"}
    assert listed["kx0"]["vxlan"] == {
        "vni": 99,
        "remote": "2001:db8::9",
        "group": None,
        "local": "2001:db8::1",
        "port": 8472,
        "parent": "kv0",
    }
    assert listed["kx1"]["vxlan"]["group"] == "239.0.0.9"
    assert listed["kx1"]["vxlan"]["remote"] is None
    assert listed["kx1"]["parent"]["name"] == "kv0"
    state = links(netns)
    for name in ("kb0", "kv0", "km0", "kx0", "kx1"):
        assert listed[name]["oper_state"] == state[name]["operstate"].lower()
        # ip adds pseudo-flags derived from the operational state and the master's state.
        ip_flags = set(state[name]["flags"]) - {"NO-CARRIER", "M-DOWN"}
        assert set(listed[name]["flags"]) == ip_flags


def test_counters_match_ip(netns: str, agent: AgentProcess) -> None:
    run_ip(netns, "link", "set", "lo", "up")
    subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-c", "3", "-i", "0.2", "-q", "127.0.0.1"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    reported = agent.call("interfaces.get", name="lo")["interface"]["counters"]
    stats = run_ip(netns, "-j", "-s", "link", "show", "lo").stdout
    rx = json.loads(stats)[0]["stats64"]["rx"]
    assert reported["rx_packets"] == rx["packets"]
    assert reported["rx_bytes"] == rx["bytes"]
    assert reported["rx_packets"] > 0


def test_unprivileged_agent_permission_denied(netns: str) -> None:
    argv = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        *source_agent_argv(),
    ]
    before = snapshot(netns)
    with AgentProcess(in_netns(netns, argv)) as unprivileged:
        assert unprivileged.call("hello")["is_root"] is False
        assert [i["name"] for i in unprivileged.call("interfaces.list")["interfaces"]] == ["lo"]

        error = call_error(unprivileged, "interfaces.create", kind="bridge", name="nobr")

    assert error.kind == "permission_denied"
    assert "root" in error.message
    assert snapshot(netns) == before


def test_ipv6_disabled_is_conflict(netns: str, agent: AgentProcess) -> None:
    run_ip(netns, "link", "add", "d6", "type", "bridge")
    subprocess.run(
        ["ip", "netns", "exec", netns, "sysctl", "-q", "-w", "net.ipv6.conf.d6.disable_ipv6=1"],
        check=True,
        timeout=30,
    )
    before = snapshot(netns)

    error = call_error(agent, "addresses.add", name="d6", address="2001:db8::6/64")

    assert error.kind == "conflict"
    assert "disable_ipv6" in error.message
    assert snapshot(netns) == before
