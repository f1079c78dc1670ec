"""Persisted file formats: ifupdown stanzas, systemd-networkd units, wg-quick merges, drift."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import persist, wgquick
from agent.persist import files, ifupdown, networkd, wgquick_files

PEER_KEY = "x" * 43 + "="


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    files.ROOT = str(tmp_path)
    try:
        yield tmp_path
    finally:
        files.ROOT = ""


def bridge(**overrides: Any) -> dict[str, Any]:
    description = {"name": "br0", "kind": "bridge", "mtu": 1400, "admin_state": "up",
                   "master": None, "bridge": {"stp": False}}
    description.update(overrides)
    return description


def test_ifupdown_stanza_round_trip(root: Path) -> None:
    ifupdown.write(bridge(), "br0", ["10.0.0.1/24", "fd00::1/64"], ["veth0"])
    text = (root / "etc/network/interfaces.d/br0").read_text()
    assert "auto br0\niface br0 inet manual\n" in text
    assert "ip link add br0 type bridge stp_state 0" in text
    assert "up ip link set dev veth0 master br0 || true" in text
    state = ifupdown.read_all()["br0"]
    assert state["addresses"] == ["10.0.0.1/24", "fd00::1/64"]
    assert state["kind"] == "bridge"
    assert state["mtu"] == 1400


def test_ifupdown_sources_interfaces_d(root: Path) -> None:
    (root / "etc/network").mkdir(parents=True)
    (root / "etc/network/interfaces").write_text("auto lo\niface lo inet loopback\n")
    ifupdown.write(bridge(), "br0", [], [])
    text = (root / "etc/network/interfaces").read_text()
    assert text.endswith("source /etc/network/interfaces.d/*\n")
    assert (root / "etc/network/interfaces.mudmap-prev").read_text() == (
        "auto lo\niface lo inet loopback\n")


def test_ifupdown_rewrite_keeps_previous(root: Path) -> None:
    ifupdown.write(bridge(), "br0", ["10.0.0.1/24"], [])
    first = (root / "etc/network/interfaces.d/br0").read_text()
    ifupdown.write(bridge(mtu=9000), "br0", ["10.0.0.1/24"], [])
    assert (root / "etc/network/interfaces.d/br0.mudmap-prev").read_text() == first
    assert ifupdown.read_all()["br0"]["mtu"] == 9000


def test_ifupdown_static_and_dhcp_stanzas(root: Path) -> None:
    (root / "etc/network").mkdir(parents=True)
    (root / "etc/network/interfaces").write_text(
        "auto eth0\niface eth0 inet static\n    address 192.0.2.10\n    netmask 255.255.255.0\n"
        "    mtu 1450\n\nauto eth1\niface eth1 inet dhcp\n")
    saved = ifupdown.read_all()
    assert saved["eth0"]["addresses"] == ["192.0.2.10/24"]
    assert saved["eth0"]["mtu"] == 1450
    assert saved["eth1"]["dynamic"] is True


def test_networkd_units(root: Path) -> None:
    macvlan = {"name": "mv0", "kind": "macvlan", "mtu": 1500, "admin_state": "up",
               "master": None, "macvlan": {"parent": "eth0", "mode": "bridge"}}
    networkd.write(macvlan, "mv0", ["10.1.0.2/24", "10.1.1.2/24"], [])
    netdev = (root / "etc/systemd/network/50-mudmap-mv0.netdev").read_text()
    assert "[NetDev]\nName=mv0\nKind=macvlan\n" in netdev
    assert "[MACVLAN]\nMode=bridge" in netdev
    saved = networkd.read_all()["mv0"]
    assert saved["kind"] == "macvlan"
    assert saved["addresses"] == ["10.1.0.2/24", "10.1.1.2/24"]
    assert saved["mtu"] == 1500


def test_networkd_delete_moves_units_aside(root: Path) -> None:
    networkd.write(bridge(), "br0", [], [])
    networkd.write(None, "br0", [], [])
    assert not (root / "etc/systemd/network/50-mudmap-br0.network").exists()
    assert (root / "etc/systemd/network/50-mudmap-br0.network.mudmap-prev").exists()


def test_wgquick_merge_keeps_comments(root: Path) -> None:
    directory = root / "etc/wireguard"
    directory.mkdir(parents=True)
    original = ("# office tunnel\n[Interface]\nPrivateKey = old\nListenPort = 1000\n"
                "PostUp = echo up # note\n\n# the hub\n[Peer]\nPublicKey = " + PEER_KEY +
                "\nAllowedIPs = 10.0.0.0/24\n")
    (directory / "wg0.conf").write_text(original)
    state = {"listen_port": 51820, "fwmark": 0,
             "peers": [{"public_key": PEER_KEY, "allowed_ips": ["10.0.0.0/24"],
                        "endpoint": "[2001:db8::1]:51820", "persistent_keepalive": 25}]}
    wgquick_files.write("wg0", state, {"mtu": 1420}, bytes(32), ["10.0.0.2/24"])
    text = (directory / "wg0.conf").read_text()
    assert text.startswith("# office tunnel\n[Interface]\n")
    assert "PostUp = echo up # note\n" in text
    assert "# the hub\n" in text
    assert "ListenPort = 51820\n" in text
    assert "Endpoint = [2001:db8::1]:51820\n" in text
    assert os.stat(directory / "wg0.conf").st_mode & 0o777 == 0o600
    assert (root / "etc/mudmap/wg-quick-enabled").read_text() == "wg0\n"
    config = wgquick.parse(text)
    assert config.interface.value("PrivateKey") == "A" * 43 + "="


def test_wgquick_writes_and_clears_preshared_key(root: Path) -> None:
    psk = "P" * 43 + "="
    other_key = "y" * 43 + "="
    state = {"listen_port": 51820, "fwmark": 0,
             "peers": [{"public_key": PEER_KEY, "allowed_ips": ["10.0.0.3/32"]},
                       {"public_key": other_key, "allowed_ips": ["10.0.0.4/32"]}]}
    wgquick_files.write("wg0", state, {"mtu": None}, bytes(32), [], {PEER_KEY: psk})
    path = root / "etc/wireguard/wg0.conf"
    config = wgquick.parse(path.read_text())
    by_key = {section.value("PublicKey"): section for section in config.peers}
    assert by_key[PEER_KEY].value("PresharedKey") == psk
    assert by_key[other_key].value("PresharedKey") is None
    assert os.stat(path).st_mode & 0o777 == 0o600

    # A key that changed replaces the line; a key that was removed drops it.
    rotated = "Q" * 43 + "="
    wgquick_files.write("wg0", state, {"mtu": None}, bytes(32), [], {other_key: rotated})
    config = wgquick.parse(path.read_text())
    by_key = {section.value("PublicKey"): section for section in config.peers}
    assert by_key[PEER_KEY].value("PresharedKey") is None
    assert by_key[other_key].value("PresharedKey") == rotated
    assert psk in (root / "etc/wireguard/wg0.conf.mudmap-prev").read_text()


def test_drift_compare_ignores_dynamic_and_link_local() -> None:
    runtime = {"kind": "bridge", "mtu": 1400, "master": None, "addresses": [
        {"address": "10.0.0.1", "prefixlen": 24, "valid_lifetime": None},
        {"address": "10.0.0.99", "prefixlen": 24, "valid_lifetime": 3600},
        {"address": "fe80::1", "prefixlen": 64, "valid_lifetime": None},
    ]}
    saved = {"kind": "bridge", "mtu": 1400, "addresses": ["10.0.0.1/24"], "dynamic": False}
    assert persist.compare(runtime, saved, None) == []
    saved["addresses"] = ["10.0.0.1/24", "10.0.0.2/24"]
    (change,) = persist.compare(runtime, saved, None)
    assert change["removed"] == ["10.0.0.2/24"]
    assert persist.compare(None, saved, None) == [
        {"field": "exists", "persisted": True, "runtime": False}]
