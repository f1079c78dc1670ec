"""``mudmap backup``: content-addressed backups of lab devices, listed, shown and compared."""

from __future__ import annotations

import base64
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlite_utils import Database

from mudmap_tui import backups
from mudmap_tui.lab import Lab
from mudmap_tui.store.db import open_database
from tests.cli.lab_cli import LabCli

DEVICE = "lab1"
CONFIG = "/etc/wireguard/h5bk.conf"
PRIVATE_KEY = "aDViYWNrdXAtdGVzdC1wcml2YXRlLWtleS0wMDAwMDA="


def blob_count(cli: LabCli) -> int:
    with sqlite3.connect(cli.db_path) as connection:
        return int(connection.execute("SELECT count(*) FROM backup_blobs").fetchone()[0])


@pytest.mark.lab
@pytest.mark.timeout(300)
def test_backup_twice_then_diff(cli: LabCli, lab: Lab) -> None:
    lab.run(DEVICE, ["sh", "-c", f"umask 077 && printf '[Interface]\\nPrivateKey = "
                     f"{PRIVATE_KEY}\\nListenPort = 51000\\n' > {CONFIG}"])
    try:
        first = cli.json("backup", DEVICE)["results"][0]["value"]
        blobs_after_first = blob_count(cli)
        lab.run(DEVICE, ["sed", "-i", "s/51000/51001/", CONFIG])
        second = cli.json("backup", DEVICE)["results"][0]["value"]
    finally:
        lab.run(DEVICE, ["rm", "-f", CONFIG])

    # Only the changed file and the new manifest are new blobs.
    assert blob_count(cli) == blobs_after_first + 2
    assert "/etc/netplan" in first["missing"]

    listed = cli.json("backup", "list", DEVICE)
    assert [item["id"] for item in listed] == [second["id"], first["id"]]

    diff = cli.ok("backup", "diff", str(first["id"]), str(second["id"]))
    assert f"--- a{CONFIG}" in diff
    assert "-ListenPort = 51000" in diff
    assert "+ListenPort = 51001" in diff
    assert "/etc/network/interfaces" not in diff
    assert PRIVATE_KEY not in diff

    shown = cli.ok("backup", "show", str(second["id"]), "--file", CONFIG)
    assert "PrivateKey = <redacted>" in shown
    assert PRIVATE_KEY not in shown
    secret = cli.ok("backup", "show", str(second["id"]), "--file", CONFIG, "--show-secrets")
    assert f"PrivateKey = {PRIVATE_KEY}" in secret
    manifest = cli.json("backup", "show", str(second["id"]))["manifest"]
    entry = next(item for item in manifest["files"] if item["path"] == CONFIG)
    assert entry["mode"] == 0o600

    assert stat.S_IMODE(cli.db_path.stat().st_mode) == 0o600
    takes = [item for item in cli.audit(DEVICE) if item["action"] == "backup.take"]
    assert [item["result"] for item in takes] == ["ok", "ok"]


@pytest.mark.lab
@pytest.mark.timeout(300)
def test_backup_group_runs_each_device(cli: LabCli, lab: Lab) -> None:
    cli.ok("device", "edit", "lab1", "--add-group", "h5edge")
    cli.ok("device", "edit", "lab2", "--add-group", "h5edge")
    results = cli.json("backup", "@h5edge")["results"]
    assert [result["device"] for result in results] == ["lab1", "lab2"]
    assert [result["outcome"] for result in results] == ["ok", "ok"]
    devices = {item["device"] for item in cli.json("backup", "list")}
    assert devices == {"lab1", "lab2"}


@pytest.mark.lab
@pytest.mark.timeout(120)
def test_backup_unknown_id_exits_2(cli: LabCli) -> None:
    result = cli.run("backup", "show", "999")
    assert result.returncode == 2
    assert "no backup with id 999" in result.stderr


@pytest.mark.lab
@pytest.mark.timeout(120)
def test_backup_list_unknown_device_exits_2(cli: LabCli) -> None:
    result = cli.run("backup", "list", "nosuch")
    assert result.returncode == 2
    assert "no device named 'nosuch'" in result.stderr
    assert result.stdout == ""
    assert cli.json("backup", "list", "lab3") == []


def test_redact_text_hides_secret_values() -> None:
    text = ("[Interface]\nPrivateKey = abc=\n[Peer]\nPresharedKey=def=\n"
            "[wifi-security]\npsk=hunter2\nAllowedIPs = 10.0.0.0/8\n")
    redacted = backups.redact_text(text)
    assert "abc=" not in redacted
    assert "def=" not in redacted
    assert "hunter2" not in redacted
    assert "PrivateKey = <redacted>\n" in redacted
    assert "psk=<redacted>\n" in redacted
    assert "AllowedIPs = 10.0.0.0/8\n" in redacted


def test_manifest_is_canonical() -> None:
    collected = backups.parse_collected({
        "files": [{"path": "/etc/a", "type": "file", "mode": 0o644, "uid": 0, "gid": 0,
                   "content": "aGVsbG8K"}],
        "missing": ["/etc/netplan"], "errors": [],
    })
    assert backups.manifest_bytes(collected) == backups.manifest_bytes(collected)
    digest = collected.entries[0]["sha256"]
    assert collected.blobs[digest] == b"hello\n"


def stored_config(db: Database, text: str) -> backups.BackupInfo:
    collected = backups.parse_collected({
        "files": [{"path": CONFIG, "type": "file", "mode": 0o600, "uid": 0, "gid": 0,
                   "content": base64.b64encode(text.encode()).decode()}],
        "missing": [], "errors": [],
    })
    return backups.get_backup(db, backups.store_backup(db, DEVICE, collected))


def test_diff_marks_changed_private_key(tmp_path: Path) -> None:
    db = open_database(tmp_path / "inventory.db")
    try:
        old = stored_config(db, f"[Interface]\nPrivateKey = {PRIVATE_KEY}\nListenPort = 1\n"
                            "PresharedKey = same=\n")
        new = stored_config(db, "[Interface]\nPrivateKey = bmV3LWtleQ==\nListenPort = 2\n"
                            "PresharedKey = same=\n")
        diff = backups.diff_backups(db, old, new)
    finally:
        db.close()
    assert "-PrivateKey = <redacted, changed>" in diff
    assert "+PrivateKey = <redacted, changed>" in diff
    assert " PrivateKey = <redacted>" not in diff
    assert " PresharedKey = <redacted>" in diff
    assert "+ListenPort = 2" in diff
    assert not any(PRIVATE_KEY in line or "bmV3LWtleQ==" in line for line in diff)
    assert not any("\x00" in line for line in diff)
