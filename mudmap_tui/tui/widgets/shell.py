"""The shell pane: the target line, a command input with history, and streamed output."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, RichLog, Static

from mudmap_tui.tui.bindings import bindings_for


class ShellInput(Input):
    """The command line; its keys (run, cancel, history, target) come from the action table."""

    BINDINGS = bindings_for("shell")


class ShellPane(Vertical):
    """Target, input and output of commands run on one or many devices."""

    def compose(self) -> ComposeResult:
        yield Static("Target: none", id="shell-target", markup=False)
        yield ShellInput(placeholder="command, Enter runs it; ctrl+r searches history",
                         id="shell-input")
        yield RichLog(id="shell-output", wrap=False, markup=False, max_lines=10000)

    def set_target_text(self, text: str) -> None:
        self.query_one("#shell-target", Static).update(text)

    def write(self, line: Any) -> None:
        self.query_one("#shell-output", RichLog).write(line)
