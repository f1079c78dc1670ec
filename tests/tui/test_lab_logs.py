"""The Logs tab on a lab device, which runs no journald: a file in /var/log instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select, Static

from mudmap_tui.lab import Lab
from mudmap_tui.tui.widgets.panes import JournalView
from tests.tui.test_lab_app import lab_app, select, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


async def test_logs_tab_reads_chosen_file(lab: Lab, tmp_path: Path) -> None:
    path = "/var/log/mudmap-tui-test.log"
    lab.run("lab3", ["sh", "-c", f"mkdir -p /var/log && echo 'tui log line' > {path}"])
    app = lab_app(lab, tmp_path)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await select(pilot, app, "lab3", "logs")
            journal = app.query_one("#journal", JournalView)

            def text() -> str:
                return " ".join(str(line) for line in journal.lines)

            def note() -> str:
                return str(app.query_one("#logs-note", Static).render())

            # Lab devices run neither journald nor a syslog daemon.
            await wait_until(pilot, lambda: "Logs are not available" in note(),
                             "the journald note")
            log_file = app.query_one("#logs-file", Select)
            await wait_until(pilot, lambda: log_file.display, "the log source list")
            sources = [str(option[1]) for option in log_file._options]
            assert "mudmap-tui-test.log" in sources
            assert "apt" not in sources
            log_file.value = "mudmap-tui-test.log"
            await wait_until(pilot, lambda: "tui log line" in text(), "the chosen file")
            assert app.log_files == {"lab3": "mudmap-tui-test.log"}
            assert not app.query_one("#logs-note", Static).display
    finally:
        lab.run("lab3", ["rm", "-f", path])
