"""Write transactions that take SQLite's write lock up front."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Run the block in a ``BEGIN IMMEDIATE`` transaction, committing on success.

    A deferred transaction that reads first and writes later cannot wait for the lock when
    another process writes meanwhile: SQLite returns "database is locked" at once. Taking
    the lock at BEGIN makes the busy timeout apply instead. Inside an open transaction the
    block runs in a savepoint, so accessors can nest.
    """
    if db.conn.in_transaction:
        yield from _savepoint(db)
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise


def _savepoint(db: Database) -> Iterator[Database]:
    name = f"mudmap_{secrets.token_hex(8)}"
    db.conn.execute(f"SAVEPOINT {name}")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            db.conn.execute(f"RELEASE SAVEPOINT {name}")
        raise
    db.conn.execute(f"RELEASE SAVEPOINT {name}")
