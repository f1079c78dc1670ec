"""Read a whole inventory as SQL text, to check that a failed command wrote nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def dump(path: Path) -> list[str]:
    """Return the database's content as SQL statements, read through a separate connection."""
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()
