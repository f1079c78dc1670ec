"""``mudmap changes`` against a lab device: dry run, apply with confirm, status, drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mudmap_tui.cli.main import main
from mudmap_tui.lab import Lab
from mudmap_tui.store import audit
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from tests.changes.conftest import addresses, link
from tests.ssh.conftest import lab_inventory

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]


@pytest.fixture
def inventory(changes_lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    db_path = tmp_path / "inventory.db"
    db = open_database(db_path)
    DeviceStore(db).add(next(d for d in lab_inventory(changes_lab) if d.name == "lab2"))
    db.close()
    return db_path


def write_plan(path: Path, ops: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"ops": ops}))
    return path


def test_dry_run_changes_nothing(changes_lab: Lab, inventory: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path / "plan.json", [
        {"method": "interfaces.create", "params": {"kind": "bridge", "name": "brcli"}}])
    status = main(["--db", str(inventory), "changes", "apply", "lab2", "--file", str(plan),
                   "--dry-run", "--accept-new"])
    assert status == 0
    assert "+ brcli (bridge)" in capsys.readouterr().out
    assert link(changes_lab, "lab2", "brcli") is None


def test_apply_confirm_and_audit(changes_lab: Lab, inventory: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    create = write_plan(tmp_path / "create.json", [
        {"method": "interfaces.create", "params": {"kind": "bridge", "name": "brcli"}}])
    assert main(["--db", str(inventory), "change", "apply", "lab2", "--file", str(create),
                 "--confirm-timeout", "20", "--accept-new"]) == 0
    assert "confirmed" in capsys.readouterr().out
    assert link(changes_lab, "lab2", "brcli") is not None

    assert main(["--db", str(inventory), "changes", "status", "lab2"]) == 0
    assert "no pending change" in capsys.readouterr().out
    assert main(["--db", str(inventory), "changes", "diff", "lab2", "brcli"]) == 0
    assert "brcli: runtime-only" in capsys.readouterr().out

    delete = write_plan(tmp_path / "delete.json", [
        {"method": "interfaces.delete", "params": {"name": "brcli"}}])
    assert main(["--db", str(inventory), "changes", "apply", "lab2", "--file", str(delete),
                 "--confirm-timeout", "20"]) == 0
    assert link(changes_lab, "lab2", "brcli") is None
    db = open_database(inventory)
    try:
        actions = [entry.action for entry in audit.list(db, device="lab2")]
    finally:
        db.close()
    assert actions.count("change.confirm") == 2
    assert actions.count("change.apply") == 2


def test_bad_plan_file_rejected(inventory: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("{not json")
    assert main(["--db", str(inventory), "changes", "apply", "lab2", "--file", str(plan)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_iface_commands_guarded_on_request(changes_lab: Lab, inventory: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", str(inventory), "iface"]
    assert main([*base, "create", "lab2", "brif", "--kind", "bridge", "--dry-run",
                 "--accept-new"]) == 0
    assert "+ brif (bridge)" in capsys.readouterr().out
    assert link(changes_lab, "lab2", "brif") is None

    assert main([*base, "create", "lab2", "brif", "--kind", "bridge", "--up",
                 "--confirm-timeout", "20"]) == 0
    assert "confirmed" in capsys.readouterr().out
    assert main([*base, "set", "lab2", "brif", "--mtu", "1400", "--add-address",
                 "10.93.0.1/24", "--confirm-timeout", "20"]) == 0
    out = capsys.readouterr().out
    assert "mtu: 1500 -> 1400" in out
    assert "confirmed" in out
    info = link(changes_lab, "lab2", "brif")
    assert info is not None and info["mtu"] == 1400
    assert "10.93.0.1/24" in addresses(info)

    assert main([*base, "delete", "lab2", "brif", "--confirm-timeout", "20"]) == 0
    assert "- brif (bridge)" in capsys.readouterr().out
    assert link(changes_lab, "lab2", "brif") is None
