"""The shell pane's history: keys redacted in stored output, and a switch to store nothing."""

from __future__ import annotations

import re

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from mudmap_tui.lab import Lab
from mudmap_tui.tui.app import MudmapApp
from tests.tui.test_lab_app import running, select, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

__all__ = ["running"]

WG_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}=")


async def run_in_shell(pilot: Pilot[None], app: MudmapApp, command: str) -> None:
    field = app.query_one("#shell-input", Input)
    field.focus()
    field.value = command
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.shell.run is None, f"the end of {command!r}")
    await pilot.pause()


def stored_runs(app: MudmapApp, marker: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in app.db.execute(
        "SELECT command_runs.command, command_results.stdout FROM command_runs"
        " JOIN command_results ON command_results.run_id = command_runs.id"
        " WHERE command_runs.command LIKE ?", (f"%{marker}%",)).fetchall()]


async def test_shell_history_redacts_and_turns_off(running: tuple[MudmapApp, Pilot[None]],
                                                   lab: Lab) -> None:
    app, pilot = running
    await select(pilot, app, "lab1", "shell")
    await run_in_shell(pilot, app, "printf 'PrivateKey = %s\\n' \"$(wg genkey)\" # tuikey1")
    output = "\n".join(strip.text for strip in app.query_one("#shell-output").lines)
    assert WG_KEY_RE.search(output), "the screen shows the key the user asked for"
    [(_command, stdout)] = stored_runs(app, "tuikey1")
    assert stdout == "PrivateKey = <redacted>\n"
    assert not WG_KEY_RE.search(stdout)

    await pilot.press("ctrl+o")
    assert not app.shell.keep_history
    assert "history off" in str(app.query_one("#shell-target").render())
    await run_in_shell(pilot, app, "echo tuikey2")
    assert stored_runs(app, "tuikey2") == []
    history = app.db.execute("SELECT command FROM shell_history WHERE command LIKE ?",
                             ("%tuikey2%",)).fetchall()
    assert history == []
