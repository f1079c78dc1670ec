"""A fixed inventory and fleet state for snapshot tests: no lab, no network, frozen time.

Hosts are loopback addresses, so an action pressed by mistake connects nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mudmap_tui.fleet_state import FleetState
from mudmap_tui.ssh.errors import ConnectFailed, HostKeyUnknown, TimedOut
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.tui.app import MudmapApp

NOW = 1_780_000_000.0


def write_inventory(path: Path) -> None:
    db = open_database(path)
    try:
        store = DeviceStore(db)
        store.add({"name": "core1", "host": "127.0.2.1", "user": "root",
                   "groups": ["core"]})
        store.add({"name": "edge1", "host": "127.0.2.11", "groups": ["edge"]})
        store.add({"name": "edge2", "host": "127.0.2.12", "groups": ["edge"]})
        store.add({"name": "edge3", "host": "127.0.2.13", "groups": ["edge"]})
        store.add({"name": "inner", "host": "127.0.2.2", "jump": "core1", "groups": ["core"]})
        store.add({"name": "spare", "host": "127.0.2.99"})
    finally:
        db.close()


def link(name: str, kind: str, mtu: int, mac: str, addresses: list[str], rx: int, tx: int,
         master: str | None = None, state: str = "up") -> dict[str, Any]:
    return {
        "name": name, "kind": kind, "admin_state": state, "oper_state": state, "mtu": mtu,
        "mac": mac, "master": master,
        "addresses": [{"address": a.split("/")[0], "prefixlen": int(a.split("/")[1]),
                       "scope": "global"} for a in addresses],
        "counters": {"rx_bytes": rx, "tx_bytes": tx},
    }


def core1_links(scale: int) -> list[dict[str, Any]]:
    return [
        link("lo", "loopback", 65536, "00:00:00:00:00:00", ["127.0.0.1/8"], 0, 0),
        link("eth0", "physical", 1500, "52:54:00:12:34:56", ["192.0.2.1/24"],
             1_000_000 * scale, 250_000 * scale),
        link("br0", "bridge", 1500, "52:54:00:aa:bb:01", ["198.51.100.1/24"], 4096 * scale, 0),
        link("veth1", "veth", 1500, "52:54:00:aa:bb:02", [], 2048 * scale, 512 * scale,
             master="br0"),
        link("wg0", "wireguard", 1420, "", ["10.8.0.1/24"], 0, 0, state="down"),
    ]


def fleet_state() -> FleetState:
    fleet = FleetState(["core1", "edge1", "edge2", "edge3", "inner", "spare"])
    fleet.mark_online("core1", NOW - 4, {"agent_version": "0.1.0", "protocol_version": 1,
                                          "python": "3.11.2", "hostname": "core1"})
    fleet.set_facts("core1", NOW - 4, {
        "hostname": "core1", "os": {"pretty_name": "Debian GNU/Linux 12 (bookworm)"},
        "kernel": {"release": "6.1.0-18-amd64"}, "uptime": 93784, "cpus": 2,
        "memory": {"total": 2 * 1024**3}, "network_config": {"primary": "ifupdown"},
    })
    fleet.set_interfaces("core1", NOW - 9, core1_links(1))
    fleet.set_interfaces("core1", NOW - 4, core1_links(2))
    fleet.mark_online("edge1", NOW - 12, {"protocol_version": 0})
    fleet.mark_failed("edge2", NOW - 30, TimedOut("edge2", "connect", 10))
    fleet.mark_failed("edge3", NOW - 65, ConnectFailed("edge3", "connect",
                                                        "Connection refused"))
    fleet.mark_failed("inner", NOW - 2, HostKeyUnknown(
        "inner", "connect", "127.0.2.2", "SHA256:7xW2y3z4AbCdEfGh", "ssh-ed25519 AAAAC3Nz"))
    return fleet


def snapshot_app(tmp_path: Path) -> MudmapApp:
    path = tmp_path / "fleet.db"
    write_inventory(path)
    return MudmapApp(path, refresh_interval=0, clock=lambda: NOW, state=fleet_state(),
                     log_path=tmp_path / "mudmap.log", keymap={})
