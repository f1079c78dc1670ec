"""Persisting a change and setting its rollback timeout from the app's diff dialog."""

from __future__ import annotations

import json

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input

from mudmap_tui.changes import ChangeRunner
from mudmap_tui.lab import Lab
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.widgets.tables import InterfacesTable
from tests.tui.test_lab_app import (
    audit_entries,
    running,
    select,
    submit_bridge_form,
    wait_until,
)
from tests.tui.test_lab_drift import config_cell, op

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

__all__ = ["running"]

STANZA = "/etc/network/interfaces.d/tuipst0"


async def test_form_bridge_persisted(running: tuple[MudmapApp, Pilot[None]],
                                          lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab3", "interfaces")
    await wait_until(pilot, lambda: bool(app.query_one("#interfaces-table",
                                                       InterfacesTable).interfaces),
                     "lab3's interface rows")
    try:
        await submit_bridge_form(pilot, app, "tuipst0")
        dialog = app.screen
        dialog.query_one("#persist", Checkbox).value = True
        await wait_until(pilot, lambda: STANZA in dialog.body,  # type: ignore[attr-defined]
                         "the stanza file in the persisted plan")
        dialog.query_one("#timeout", Input).value = "30"
        await pilot.pause()
        dialog.query_one("#apply", Button).press()

        # Earlier tests leave their own change entries for lab3 in the shared inventory.
        await wait_until(pilot, lambda: confirmed_id(app) is not None,
                         "this change's confirm in the audit log")
        applied = next(entry for entry in audit_entries(app, "lab3")
                       if entry.params.get("id") == confirmed_id(app)
                       and entry.action == "change.apply")
        assert applied.params["timeout"] == 30.0
        link = json.loads(lab.run("lab3", ["ip", "-j", "-d", "link", "show", "tuipst0"]).stdout)
        assert link[0]["linkinfo"]["info_kind"] == "bridge"
        stanza = lab.run("lab3", ["cat", STANZA]).stdout
        assert "iface tuipst0" in stanza
        await wait_until(pilot, lambda: config_cell(app, "tuipst0") == "persisted",
                         "tuipst0 shown as persisted")

        runner = ChangeRunner(app.pool, db=app.db)
        cleanup = await runner.plan("lab3", [op("interfaces.delete", name="tuipst0")],
                                    persist=True)
        assert (await runner.apply(cleanup, timeout=20)).status == "confirmed"
        assert lab.run("lab3", ["test", "-e", STANZA], check=False).returncode != 0
    finally:
        lab.run("lab3", ["ip", "link", "del", "tuipst0"], check=False)
        lab.run("lab3", ["rm", "-f", STANZA, STANZA + ".mudmap-prev"], check=False)


def confirmed_id(app: MudmapApp) -> str | None:
    """Return the id of the confirmed change that persisted tuipst0, or None."""
    entries = audit_entries(app, "lab3")
    applied = {str(entry.params.get("id")) for entry in entries
               if entry.action == "change.apply" and STANZA in (entry.params.get("files") or [])}
    return next((str(entry.params["id"]) for entry in entries
                 if entry.action == "change.confirm" and entry.params.get("id") in applied),
                None)
