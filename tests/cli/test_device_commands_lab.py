"""``mudmap iface``, ``wg``, ``put``/``get``, ``logs``, ``service`` and ``audit`` on lab devices."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli, device_links

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE = "lab1"


def wg_keypair() -> tuple[str, str]:
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True,
                             check=True).stdout.strip()
    public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True,
                            check=True).stdout.strip()
    return private, public


def change_rows(cli: LabCli, change_id: str) -> list[dict[str, Any]]:
    """Return the audit rows of one guarded change: its plan, apply and confirm, newest first."""
    entries = cli.audit(DEVICE)
    applied = next(entry for entry in entries if entry["action"] == "change.apply"
                   and entry["params"].get("id") == change_id)
    plan = next(entry for entry in entries if entry["action"] == "change.plan"
                and entry["id"] < applied["id"])
    confirm = next(entry for entry in entries if entry["action"] == "change.confirm"
                   and entry["params"].get("id") == change_id)
    return [confirm, applied, plan]


def test_iface_bridge_create_set_delete(cli: LabCli, lab: Lab) -> None:
    planned = cli.json("iface", "create", DEVICE, "h5br0", "--kind", "bridge", "--dry-run")
    assert planned["status"] == "planned"
    assert "h5br0" in planned["text"]
    assert "h5br0" not in device_links(lab, DEVICE)

    created = cli.json("iface", "create", DEVICE, "h5br0", "--kind", "bridge")
    assert created["status"] == "confirmed"
    assert "+ h5br0 (bridge)" in created["text"]
    assert device_links(lab, DEVICE)["h5br0"]["linkinfo"]["info_kind"] == "bridge"
    rows = change_rows(cli, created["change_id"])
    assert [row["action"] for row in rows] == ["change.confirm", "change.apply", "change.plan"]
    assert all(row["result"] == "ok" for row in rows)
    assert rows[2]["params"]["ops"][0]["method"] == "interfaces.create"

    out = cli.ok("iface", "set", DEVICE, "h5br0", "--mtu", "1400", "--up",
                 "--add-address", "192.0.2.1/24")
    lines = out.splitlines()
    assert "mtu: 1500 -> 1400" in out
    assert lines[-1].startswith("applied and confirmed (")
    link = device_links(lab, DEVICE)["h5br0"]
    assert link["mtu"] == 1400
    assert "UP" in link["flags"]
    addresses = json.loads(lab.run(DEVICE, ["ip", "-j", "addr", "show", "h5br0"]).stdout)
    assert "192.0.2.1" in [item["local"] for item in addresses[0]["addr_info"]]

    listed = cli.json("iface", "list", DEVICE)
    assert "h5br0" in [interface["name"] for interface in listed]
    shown = cli.ok("iface", "show", DEVICE, "h5br0")
    assert "mtu: 1400" in shown

    deleted = cli.json("iface", "delete", DEVICE, "h5br0")
    assert deleted["status"] == "confirmed"
    assert "h5br0" not in device_links(lab, DEVICE)
    rows = change_rows(cli, deleted["change_id"])
    assert rows[2]["params"]["ops"] == [{"method": "interfaces.delete",
                                         "params": {"name": "h5br0"}}]


def test_iface_macvlan_on_uplink(cli: LabCli, lab: Lab) -> None:
    cli.ok("iface", "create", DEVICE, "h5mv0", "--kind", "macvlan", "--parent", "eth0",
           "--mode", "bridge")
    try:
        link = device_links(lab, DEVICE)["h5mv0"]
        assert link["linkinfo"]["info_kind"] == "macvlan"
        assert link["link"] == "eth0"
    finally:
        cli.ok("iface", "delete", DEVICE, "h5mv0")
    assert "h5mv0" not in device_links(lab, DEVICE)


def test_iface_invalid_mtu_exits_2(cli: LabCli, lab: Lab) -> None:
    cli.ok("iface", "create", DEVICE, "h5br1", "--kind", "bridge")
    try:
        result = cli.run("iface", "set", DEVICE, "h5br1", "--mtu", "10")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert f"{DEVICE}:" in result.stderr
        assert "mtu 10" in result.stderr
        assert "correct the value" in result.stderr
        assert device_links(lab, DEVICE)["h5br1"]["mtu"] == 1500
    finally:
        cli.ok("iface", "delete", DEVICE, "h5br1")
    # The device rejects the value when it plans the change, so nothing was applied.
    entries = cli.audit(DEVICE)
    failed = next(entry for entry in entries if entry["action"] == "change.plan"
                  and entry["result"] == "failed")
    assert "mtu 10" in failed["detail"]
    assert failed["params"]["ops"][0]["params"]["mtu"] == 10
    assert not [entry for entry in entries if entry["action"] == "change.apply"
                and "mtu 10" in (entry["detail"] or "")]


def test_iface_dummy_matches_kernel(cli: LabCli, lab: Lab) -> None:
    # The lab probes the kernel for dummy links in a throwaway namespace when it starts.
    before = set(device_links(lab, DEVICE))
    result = cli.run("iface", "create", DEVICE, "h5dm0", "--kind", "dummy")
    if lab.layout.kernel_has_dummy:
        assert result.returncode == 0, result.stderr
        assert device_links(lab, DEVICE)["h5dm0"]["linkinfo"]["info_kind"] == "dummy"
        cli.ok("iface", "delete", DEVICE, "h5dm0")
    else:
        assert result.returncode == 1
        assert "no support for link kind dummy" in result.stderr
    assert set(device_links(lab, DEVICE)) == before


def test_iface_missing_device_names_it(cli: LabCli) -> None:
    result = cli.run("iface", "list", "nosuch")
    assert result.returncode == 2
    assert "nosuch" in result.stderr


def test_wg_peer_add_set_remove(cli: LabCli, lab: Lab, tmp_path: Path) -> None:
    cli.ok("iface", "create", DEVICE, "h5wg0", "--kind", "wireguard", "--listen-port", "51871")
    try:
        _private, peer = wg_keypair()
        preshared = subprocess.run(["wg", "genpsk"], capture_output=True, text=True,
                                   check=True).stdout.strip()
        psk_file = tmp_path / "psk"
        psk_file.write_text(preshared + "\n")
        cli.ok("wg", "peer", "add", DEVICE, "h5wg0", peer, "--allowed-ips",
               "10.77.0.2/32,10.77.1.0/24", "--endpoint", "192.0.2.9:51820",
               "--keepalive", "25", "--preshared-key-file", str(psk_file))

        dump = lab.run(DEVICE, ["wg", "show", "h5wg0", "dump"]).stdout.splitlines()
        peer_fields = dump[1].split("\t")
        assert peer_fields[0] == peer
        assert peer_fields[1] == preshared
        assert peer_fields[2] == "192.0.2.9:51820"
        assert sorted(peer_fields[3].split(",")) == ["10.77.0.2/32", "10.77.1.0/24"]
        assert peer_fields[7] == "25"

        shown = cli.json("wg", "show", DEVICE, "h5wg0")
        assert shown["listen_port"] == 51871
        assert shown["peers"][0]["preshared_key_set"] is True
        text = cli.ok("wg", "show", DEVICE, "h5wg0")
        assert preshared not in text

        cli.ok("wg", "peer", "set", DEVICE, "h5wg0", peer, "--allowed-ips", "10.77.9.0/24")
        allowed = lab.run(DEVICE, ["wg", "show", "h5wg0", "allowed-ips"]).stdout
        assert allowed.split() == [peer, "10.77.9.0/24"]

        cli.ok("wg", "peer", "remove", DEVICE, "h5wg0", peer)
        assert lab.run(DEVICE, ["wg", "show", "h5wg0", "peers"]).stdout.strip() == ""
        again = cli.run("wg", "peer", "remove", DEVICE, "h5wg0", peer)
        assert again.returncode == 1
        assert "not found" in again.stderr
    finally:
        cli.ok("iface", "delete", DEVICE, "h5wg0")
    assert "h5wg0" not in device_links(lab, DEVICE)

    entries = cli.audit(DEVICE)
    planned = [entry["params"]["ops"][0] for entry in entries if entry["action"] == "change.plan"]
    added = next(op for op in planned if op["method"] == "wg.peer.add")
    assert added["params"]["preshared_key"] == "<redacted>"
    assert preshared.encode() not in cli.database_bytes()


def test_put_get_round_trip(cli: LabCli, lab: Lab, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40
    local = tmp_path / "payload.bin"
    local.write_bytes(payload)
    os.chmod(local, 0o640)
    remote = "/root/h5-payload.bin"
    lab.run(DEVICE, ["rm", "-f", remote])

    cli.ok("put", DEVICE, str(local), remote)
    stat = lab.run(DEVICE, ["stat", "-c", "%a %s", remote]).stdout.split()
    assert stat == ["640", str(len(payload))]
    refused = cli.run("put", DEVICE, str(local), remote)
    assert refused.returncode == 2
    assert "--force" in refused.stderr

    lab.run(DEVICE, ["chmod", "0604", remote])
    fetched = tmp_path / "fetched.bin"
    cli.ok("get", DEVICE, remote, str(fetched))
    assert fetched.read_bytes() == payload
    assert oct(fetched.stat().st_mode & 0o777) == oct(0o604)

    fetched.write_bytes(b"local edit")
    refused = cli.run("get", DEVICE, remote, str(fetched))
    assert refused.returncode == 2
    assert fetched.read_bytes() == b"local edit"
    cli.ok("get", DEVICE, remote, str(fetched), "--force")
    assert fetched.read_bytes() == payload
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".fetched")] == []

    puts = [entry for entry in cli.audit(DEVICE) if entry["action"] == "file.put"]
    assert [entry["result"] for entry in puts] == ["error", "ok"]
    lab.run(DEVICE, ["rm", "-f", remote])


def test_logs_reads_var_log_file(cli: LabCli, lab: Lab) -> None:
    # A tmpfs in the device's own mount namespace keeps the host's /var/log untouched.
    lab.run(DEVICE, ["mount", "-t", "tmpfs", "tmpfs", "/var/log"])
    try:
        lab.run(DEVICE, ["sh", "-c", "printf 'one\\ntwo\\nthree\\n' > /var/log/syslog"])
        assert cli.ok("logs", DEVICE, "-n", "2").splitlines() == ["two", "three"]
        result = cli.json("logs", DEVICE, "-n", "1")
        assert result["path"] == "/var/log/syslog"
        assert result["entries"] == [{"message": "three"}]
        filtered = cli.run("logs", DEVICE, "--unit", "ssh")
        assert filtered.returncode == 1
        assert "journald is not running" in filtered.stderr
        assert "--file" in filtered.stderr
        assert "file parameter" not in filtered.stderr

        lab.run(DEVICE, ["sh", "-c", "echo a > /var/log/auth.log && touch -d '1 hour ago' "
                         "/var/log/auth.log && echo z > /var/log/syslog.2.gz && "
                         "mkdir /var/log/apt"])
        listing = cli.ok("logs", DEVICE, "--list-files").splitlines()
        assert listing[0] == "without --file: /var/log/syslog"
        assert [line.split()[0] for line in listing[1:]] == ["syslog", "auth.log"]
        files = cli.json("logs", DEVICE, "--list-files")["files"]
        assert [entry["size"] for entry in files] == [14, 2]
        directory = cli.run("logs", DEVICE, "--file", "apt")
        assert directory.returncode == 2
        assert "invalid --file 'apt'" in directory.stderr
        assert "not a directory" in directory.stderr
        both = cli.run("logs", DEVICE, "--list-files", "--file", "syslog")
        assert both.returncode == 2
        assert "takes no --file" in both.stderr
    finally:
        lab.run(DEVICE, ["umount", "/var/log"])


def test_service_without_systemd_is_clear(cli: LabCli) -> None:
    # Lab devices run their own small init, not systemd.
    listing = cli.run("service", "list", DEVICE)
    assert listing.returncode == 1
    assert f"{DEVICE}: systemd is not running" in listing.stderr
    assert "services." not in listing.stderr
    start = cli.run("service", "restart", DEVICE, "ssh")
    assert start.returncode == 1
    entry = next(item for item in cli.audit(DEVICE) if item["action"] == "service.restart")
    assert entry["result"] == "error"
    assert entry["params"] == {"name": "ssh"}
