"""Tables shrink to fit a terminal and stay whole for pipes and files."""

from __future__ import annotations

import io

import pytest

from mudmap_tui.cli.table import ELLIPSIS, format_table

LONG = "x" * 200


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_piped_keeps_cells_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setenv("COLUMNS", "40")
    table = format_table(["NAME", "NOTE"], [["a", LONG]], shrinkable=[1])
    assert LONG in table
    assert ELLIPSIS not in table


def test_table_on_terminal_shrinks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", FakeTerminal())
    monkeypatch.setenv("COLUMNS", "40")
    table = format_table(["NAME", "NOTE"], [["a", LONG]], shrinkable=[1])
    assert all(len(line) <= 40 for line in table.splitlines())
    assert table.splitlines()[1].endswith(ELLIPSIS)


def test_table_explicit_width_shrinks_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    table = format_table(["NAME", "NOTE"], [["a", LONG]], width=30, shrinkable=[1])
    assert table.splitlines()[1].endswith(ELLIPSIS)
