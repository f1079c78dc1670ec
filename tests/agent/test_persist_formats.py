"""Persisted file formats: ifupdown stanzas, systemd-networkd units, wg-quick merges, drift."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import persist, wgquick
from agent.errors import AgentError
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
    assert (root / "etc/network/.interfaces.mudmap-prev").read_text() == (
        "auto lo\niface lo inet loopback\n")


def test_ifupdown_non_utf8_file_left_alone(root: Path) -> None:
    (root / "etc/network").mkdir(parents=True)
    original = b"auto lo\niface lo inet loopback\n# caf\xe9\n"
    (root / "etc/network/interfaces").write_bytes(original)
    with pytest.raises(AgentError) as raised:
        ifupdown.write(bridge(), "br0", [], [])
    assert raised.value.kind == "conflict"
    assert "is not UTF-8 text" in str(raised.value)
    assert (root / "etc/network/interfaces").read_bytes() == original
    assert not (root / "etc/network/interfaces.d/br0").exists()


def test_ifupdown_rewrite_keeps_previous(root: Path) -> None:
    ifupdown.write(bridge(), "br0", ["10.0.0.1/24"], [])
    first = (root / "etc/network/interfaces.d/br0").read_text()
    ifupdown.write(bridge(mtu=9000), "br0", ["10.0.0.1/24"], [])
    assert (root / "etc/network/interfaces.d/.br0.mudmap-prev").read_text() == first
    assert ifupdown.read_all()["br0"]["mtu"] == 9000


def test_ifupdown_previous_version_not_sourced(root: Path) -> None:
    ifupdown.write(bridge(), "br0", [], [])
    ifupdown.write(bridge(mtu=9000), "br0", [], [])
    directory = root / "etc/network/interfaces.d"
    # ifupdown's `source interfaces.d/*` is a wordexp(3) glob, which skips dot-files like
    # the glob module does (pathlib's glob does not).
    assert glob.glob(str(directory / "*")) == [str(directory / "br0")]
    assert sorted(os.listdir(directory)) == [".br0.mudmap-prev", "br0"]


def test_ifupdown_removes_legacy_previous(root: Path) -> None:
    directory = root / "etc/network/interfaces.d"
    directory.mkdir(parents=True)
    (directory / "br0").write_text(ifupdown.render(bridge(), [], []))
    (directory / "br0.mudmap-prev").write_text(ifupdown.render(bridge(mtu=1500), [], []))
    ifupdown.write(bridge(), "br0", [], [])
    assert not (directory / "br0.mudmap-prev").exists()
    ifupdown.write(None, "br0", [], [])
    assert sorted(os.listdir(directory)) == [".br0.mudmap-prev"]


def test_files_for_lists_hidden_previous(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persist, "_is_wireguard_op", lambda name, ops: False)
    monkeypatch.setattr(persist, "owner", lambda: "ifupdown")
    listed = persist.files_for(["br0"], [])
    directory = str(root / "etc/network/interfaces.d")
    assert listed[:2] == [directory + "/br0", directory + "/.br0.mudmap-prev"]
    assert not any(path.endswith("br0.mudmap-prev") and "/.br0" not in path for path in listed)


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
    assert (root / "etc/systemd/network/.50-mudmap-br0.network.mudmap-prev").exists()


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
    assert psk in (root / "etc/wireguard/.wg0.conf.mudmap-prev").read_text()


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


def test_wgquick_list_reports_unusable_entries(root: Path) -> None:
    directory = root / "etc/wireguard"
    directory.mkdir(parents=True)
    (directory / "binary.conf").write_bytes(b"\xfa\xff\x00garbage")
    (directory / "dir.conf").mkdir()
    (directory / "good.conf").write_text("[Interface]\nListenPort = 51820\n")
    (directory / "toolongname12345.conf").write_text("[Interface]\n")
    (directory / "bad.conf").write_text("[Interface]\nListenPort = 99999\n[Peer]\n")
    by_name = {item["name"]: item for item in wgquick_files.list_configs()}
    assert sorted(by_name) == ["bad", "binary", "dir", "good", "toolongname12345"]
    assert by_name["binary"]["error"] == "not UTF-8 text"
    assert by_name["dir"]["error"] == "a directory, not a file"
    assert "error" not in by_name["good"]
    assert by_name["good"]["listen_port"] == 51820
    assert by_name["toolongname12345"]["valid_name"] is False
    assert by_name["toolongname12345"]["error"] == wgquick.NAME_RULE
    assert by_name["bad"]["error"] == ("line 2: ListenPort '99999' must be a number from 0 "
                                       "to 65535; [Peer] number 1 has no PublicKey")


def test_wgquick_list_does_not_quote_a_symlinked_file(root: Path) -> None:
    directory = root / "etc/wireguard"
    directory.mkdir(parents=True)
    (root / "shadow").write_text("root:*:20228:0:99999:7:::\n")
    (directory / "link.conf").symlink_to(root / "shadow")
    (item,) = wgquick_files.list_configs()
    assert "root" not in item["error"]
    assert item["error"].startswith("line 1: ")


def test_persist_rejects_unparsable_wgquick_file(root: Path) -> None:
    directory = root / "etc/wireguard"
    directory.mkdir(parents=True)
    (directory / "wg0.conf").write_text("garbage line without section\n")
    with pytest.raises(AgentError) as caught:
        wgquick_files.read_existing("wg0")
    assert caught.value.kind == "conflict"
    assert str(directory / "wg0.conf") + " is not a valid wg-quick file" in caught.value.message
    assert "garbage" not in caught.value.message
