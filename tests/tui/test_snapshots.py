"""Snapshots of the main screen, the interface form and the help screen.

Deterministic by construction: a fixed inventory and fleet state, a frozen clock and no
background refresh. Update with ``pytest tests/tui/test_snapshots.py --snapshot-update``
after checking the new SVGs by eye.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.snapshot_fixture import snapshot_app

SIZES = [(80, 24), (160, 50)]


async def select_core1(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    pilot.app.query_one("#devices").select_device("core1")
    await pilot.pause()


async def open_interfaces(pilot: Pilot[Any]) -> None:
    await select_core1(pilot)
    pilot.app.query_one("#tabs").active = "interfaces"
    await pilot.pause()
    pilot.app.query_one("#interfaces-table").focus()
    await pilot.pause()


async def open_interface_form(pilot: Pilot[Any]) -> None:
    await open_interfaces(pilot)
    await pilot.press("n")
    await pilot.pause()


async def open_help(pilot: Pilot[Any]) -> None:
    await open_interfaces(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_main_screen(snap_compare: Callable[..., bool], tmp_path: Path,
                     size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=size, run_before=open_interfaces)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_interface_form(snap_compare: Callable[..., bool], tmp_path: Path,
                        size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=size,
                        run_before=open_interface_form)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_help_screen(snap_compare: Callable[..., bool], tmp_path: Path,
                     size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=size, run_before=open_help)


def test_overview_no_color(snap_compare: Callable[..., bool], tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24),
                        run_before=select_core1)


def test_interfaces_no_color(snap_compare: Callable[..., bool], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24),
                        run_before=open_interfaces)
