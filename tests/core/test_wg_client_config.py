"""Client configs: rendering, parsing back, `wg setconf` on a real interface, saving 0600."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mudmap_tui import wg_client_config as client_config
from mudmap_tui import wg_plan
from mudmap_tui.errors import AlreadyExists

SERVER = wg_plan.generate_key_pair()
CLIENT = wg_plan.generate_key_pair()


def sample(**changes: object) -> client_config.ClientConfig:
    config = client_config.ClientConfig(
        private_key=CLIENT.private_key,
        addresses=["10.8.0.2/32", "fd08::2/128"],
        server_public_key=SERVER.public_key,
        endpoint_host="2001:db8::1",
        endpoint_port=51820,
        allowed_ips=["10.8.0.0/24", "fd08::/64"],
        dns=["10.8.0.1"],
        persistent_keepalive=25,
    )
    for name, value in changes.items():
        setattr(config, name, value)
    return config


def test_render_parses_back() -> None:
    sections = client_config.parse(client_config.render(sample()))
    assert [name for name, _ in sections] == ["Interface", "Peer"]
    interface, peer = sections[0][1], sections[1][1]
    assert interface == {
        "privatekey": CLIENT.private_key,
        "address": "10.8.0.2/32, fd08::2/128",
        "dns": "10.8.0.1",
    }
    assert peer == {
        "publickey": SERVER.public_key,
        "endpoint": "[2001:db8::1]:51820",
        "allowedips": "10.8.0.0/24, fd08::/64",
        "persistentkeepalive": "25",
    }


def test_render_leaves_out_empty_options() -> None:
    text = client_config.render(sample(dns=[], persistent_keepalive=0, endpoint_host="192.0.2.7"))
    assert "DNS" not in text
    assert "PersistentKeepalive" not in text
    assert "Endpoint = 192.0.2.7:51820" in text


def test_endpoint_formats() -> None:
    assert client_config.format_endpoint("[fd00::1]", 1) == "[fd00::1]:1"
    assert client_config.format_endpoint("vpn.example.net", 51820) == "vpn.example.net:51820"


def test_strip_drops_wg_quick_keys() -> None:
    stripped = client_config.strip_wg_quick(client_config.render(sample()))
    assert "Address" not in stripped
    assert "DNS" not in stripped
    assert f"PrivateKey = {CLIENT.private_key}" in stripped


def test_save_creates_0600(tmp_path: Path) -> None:
    target = tmp_path / "wg0-laptop.conf"
    client_config.save(target, "secret\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "secret\n"
    assert [path.name for path in tmp_path.iterdir()] == ["wg0-laptop.conf"]


def test_save_never_overwrites_unasked(tmp_path: Path) -> None:
    target = tmp_path / "wg0.conf"
    target.write_text("old\n")
    with pytest.raises(AlreadyExists):
        client_config.save(target, "new\n")
    assert target.read_text() == "old\n"
    client_config.save(target, "new\n", overwrite=True)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["wg0.conf"]


def test_suggested_name_is_safe() -> None:
    assert client_config.suggested_file_name("wg0", "bob's laptop") == "wg0-bob-s-laptop.conf"


@pytest.fixture
def wireguard_go_interface() -> Iterator[tuple[str, str]]:
    """A userspace WireGuard interface inside a network namespace of this test's own."""
    if os.geteuid() != 0 or shutil.which("wireguard-go") is None:
        pytest.fail("this test needs root and wireguard-go")
    tag = f"{os.getpid() % 100000}"
    netns, name = f"h7dlg-{tag}", f"wgdlg{tag}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
    daemon = subprocess.Popen(
        ["ip", "netns", "exec", netns, "wireguard-go", "-f", name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/var/run/wireguard/{name}.sock")
        for _ in range(200):
            if socket.exists():
                break
            time.sleep(0.05)
        yield netns, name
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", netns], check=False)


@pytest.mark.lab
@pytest.mark.timeout(60)
def test_wg_setconf_accepts_config(wireguard_go_interface: tuple[str, str], tmp_path: Path) -> None:
    netns, name = wireguard_go_interface
    path = tmp_path / "client.conf"
    path.write_text(client_config.strip_wg_quick(client_config.render(sample())))
    subprocess.run(["ip", "netns", "exec", netns, "wg", "setconf", name, str(path)], check=True)
    shown = subprocess.run(
        ["ip", "netns", "exec", netns, "wg", "show", name, "dump"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    interface_fields = shown[0].split("\t")
    peer_fields = shown[1].split("\t")
    assert interface_fields[0] == CLIENT.private_key
    assert interface_fields[1] == CLIENT.public_key
    assert peer_fields[0] == SERVER.public_key
    assert peer_fields[2] == "[2001:db8::1]:51820"
    assert peer_fields[3] == "10.8.0.0/24,fd08::/64"
    assert peer_fields[7] == "25"


def test_config_for_new_peer() -> None:
    interface = {
        "interface": {
            "name": "wg0",
            "addresses": [
                {"address": "10.8.0.1", "prefixlen": 24, "scope": "global"},
                {"address": "fe80::1", "prefixlen": 64, "scope": "link"},
            ],
            "wireguard": {"public_key": SERVER.public_key, "listen_port": 51821, "peers": []},
        }
    }
    params = {"name": "wg0", "public_key": CLIENT.public_key, "allowed_ips": ["10.8.0.2/32"]}
    config = client_config.for_new_peer(interface, params, CLIENT.private_key, "fd00::7")
    assert config.addresses == ["10.8.0.2/32"]
    assert config.allowed_ips == ["10.8.0.0/24"]
    assert config.server_public_key == SERVER.public_key
    assert config.persistent_keepalive == 25
    assert "Endpoint = [fd00::7]:51821" in client_config.render(config)
    assert CLIENT.private_key not in repr(config)
