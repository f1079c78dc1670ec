"""Messages and output of guarded changes on a lab device: options, commands and files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli, device_links

pytestmark = [pytest.mark.lab]

DEVICE = "lab2"


def public_key() -> str:
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                             check=True).stdout
    return subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("text", ["[1,2]", '{"ops": [null]}',
                                  '{"ops": [{"method": "interfaces.create"}]}'])
def test_malformed_plan_file_one_line(cli: LabCli, tmp_path: Path, text: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(text)
    result = cli.run("changes", "apply", DEVICE, "--file", str(plan), "--dry-run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"invalid --file '{plan}': ops[0]" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_long_name_names_option(cli: LabCli, lab: Lab) -> None:
    created = cli.run("iface", "create", DEVICE, "abcdefghijklmnop", "--kind", "bridge")
    assert created.returncode == 2
    assert "invalid name 'abcdefghijklmnop'" in created.stderr
    assert "params" not in created.stderr
    cli.ok("iface", "create", DEVICE, "h7br0", "--kind", "bridge")
    try:
        renamed = cli.run("iface", "set", DEVICE, "h7br0", "--rename", "abcdefghijklmnop")
        assert renamed.returncode == 2
        assert "invalid --rename 'abcdefghijklmnop'" in renamed.stderr
        assert "new_name" not in renamed.stderr
    finally:
        cli.ok("iface", "delete", DEVICE, "h7br0")
    assert "h7br0" not in device_links(lab, DEVICE)


def test_listen_port_needs_wireguard(cli: LabCli, lab: Lab) -> None:
    result = cli.run("iface", "create", DEVICE, "h7br1", "--kind", "bridge",
                     "--listen-port", "51820")
    assert result.returncode == 2
    assert f"{DEVICE}: --listen-port applies only to --kind wireguard" in result.stderr
    assert "listen_port" not in result.stderr
    assert "h7br1" not in device_links(lab, DEVICE)


def test_missing_things_name_right_command(cli: LabCli) -> None:
    deleted = cli.run("iface", "delete", DEVICE, "h7nosuch")
    assert deleted.returncode == 1
    assert "interfaces.get" not in deleted.stderr
    assert f"interface h7nosuch not found; check the name, for example with `mudmap iface " \
           f"list {DEVICE}`" in deleted.stderr

    shown = cli.run("wg", "show", DEVICE, "h7nosuch")
    assert shown.returncode == 1
    assert "wg.get" not in shown.stderr
    assert f"`mudmap iface list {DEVICE}`" in shown.stderr
    assert "wg show" not in shown.stderr

    logs = cli.run("logs", DEVICE, "--file", "h7nosuch.log")
    assert logs.returncode == 1
    assert "journal.tail" not in logs.stderr
    assert "iface" not in logs.stderr
    assert "/var/log" in logs.stderr

    drift = cli.run("changes", "diff", DEVICE, "h7nosuch")
    assert drift.returncode == 1
    assert "changes.drift" not in drift.stderr


def test_missing_address_names_iface_show(cli: LabCli) -> None:
    cli.ok("iface", "create", DEVICE, "h7br2", "--kind", "bridge")
    try:
        result = cli.run("iface", "set", DEVICE, "h7br2", "--remove-address", "10.9.9.9/24")
        assert result.returncode == 1
        assert "h7br2 has no address 10.9.9.9/24" in result.stderr
        assert f"`mudmap iface show {DEVICE} h7br2`" in result.stderr
        assert "check the name" not in result.stderr
    finally:
        cli.ok("iface", "delete", DEVICE, "h7br2")


def test_existing_peer_names_peer_set(cli: LabCli) -> None:
    cli.ok("iface", "create", DEVICE, "h7wg0", "--kind", "wireguard", "--listen-port", "51877")
    try:
        key = public_key()
        cli.ok("wg", "peer", "add", DEVICE, "h7wg0", key, "--allowed-ips", "10.77.7.2/32")
        again = cli.run("wg", "peer", "add", DEVICE, "h7wg0", key, "--allowed-ips",
                        "10.77.7.3/32")
        assert again.returncode == 1
        assert f"use `mudmap wg peer set {DEVICE} h7wg0 KEY`" in again.stderr
        assert "wg.peer.update" not in again.stderr
        bad = cli.run("wg", "peer", "set", DEVICE, "h7wg0", key, "--allowed-ips",
                      "10.77.7.3/33", "--keepalive", "25")
        assert bad.returncode == 2
        assert "invalid --allowed-ips" in bad.stderr
        assert "allowed_ips" not in bad.stderr
    finally:
        cli.ok("iface", "delete", DEVICE, "h7wg0")


def test_allowed_ip_move_warns(cli: LabCli) -> None:
    cli.ok("iface", "create", DEVICE, "h7wg1", "--kind", "wireguard", "--listen-port", "51878")
    try:
        first, second = public_key(), public_key()
        cli.ok("wg", "peer", "add", DEVICE, "h7wg1", first, "--allowed-ips", "10.77.8.2/32")
        dry = cli.ok("wg", "peer", "add", DEVICE, "h7wg1", second, "--allowed-ips",
                     "10.77.8.2/32", "--dry-run")
        warnings = [line for line in dry.splitlines() if line.startswith("warning: ")]
        assert len(warnings) == 1
        assert "10.77.8.2/32" in warnings[0]
        planned = cli.json("wg", "peer", "add", DEVICE, "h7wg1", second, "--allowed-ips",
                           "10.77.8.2/32", "--dry-run")
        assert len(planned["warnings"]) == 1
        assert "10.77.8.2/32" in planned["warnings"][0]
    finally:
        cli.ok("iface", "delete", DEVICE, "h7wg1")


def test_persist_lists_written_files(cli: LabCli, lab: Lab) -> None:
    cli.ok("iface", "create", DEVICE, "h7br3", "--kind", "bridge")
    try:
        dry = cli.ok("iface", "set", DEVICE, "h7br3", "--mtu", "1400", "--persist",
                     "--dry-run")
        assert "  may write: /etc/network/interfaces.d/h7br3" in dry.splitlines()
        assert ".mudmap-prev" not in dry
        assert "wrote:" not in dry

        applied = cli.ok("iface", "set", DEVICE, "h7br3", "--mtu", "1400", "--persist")
        written = [line.removeprefix("  wrote: ") for line in applied.splitlines()
                   if line.startswith("  wrote: ")]
        assert written == ["/etc/network/interfaces.d/h7br3"]
        assert ".mudmap-prev" not in applied
        for path in written:
            assert lab.run(DEVICE, ["test", "-f", path], check=False).returncode == 0

        result = cli.json("iface", "set", DEVICE, "h7br3", "--mtu", "1380", "--persist")
        assert result["files"] == ["/etc/network/interfaces.d/h7br3"]
    finally:
        cli.ok("iface", "delete", DEVICE, "h7br3", "--persist")


def test_pending_change_names_confirm(cli: LabCli) -> None:
    plan = {"ops": [{"method": "interfaces.create",
                     "params": {"kind": "bridge", "name": "h7br4"}}]}
    plan_file = cli.root / "pending.json"
    plan_file.write_text(json.dumps(plan))
    applied = cli.json("changes", "apply", DEVICE, "--file", str(plan_file), "--no-confirm")
    change_id = applied["change_id"]
    try:
        blocked = cli.run("iface", "set", DEVICE, "h7br4", "--mtu", "1400")
        assert blocked.returncode == 3
        assert f"confirm it with `mudmap changes confirm {DEVICE} {change_id}`" \
            in blocked.stderr
        assert "changes.confirm" not in blocked.stderr
    finally:
        cli.ok("changes", "confirm", DEVICE, change_id)
    again = cli.run("changes", "confirm", DEVICE, change_id)
    assert again.returncode == 0
    assert f"change {change_id} is already confirmed" in again.stdout
    cli.ok("iface", "delete", DEVICE, "h7br4")


def test_wgquick_counts_one_peer(cli: LabCli) -> None:
    cli.ok("iface", "create", DEVICE, "h7wg2", "--kind", "wireguard", "--listen-port", "51879")
    try:
        cli.ok("wg", "peer", "add", DEVICE, "h7wg2", public_key(), "--allowed-ips",
               "10.77.9.2/32", "--persist")
        listing = cli.ok("changes", "wg-quick", DEVICE)
        line = next(line for line in listing.splitlines() if line.startswith("h7wg2"))
        assert line.endswith(", 1 peer")
    finally:
        cli.ok("iface", "delete", DEVICE, "h7wg2", "--persist")
