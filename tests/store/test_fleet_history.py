"""Run history in the inventory: bounded in runs and in bytes per device."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from mudmap_tui.fleet import DeviceResult, Outcome
from mudmap_tui.fleet_history import STORED_OUTPUT_CAP, capped_text, record_run
from mudmap_tui.store.db import open_database


def result(device: str, stdout: bytes = b"", stderr: bytes = b"") -> DeviceResult:
    return DeviceResult(device, Outcome.OK, exit_status=0, stdout=stdout, stderr=stderr)


def open_db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "inventory.db")


def test_history_prunes_oldest_runs(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    ids = [record_run(db, f"echo {n}", "--all", 0.0, [result("r1"), result("r2")], keep_runs=3)
           for n in range(5)]
    runs = [row["id"] for row in db.query("SELECT id FROM command_runs ORDER BY id")]
    run_ids = {row["run_id"] for row in db.query("SELECT run_id FROM command_results")}
    assert runs == ids[-3:]
    assert run_ids == set(ids[-3:])
    assert db.execute("SELECT count(*) FROM command_results").fetchone()[0] == 6
    db.close()


def test_history_caps_stored_output(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    record_run(db, "cat big", "r1", 0.0, [result("r1", b"a" * (STORED_OUTPUT_CAP + 10),
                                                 b"err")])
    row = next(db.query("SELECT stdout, stderr, truncated, output_cap_bytes "
                        "FROM command_results"))
    assert len(row["stdout"]) == STORED_OUTPUT_CAP
    assert row["stderr"] == ""
    assert row["truncated"] == 1
    assert row["output_cap_bytes"] == STORED_OUTPUT_CAP
    db.close()


def test_history_small_output_kept_whole(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    record_run(db, "uname", "r1", 0.0, [result("r1", b"Linux\n", b"warn\n")])
    row = next(db.query("SELECT stdout, stderr, truncated FROM command_results"))
    assert (row["stdout"], row["stderr"], row["truncated"]) == ("Linux\n", "warn\n", 0)
    db.close()


def test_capped_text_binary_stays_within_cap() -> None:
    text, cut = capped_text(b"\xff" * 100, 60)
    assert len(text.encode()) <= 60
    assert cut


def test_capped_text_keeps_short_text() -> None:
    assert capped_text("héllo".encode(), 60) == ("héllo", False)


KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="


@pytest.mark.parametrize(("command", "output", "stored"), [
    ("wg showconf wg0", f"[Interface]\nPrivateKey = {KEY}\n[Peer]\nPublicKey = {KEY}\n"
     f"PresharedKey = {KEY}\n",
     f"[Interface]\nPrivateKey = <redacted>\n[Peer]\nPublicKey = {KEY}\n"
     "PresharedKey = <redacted>\n"),
    ("wg show", f"  public key: {KEY}\n  private key: (hidden)\n  preshared key: {KEY}\n",
     f"  public key: {KEY}\n  private key: (hidden)\n  preshared key: <redacted>\n"),
    ("wg genkey | tee k", f"{KEY}\n", "<redacted>\n"),
    ("wg show wg0 private-key", f"{KEY}\r\n", "<redacted>\r\n"),
    ("cat /root/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\nbnNz\n"
     "-----END OPENSSH PRIVATE KEY-----\n",
     "-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----\n"),
    ("ip -br link", f"wg0 UNKNOWN {KEY}\n", f"wg0 UNKNOWN {KEY}\n"),
])
def test_stored_output_redacts_keys(tmp_path: Path, command: str, output: str,
                                    stored: str) -> None:
    db = open_database(tmp_path / "inventory.db")
    record_run(db, command, "r1", 0.0, [result("r1", output.encode(), output.encode())])
    row = db.execute("SELECT stdout, stderr FROM command_results").fetchone()
    assert row[0] == stored
    assert row[1] == stored


@pytest.mark.parametrize(("command", "stored"), [
    (f"wg set wg0 peer P preshared-key <(echo {KEY})",
     "wg set wg0 peer P preshared-key <(echo <redacted>)"),
    (f"echo 'PrivateKey = {KEY}' >> /etc/wireguard/wg0.conf",
     "echo 'PrivateKey = <redacted>' >> /etc/wireguard/wg0.conf"),
    (f"wg show wg0 peers | grep {KEY}", f"wg show wg0 peers | grep {KEY}"),
])
def test_stored_command_redacts_keys(tmp_path: Path, command: str, stored: str) -> None:
    db = open_database(tmp_path / "inventory.db")
    record_run(db, command, "r1", 0.0, [result("r1")])
    assert db.execute("SELECT command FROM command_runs").fetchone()[0] == stored
