"""The audit log: who did what to which device, with secrets redacted from parameters."""

from __future__ import annotations

import builtins
import getpass
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from mudmap_tui.errors import InvalidInput
from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction

REDACTED = "<redacted>"
# Matched against keys with '-' and '_' removed and lower-cased, so "PrivateKey",
# "private-key" and "private_key" are all redacted.
SECRET_KEY_RE = re.compile(r"password|passphrase|privatekey|presharedkey|secret")


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log, with its parameters decoded."""

    id: int
    at: str
    actor: str
    device: str | None
    action: str
    params: dict[str, Any]
    result: str
    detail: str


def is_secret_key(key: str) -> bool:
    return SECRET_KEY_RE.search(key.replace("-", "").replace("_", "").lower()) is not None


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with the value of every secret-named key replaced.

    Dicts are searched at any depth, including dicts inside lists.
    """
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_key(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (builtins.list, tuple)):
        return [redact(item) for item in value]
    return value


def current_actor() -> str:
    """Return the local user name that audit entries record as the actor."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # No login name and no passwd entry for the uid, as in some containers.
        return "unknown"


def record(
    db: Database,
    action: str,
    *,
    device: str | None = None,
    params: dict[str, Any] | None = None,
    result: str = "ok",
    detail: str = "",
    actor: str | None = None,
) -> int:
    """Append an entry and return its id; joins the caller's transaction when one is open.

    ``result`` is "ok" or a short failure word such as "failed"; ``detail`` explains it.
    """
    params_json = json.dumps(redact(params or {}), sort_keys=True, default=str)
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO audit_log (at, actor, device, action, params_json, result, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (utc_now(), actor or current_actor(), device, action, params_json, result, detail),
        )
    return int(cursor.lastrowid or 0)


def list(
    db: Database,
    *,
    device: str | None = None,
    action: str | None = None,
    limit: int = 100,
) -> builtins.list[AuditEntry]:
    """Return up to ``limit`` entries, newest first, optionally for one device or action.

    :raises InvalidInput: ``limit`` is below 1, which SQLite would read as "no limit"
    """
    if limit < 1:
        raise InvalidInput("limit", limit, "use 1 or more")
    where: builtins.list[str] = []
    values: builtins.list[Any] = []
    if device is not None:
        where.append("device = ?")
        values.append(device)
    if action is not None:
        where.append("action = ?")
        values.append(action)
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY at DESC, id DESC LIMIT ?"
    values.append(limit)
    return [_entry(row) for row in db.query(sql, values)]


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        device=row["device"],
        action=row["action"],
        params=json.loads(row["params_json"]),
        result=row["result"],
        detail=row["detail"],
    )
