"""How the device commands turn options into agent parameters and errors into messages."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from mudmap_tui import onboarding
from mudmap_tui.cli import iface, wg
from mudmap_tui.cli.main import build_parser
from mudmap_tui.device_actions import agent_failure
from mudmap_tui.errors import InvalidInput, UsageError
from mudmap_tui.ssh.errors import AgentExists, AgentInvalidParams, AgentNotFound


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_iface_create_params_only_given() -> None:
    args = parse("iface", "create", "edge1", "mv0", "--kind", "macvlan", "--parent", "eth0",
                 "--mtu", "1400", "--up")
    assert iface.create_params(args) == {"kind": "macvlan", "name": "mv0", "parent": "eth0",
                                         "mtu": 1400, "state": "up"}


def test_iface_set_rejects_up_and_down() -> None:
    args = parse("iface", "set", "edge1", "br0", "--up", "--down")
    with pytest.raises(UsageError, match="--up or --down"):
        iface.update_params(args)


def test_iface_set_nomaster_sends_null() -> None:
    args = parse("iface", "set", "edge1", "eth1", "--nomaster", "--rename", "lan1")
    assert iface.update_params(args) == {"name": "eth1", "master": None, "new_name": "lan1"}


def test_wg_peer_params_read_psk_file(tmp_path: Path) -> None:
    psk = tmp_path / "psk"
    psk.write_text("c2VjcmV0LXByZXNoYXJlZC1rZXktMDAwMDAwMDAwMDA=\n")
    args = parse("wg", "peer", "add", "edge1", "wg0", "PUB=", "--allowed-ips",
                 "10.0.0.2/32, 10.1.0.0/16", "--keepalive", "25", "--preshared-key-file",
                 str(psk))
    params = wg.peer_params(args)
    assert params["allowed_ips"] == ["10.0.0.2/32", "10.1.0.0/16"]
    assert params["persistent_keepalive"] == 25
    assert params["preshared_key"] == "c2VjcmV0LXByZXNoYXJlZC1rZXktMDAwMDAwMDAwMDA="


def test_wg_peer_params_missing_psk_file(tmp_path: Path) -> None:
    args = parse("wg", "peer", "add", "edge1", "wg0", "PUB=", "--allowed-ips", "10.0.0.2/32",
                 "--preshared-key-file", str(tmp_path / "absent"))
    with pytest.raises(InvalidInput, match="absent"):
        wg.peer_params(args)


def test_agent_invalid_params_exit_2() -> None:
    error = AgentInvalidParams("edge1", "interfaces.update", "invalid mtu 10: must be from 68",
                               -32602, {"kind": "invalid_params", "field": "mtu"})
    failure = agent_failure(error)
    assert failure.exit_status == 2
    assert str(failure).startswith("edge1: invalid --mtu 10")
    assert "correct the value" in str(failure)


def test_agent_not_found_names_device_in_fix() -> None:
    error = AgentNotFound("edge1", "interfaces.get", "interface eth9 not found", -32001,
                          {"kind": "not_found"})
    failure = agent_failure(error)
    assert failure.exit_status == 1
    assert "mudmap iface list edge1" in str(failure)


def test_agent_missing_field_names_option() -> None:
    error = AgentInvalidParams("edge1", "interfaces.create", "missing parent", -32602,
                               {"kind": "invalid_params", "field": "parent", "missing": True})
    failure = agent_failure(error)
    assert failure.exit_status == 2
    assert "None" not in str(failure)
    assert str(failure).endswith("missing parent; give --parent NAME")


def test_agent_missing_peer_suggests_wg_show() -> None:
    error = AgentNotFound("edge1", "wg.peer.remove", "peer PUB= not found on wg0", -32001,
                          {"kind": "not_found"})
    failure = agent_failure(error, {"name": "wg0", "public_key": "PUB="})
    assert "mudmap wg show edge1 wg0" in str(failure)
    assert "iface list" not in str(failure)


def test_agent_existing_address_fix() -> None:
    error = AgentExists("edge1", "addresses.add", "eth0 already has address 192.0.2.5", -32002,
                        {"kind": "exists", "name": "eth0"})
    failure = agent_failure(error)
    assert "choose another address" in str(failure)
    assert "another name" not in str(failure)


def test_credentials_repr_hides_password() -> None:
    credentials = onboarding.Credentials(password="hunter2-secret")
    assert "hunter2-secret" not in repr(credentials)


def test_root_command_uses_sudo_for_others() -> None:
    assert onboarding.root_command("true", [], True, None) == "sh -c true mudmap"
    assert onboarding.root_command("true", ["a b"], False, "pw").startswith("sudo -S -p '' --")
    assert onboarding.root_command("true", [], False, None).startswith("sudo -n --")


def test_install_key_from_given_public_key(tmp_path: Path) -> None:
    private = tmp_path / "admin_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ad min;rm -rf",
                    "-f", str(private)], check=True)
    key = onboarding.install_key(private.with_name("admin_key.pub"))
    algorithm, blob, comment = key.public_line.split(" ")
    assert algorithm == "ssh-ed25519"
    assert blob == private.with_name("admin_key.pub").read_text().split()[1]
    # Characters a shell or authorized_keys would read specially are dropped.
    assert comment == "adminrm-rf"
    assert key.identity_file == private


def test_install_key_needs_private_half(tmp_path: Path) -> None:
    private = tmp_path / "lonely"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(private)],
                   check=True)
    private.unlink()
    with pytest.raises(InvalidInput, match="private key"):
        onboarding.install_key(private.with_name("lonely.pub"))


def test_generated_key_is_private(tmp_path: Path) -> None:
    path = onboarding.ensure_mudmap_key(tmp_path / "keys" / "mudmap_ed25519")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.with_name("mudmap_ed25519.pub").read_text().startswith("ssh-ed25519 ")
    assert onboarding.ensure_mudmap_key(path) == path


def test_shutdown_has_no_up_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("shutdown", "edge1", "--up-timeout", "5")
    assert "unrecognized arguments: --up-timeout" in capsys.readouterr().err
    assert parse("reboot", "edge1", "--up-timeout", "5").up_timeout == 5
