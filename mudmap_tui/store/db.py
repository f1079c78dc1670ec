"""Open the inventory database: file permissions, pragmas and schema upgrades."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from sqlite_utils import Database

from mudmap_tui.errors import StoreError
from mudmap_tui.store import migrations
from mudmap_tui.store.transactions import write_transaction

__all__ = ["BUSY_TIMEOUT_SECONDS", "StorePathError", "open_database", "write_transaction"]

# Writes are short (one command's rows, one audit entry), so a writer that finds the lock
# taken waits this long for the other process before reporting "database is locked".
BUSY_TIMEOUT_SECONDS = 10.0


class StorePathError(StoreError):
    """The inventory path given cannot hold a database: a directory, or a missing parent."""

    exit_status = 2


def open_database(path: Path | str, *, create_parent: bool = True) -> Database:
    """Open (creating if needed) and upgrade the inventory at ``path``.

    The file is created with mode 0600 and a missing parent directory with mode 0700,
    because the inventory names hosts, users and key files. Raises StoreError when the file
    is not an SQLite database or comes from a newer release.

    :param create_parent: create a missing parent directory. A path the user typed passes
        False, so that a typo in the directory is reported instead of created.
    :raises StorePathError: ``path`` is a directory, or its parent is missing and
        ``create_parent`` is False
    """
    path = Path(path).expanduser()
    _check_path(path, create_parent)
    _create_private_file(path)
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open database {path}: {error}") from error
    db = Database(connection)
    try:
        _configure(db, path)
        migrations.upgrade(db, path)
    except sqlite3.DatabaseError as error:
        db.close()
        raise StoreError(f"cannot open database {path}: {error}") from error
    except BaseException:
        db.close()
        raise
    return db


def _check_path(path: Path, create_parent: bool) -> None:
    if path.is_dir():
        raise StorePathError(f"cannot open database {path}: it is a directory; give a file "
                             f"path such as {path / 'inventory.db'}")
    if not create_parent and not path.parent.is_dir():
        raise StorePathError(f"cannot open database {path}: directory {path.parent} does not "
                             "exist; create it first or fix the path")


def _create_private_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise StoreError(f"cannot create directory {path.parent}: {error.strerror}") from error
    # O_EXCL: another process creating the file at the same moment is not an error.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise StoreError(f"cannot create database {path}: {error.strerror}") from error
    os.close(descriptor)


def _configure(db: Database, path: Path) -> None:
    # The version check comes first so a newer release's file is left exactly as it was.
    migrations.check_not_newer(db, path)
    db.execute("PRAGMA foreign_keys = ON")
    # SQLite creates the -wal and -shm files with the database file's permissions.
    _enable_wal(db)
    db.execute("PRAGMA synchronous = NORMAL")


def _enable_wal(db: Database) -> None:
    """Switch a new file to WAL mode, retrying while another process does the same.

    Two connections opening a new file both read it under a shared lock and then both
    request the exclusive lock that the switch needs. To avoid a deadlock, SQLite returns
    "database is locked" to one of them at once, without the busy timeout. So the switch is
    retried here until the timeout runs out. A file already in WAL mode needs no switch.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


# SQLite's primary result codes; the sqlite3 module names them from Python 3.11 only.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(error)
    return "locked" in message or "busy" in message
