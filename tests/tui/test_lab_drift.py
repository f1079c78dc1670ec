"""The Interfaces tab's Config column and drift dialog against lab devices."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from mudmap_tui.changes import ChangeRunner
from mudmap_tui.lab import Lab
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.widgets.tables import InterfacesTable
from tests.tui.test_lab_app import running, select, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

__all__ = ["running"]

GUARD = 20.0


def op(method: str, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def config_cell(app: MudmapApp, name: str) -> str:
    table = app.query_one("#interfaces-table", InterfacesTable)
    if name not in table.interfaces:
        return ""
    return str(table.get_row(name)[-1])


async def test_config_column_and_drift_dialog(
        running: tuple[MudmapApp, Pilot[None]], lab: Lab) -> None:
    app, pilot = running
    runner = ChangeRunner(app.pool, db=app.db)
    lab.run("lab2", ["ip", "addr", "add", "192.0.2.55/32", "dev", "svc0"])
    plan = await runner.plan("lab2", [
        op("interfaces.create", kind="bridge", name="brdv", state="up"),
        op("addresses.add", name="brdv", address="10.91.0.1/24"),
    ], persist=True)
    assert (await runner.apply(plan, timeout=GUARD)).status == "confirmed"
    try:
        await select(pilot, app, "lab2", "interfaces")
        await wait_until(pilot, lambda: config_cell(app, "brdv") == "persisted",
                         "brdv shown as persisted")
        assert config_cell(app, "svc0") == "runtime only"

        lab.run("lab2", ["ip", "address", "add", "10.91.1.5/24", "dev", "brdv"])
        await wait_until(pilot, lambda: config_cell(app, "brdv") == "drifted",
                         "brdv shown as drifted after an out-of-band address")

        table = app.query_one("#interfaces-table", InterfacesTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("brdv"))
        await pilot.press("v")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BackupDiffScreen",
                         "the drift dialog")
        assert "10.91.1.5/24" in app.screen.diff_text  # type: ignore[attr-defined]
    finally:
        lab.run("lab2", ["ip", "addr", "del", "192.0.2.55/32", "dev", "svc0"], check=False)
        cleanup = await runner.plan("lab2", [op("interfaces.delete", name="brdv")],
                                    persist=True)
        assert (await runner.apply(cleanup, timeout=GUARD)).status == "confirmed"
