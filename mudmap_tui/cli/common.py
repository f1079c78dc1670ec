"""Helpers the CLI topic modules share: opening the inventory, parsing limits, printing JSON."""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from mudmap_tui import paths
from mudmap_tui.errors import StoreError
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.store.db import StorePathError, open_database

# SQLite's result code for a file that is not a database.
SQLITE_NOTADB = 26


def db_path(args: argparse.Namespace) -> Path:
    """Return the inventory file: ``--db``, else the demo lab's with ``--demo``, else the default.

    The default is ``$MUDMAP_DB`` when set, else inventory.db in the user data directory.
    """
    if getattr(args, "db", None):
        return Path(args.db).expanduser()
    if getattr(args, "demo", False):
        return lab_paths.inventory_path()
    return paths.default_db_path()


def open_store(args: argparse.Namespace) -> Database:
    """Open and upgrade the inventory that the global options select; the caller closes it.

    Only the default data directory is created when missing: a directory the user named
    through --db or $MUDMAP_DB that does not exist is more likely a typo than a wish.
    """
    explicit = bool(getattr(args, "db", None)) or (
        not getattr(args, "demo", False) and bool(os.environ.get("MUDMAP_DB")))
    try:
        return open_database(db_path(args), create_parent=not explicit)
    except StoreError as error:
        if not is_not_a_database(error.__cause__):
            raise
        raise StorePathError(f"{error}; give the path of a mudmap inventory, or of a file "
                             "that does not exist yet to start an empty one") from None


def is_not_a_database(error: BaseException | None) -> bool:
    """Tell whether SQLite rejected a file because it is not a database at all."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    # sqlite_errorcode is new in Python 3.11; 3.10 leaves only the message.
    code = getattr(error, "sqlite_errorcode", None)
    return code == SQLITE_NOTADB or (code is None and "not a database" in str(error))


# Above any count of rows or items a command lists, and within SQLite's 64-bit integers.
MAX_COUNT = 1_000_000_000


def positive_int(text: str) -> int:
    """Parse a whole number of 1 or more, for argparse's ``type=``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: use a whole number "
                                         "of 1 or more") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: use 1 or more")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: use at most {MAX_COUNT:,}")
    return value


def positive_seconds(text: str) -> float:
    """Parse a finite number of seconds above 0, for argparse's ``type=``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"invalid seconds {text!r}: use a number above 0, "
                                         "such as 30 or 0.5")
    return value


def byte_count(text: str) -> int:
    """Parse a byte count of 1 or more, for argparse's ``type=``."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid byte count {text!r}: use a whole number "
                                         "of 1 or more, such as 65536")
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON with sorted keys, so output diffs and greps stably."""
    json.dump(value, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
