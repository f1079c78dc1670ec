"""Shell pane command history: one list per target, stored in the shell_history table."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction

# Commands kept per scope; older ones are deleted when a new one is added.
MAX_PER_SCOPE = 1000


def device_scope(name: str) -> str:
    return f"device:{name}"


def group_scope(name: str) -> str:
    return f"group:{name}"


def add(db: Database, scope: str, command: str) -> None:
    """Append ``command`` unless it repeats the scope's last one; keep MAX_PER_SCOPE."""
    command = command.strip()
    if not command:
        return
    with write_transaction(db):
        last = db.execute("SELECT command FROM shell_history WHERE scope = ?"
                          " ORDER BY id DESC LIMIT 1", (scope,)).fetchone()
        if last is not None and last[0] == command:
            return
        db.execute("INSERT INTO shell_history (scope, command, at) VALUES (?, ?, ?)",
                   (scope, command, utc_now()))
        db.execute("DELETE FROM shell_history WHERE scope = ? AND id NOT IN"
                   " (SELECT id FROM shell_history WHERE scope = ? ORDER BY id DESC LIMIT ?)",
                   (scope, scope, MAX_PER_SCOPE))


def entries(db: Database, scope: str) -> list[str]:
    """Return the scope's commands, oldest first."""
    rows = db.execute("SELECT command FROM shell_history WHERE scope = ? ORDER BY id",
                      (scope,)).fetchall()
    return [row[0] for row in rows]


@dataclass
class HistoryCursor:
    """Walk a history with up and down, and search it backwards like readline's ctrl+r.

    ``position`` equals ``len(entries)`` while the user edits a new line.
    """

    entries: list[str] = field(default_factory=list)
    position: int = 0
    draft: str = ""

    def __post_init__(self) -> None:
        self.position = len(self.entries)

    def previous(self, current: str) -> str:
        if self.position == len(self.entries):
            self.draft = current
        if self.position > 0:
            self.position -= 1
        return self.entries[self.position] if self.entries else current

    def next(self) -> str:
        if self.position < len(self.entries):
            self.position += 1
        if self.position == len(self.entries):
            return self.draft
        return self.entries[self.position]

    def search(self, text: str, before: int | None = None) -> str | None:
        """Return the newest entry containing ``text`` older than ``before`` and move there."""
        start = self.position if before is None else before
        for index in range(min(start, len(self.entries)) - 1, -1, -1):
            if text in self.entries[index]:
                self.position = index
                return self.entries[index]
        return None

    def push(self, command: str) -> None:
        command = command.strip()
        if command and (not self.entries or self.entries[-1] != command):
            self.entries.append(command)
        self.position = len(self.entries)
        self.draft = ""
