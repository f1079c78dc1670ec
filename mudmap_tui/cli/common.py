"""Helpers the CLI topic modules share: opening the inventory and printing JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from mudmap_tui import paths
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.store.db import open_database


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
    """Open and upgrade the inventory that the global options select; the caller closes it."""
    return open_database(db_path(args))


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON with sorted keys, so output diffs and greps stably."""
    json.dump(value, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
