"""Small JSON values the TUI keeps between runs: sorts, filters, layout."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction


def get(db: Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value_json FROM ui_state WHERE key = ?", (key,)).fetchone()
    if row is None:
        return default
    return json.loads(row[0])


def put(db: Database, key: str, value: Any) -> None:
    """Store ``value`` (anything ``json.dumps`` accepts) under ``key``, replacing the old one."""
    value_json = json.dumps(value, sort_keys=True)
    with write_transaction(db):
        db.execute(
            "INSERT INTO ui_state (key, value_json, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json,"
            " updated_at = excluded.updated_at",
            (key, value_json, utc_now()),
        )


def delete(db: Database, key: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM ui_state WHERE key = ?", (key,))
