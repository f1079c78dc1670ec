"""Resolving devices against an OpenSSH client config."""

from __future__ import annotations

from pathlib import Path

from mudmap_tui.ssh.config import (
    SshSettings,
    parse_inline_jump,
    resolve_device,
    resolve_inline_jump,
    split_jump_chain,
)
from mudmap_tui.store.models import Device

CONFIG = """\
Host edge1
    HostName 192.0.2.10
    User admin
    Port 2200
    IdentityFile ~/keys/edge
    ProxyJump bastion
    ConnectTimeout 4
    ServerAliveInterval 7
    ServerAliveCountMax 2
    UserKnownHostsFile /srv/known_hosts

Host bastion
    HostName 192.0.2.1
    User jump

Host *
    User fallback
"""


def settings(tmp_path: Path) -> SshSettings:
    path = tmp_path / "ssh_config"
    path.write_text(CONFIG)
    return SshSettings(config_paths=[path])


def test_config_fills_unset_fields(tmp_path: Path) -> None:
    target = resolve_device(Device(name="e1", host="edge1"), settings(tmp_path))
    assert target.host == "192.0.2.10"
    assert target.user == "admin"
    assert target.port == 2200
    assert target.identity_files == (str(Path("~/keys/edge").expanduser()),)
    assert target.jump == "bastion"
    assert target.connect_timeout == 4
    assert target.keepalive_interval == 7
    assert target.keepalive_count_max == 2
    assert target.known_hosts_files == (Path("/srv/known_hosts"),)


def test_inventory_fields_override_config(tmp_path: Path) -> None:
    device = Device(name="e1", host="edge1", port=2022, user="ops", identity_file="/k/id",
                    jump="other")
    target = resolve_device(device, settings(tmp_path))
    assert target.host == "192.0.2.10"
    assert (target.user, target.port, target.identity_files, target.jump) == (
        "ops", 2022, ("/k/id",), "other")


def test_host_without_entry_keeps_defaults(tmp_path: Path) -> None:
    target = resolve_device(Device(name="x", host="198.51.100.7"), settings(tmp_path))
    assert (target.host, target.port, target.user, target.jump) == (
        "198.51.100.7", 22, "fallback", None)
    assert target.keepalive_interval == SshSettings().keepalive_interval


def test_no_config_files_read_when_empty(tmp_path: Path) -> None:
    target = resolve_device(Device(name="e1", host="edge1", user="u"),
                            SshSettings(config_paths=[]))
    assert (target.host, target.port, target.jump) == ("edge1", 22, None)


def test_inline_jump_resolves_through_config(tmp_path: Path) -> None:
    hop = resolve_inline_jump("bastion", settings(tmp_path))
    assert (hop.host, hop.user, hop.port, hop.jump) == ("192.0.2.1", "jump", 22, None)
    hop = resolve_inline_jump("root@[2001:db8::1]:2201", settings(tmp_path))
    assert (hop.host, hop.user, hop.port) == ("2001:db8::1", "root", 2201)


def test_jump_parsing() -> None:
    assert parse_inline_jump("a@h:22") == ("a", "h", 22)
    assert parse_inline_jump("h") == (None, "h", None)
    assert split_jump_chain("a, b,c") == ["a", "b", "c"]
