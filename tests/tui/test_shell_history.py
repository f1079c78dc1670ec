"""Shell history: stored per target in SQLite, walked with up/down, searched like ctrl+r."""

from __future__ import annotations

from pathlib import Path

import pytest

from mudmap_tui import shell_history
from mudmap_tui.shell_history import HistoryCursor
from mudmap_tui.store.db import open_database


def test_history_is_kept_per_scope(tmp_path: Path) -> None:
    db = open_database(tmp_path / "inventory.db")
    try:
        shell_history.add(db, "device:a", "uptime")
        shell_history.add(db, "device:a", "uptime")
        shell_history.add(db, "device:a", "ip -br a")
        shell_history.add(db, "group:edge", "hostname")
        shell_history.add(db, "device:a", "   ")
    finally:
        db.close()
    db = open_database(tmp_path / "inventory.db")
    try:
        assert shell_history.entries(db, "device:a") == ["uptime", "ip -br a"]
        assert shell_history.entries(db, "group:edge") == ["hostname"]
        assert shell_history.entries(db, "device:b") == []
    finally:
        db.close()


def test_history_keeps_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell_history, "MAX_PER_SCOPE", 3)
    db = open_database(tmp_path / "inventory.db")
    try:
        for number in range(5):
            shell_history.add(db, "device:a", f"echo {number}")
        assert shell_history.entries(db, "device:a") == ["echo 2", "echo 3", "echo 4"]
    finally:
        db.close()


def test_cursor_walks_and_restores_draft() -> None:
    cursor = HistoryCursor(["one", "two"])
    assert cursor.previous("draft") == "two"
    assert cursor.previous("two") == "one"
    assert cursor.previous("one") == "one"
    assert cursor.next() == "two"
    assert cursor.next() == "draft"


def test_cursor_search_goes_older_each_time() -> None:
    cursor = HistoryCursor(["ip link", "uptime", "ip addr"])
    assert cursor.search("ip") == "ip addr"
    assert cursor.search("ip") == "ip link"
    assert cursor.search("ip") is None
    assert cursor.search("nothing", before=3) is None


def test_run_header_puts_target_first() -> None:
    from mudmap_tui.tui.shell_controller import run_header

    command = "journalctl -u ssh --since today | grep -i 'accepted publickey' | wc -l"
    assert run_header(command, ["lab1"]) == f"[lab1] $ {command}"
    assert run_header(command, ["lab1", "lab2"]).startswith("[2 devices] $ journalctl")
