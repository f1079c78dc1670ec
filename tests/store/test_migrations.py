"""Opening the inventory: permissions, pragmas, upgrades from older files, newer files."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlite_utils import Database

from mudmap_tui.errors import StoreError
from mudmap_tui.store import migrations
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore

# The schema as the first release wrote it, copied here as literal SQL rather than taken
# from MIGRATIONS, so a change to migration 1 breaks this test instead of hiding.
RELEASE_1_SCHEMA = """
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
    user TEXT,
    identity_file TEXT,
    jump TEXT,
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE device_groups (
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (device_id, group_name)
);
CREATE INDEX device_groups_by_group ON device_groups (group_name);
INSERT INTO devices VALUES
    (1, 'edge1', '192.0.2.1', 22, 'root', '~/.ssh/edge', NULL, 'rack 4',
     '2026-01-02T03:04:05.000000+00:00', '2026-01-02T03:04:05.000000+00:00'),
    (2, 'inner1', '10.9.0.2', 2222, NULL, NULL, 'edge1', '',
     '2026-01-02T03:04:06.000000+00:00', '2026-01-02T03:04:06.000000+00:00');
INSERT INTO device_groups VALUES (1, 'core'), (1, 'site-a'), (2, 'site-a');
PRAGMA user_version = 1;
"""


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def user_version(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])
    finally:
        connection.close()


def test_new_file_gets_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    open_database(path).close()

    assert user_version(path) == migrations.LATEST_VERSION
    assert {
        "devices",
        "device_groups",
        "audit_log",
        "command_runs",
        "command_results",
        "backups",
        "backup_blobs",
        "ui_state",
    } <= table_names(path)


def test_new_file_and_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "inventory.db"
    db = open_database(path)
    db.close()

    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    db = open_database(path)
    DeviceStore(db).add({"name": "lab1", "host": "10.0.0.1"})
    wal = Path(f"{path}-wal")

    assert wal.exists()
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    db.close()


def test_pragmas_on_open(tmp_path: Path) -> None:
    db = open_database(tmp_path / "inventory.db")

    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    db.close()


def test_reopen_keeps_version_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    db = open_database(path)
    DeviceStore(db).add({"name": "lab1", "host": "10.0.0.1"})
    db.close()

    db = open_database(path)
    assert [device.name for device in DeviceStore(db).list()] == ["lab1"]
    assert migrations.schema_version(db) == migrations.LATEST_VERSION
    db.close()


def test_release_1_file_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(RELEASE_1_SCHEMA)

    db = open_database(path)
    store = DeviceStore(db)
    edge = store.get("edge1")
    inner = store.get("inner1")

    assert migrations.schema_version(db) == migrations.LATEST_VERSION
    assert "audit_log" in db.table_names()
    assert (edge.host, edge.port, edge.user, edge.identity_file) == (
        "192.0.2.1",
        22,
        "root",
        "~/.ssh/edge",
    )
    assert edge.notes == "rack 4"
    assert edge.groups == ["core", "site-a"]
    assert (inner.port, inner.jump) == (2222, "edge1")
    assert [device.name for device in store.list(group="site-a")] == ["edge1", "inner1"]
    db.close()


def test_upgrade_stops_at_target(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    connection = sqlite3.connect(path, isolation_level=None)
    db = Database(connection)
    reached = migrations.upgrade(db, path, target=1)

    assert reached == 1
    assert "devices" in db.table_names()
    assert "audit_log" not in db.table_names()
    db.close()


def test_newer_schema_rejected_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(RELEASE_1_SCHEMA)
        connection.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION + 1}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(StoreError) as caught:
        open_database(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"schema version {migrations.LATEST_VERSION + 1}" in message
    assert "upgrade mudmap" in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not Path(f"{path}-wal").exists()


def test_non_sqlite_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database, just some text that is long enough\n" * 20)

    with pytest.raises(StoreError) as caught:
        open_database(path)

    assert str(path) in str(caught.value)
    assert "not a database" in str(caught.value)


def test_failed_migration_leaves_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(RELEASE_1_SCHEMA)
    broken = (*migrations.MIGRATION_2[:2], "CREATE TABLE broken (")
    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATION_1, broken))

    with pytest.raises(StoreError):
        open_database(path)

    assert user_version(path) == 1
    assert "audit_log" not in table_names(path)
    assert "devices" in table_names(path)
