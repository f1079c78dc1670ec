"""The inventory schema, as numbered migrations applied when a database is opened.

``PRAGMA user_version`` stores the number of migrations applied. Each migration runs in its
own write transaction together with the version bump, so an interrupted upgrade leaves the
file at the previous version, never in between. Migrations are append-only: a released one
never changes, because databases made by that release already contain it.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from mudmap_tui.errors import StoreError
from mudmap_tui.store.transactions import write_transaction

# Timestamps are ISO 8601 text in UTC; booleans are 0/1 integers.
MIGRATION_1 = (
    """
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
    )
    """,
    """
    CREATE TABLE device_groups (
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        group_name TEXT NOT NULL,
        PRIMARY KEY (device_id, group_name)
    )
    """,
    "CREATE INDEX device_groups_by_group ON device_groups (group_name)",
)

MIGRATION_2 = (
    # device is the name at the time of the action, not a foreign key: the log outlives
    # the devices it mentions.
    """
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        device TEXT,
        action TEXT NOT NULL,
        params_json TEXT NOT NULL DEFAULT '{}',
        result TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX audit_log_by_at ON audit_log (at)",
    "CREATE INDEX audit_log_by_device ON audit_log (device, at)",
    """
    CREATE TABLE command_runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        actor TEXT NOT NULL,
        command TEXT NOT NULL,
        target TEXT NOT NULL
    )
    """,
    # output_cap_bytes is the cap in force for this result, so a reader can say how much
    # was kept when truncated is 1.
    """
    CREATE TABLE command_results (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES command_runs(id) ON DELETE CASCADE,
        device TEXT NOT NULL,
        exit_status INTEGER,
        stdout TEXT NOT NULL DEFAULT '',
        stderr TEXT NOT NULL DEFAULT '',
        truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
        output_cap_bytes INTEGER NOT NULL,
        duration_ms INTEGER,
        error TEXT,
        UNIQUE (run_id, device)
    )
    """,
    """
    CREATE TABLE backup_blobs (
        sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
        size INTEGER NOT NULL,
        content BLOB NOT NULL
    )
    """,
    # The manifest is itself a blob: a JSON list of the files taken, each with its path,
    # mode and the sha256 of its content in backup_blobs.
    """
    CREATE TABLE backups (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL REFERENCES backup_blobs(sha256),
        note TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX backups_by_device ON backups (device, taken_at)",
    """
    CREATE TABLE ui_state (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
)

MIGRATION_3 = (
    # scope is "device:NAME" or "group:NAME": the shell pane keeps one history per target.
    """
    CREATE TABLE shell_history (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        command TEXT NOT NULL,
        at TEXT NOT NULL
    )
    """,
    "CREATE INDEX shell_history_by_scope ON shell_history (scope, id)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (MIGRATION_1, MIGRATION_2, MIGRATION_3)
LATEST_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    row = db.conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def check_not_newer(db: Database, path: Path | str) -> None:
    """Raise StoreError when a newer release made the database, before anything writes."""
    version = schema_version(db)
    if version > LATEST_VERSION:
        raise StoreError(
            f"database {path} has schema version {version}, but this mudmap release reads "
            f"versions up to {LATEST_VERSION}: upgrade mudmap, or give another file with --db"
        )


def upgrade(db: Database, path: Path | str, target: int = LATEST_VERSION) -> int:
    """Apply the pending migrations up to ``target``; return the version reached.

    The version is read again inside each transaction, so two processes opening the same
    new file apply each migration once.
    """
    check_not_newer(db, path)
    while True:
        with write_transaction(db):
            version = schema_version(db)
            if version > LATEST_VERSION:
                check_not_newer(db, path)
            if version >= target:
                return version
            for statement in MIGRATIONS[version]:
                db.execute(statement)
            # PRAGMA takes no bound parameters; version is an int from this module.
            db.execute(f"PRAGMA user_version = {version + 1}")
