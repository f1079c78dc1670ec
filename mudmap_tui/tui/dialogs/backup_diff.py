"""A scrollable unified diff between two backups, with +/- markers on every line."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from mudmap_tui.tui.dialogs.base import Dialog


def styled_diff(diff_text: str) -> Content:
    """Return the diff with added and removed lines styled; the markers stay as text."""
    lines = []
    for line in diff_text.splitlines():
        content = Content(line)
        if line.startswith("+") and not line.startswith("+++"):
            content = content.stylize("$text-success")
        elif line.startswith("-") and not line.startswith("---"):
            content = content.stylize("$text-error")
        elif line.startswith("@@"):
            content = content.stylize("bold")
        lines.append(content)
    return Content("\n").join(lines)


def plural(count: int, noun: str) -> str:
    """Return ``1 line`` or ``2 lines``: the count and the noun in the matching number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def count_changes(diff_text: str) -> tuple[int, int]:
    """Return (added, removed) line counts, leaving out the ---/+++ file headers."""
    added = removed = 0
    for line in diff_text.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


class BackupDiffScreen(Dialog[None]):
    """Show a unified diff; arrows and page keys scroll, escape or q closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "cancel", "Close", id="dialog.close"),
    ]

    def __init__(self, title: str, diff_text: str) -> None:
        super().__init__()
        self.title_text = title
        self.diff_text = diff_text

    def compose(self) -> ComposeResult:
        added, removed = count_changes(self.diff_text)
        with Vertical(id="dialog", classes="wide") as dialog:
            dialog.border_title = self.title_text
            summary = f"{plural(added, 'line')} added (+), {removed} removed (-)"
            if not self.diff_text.strip():
                summary = "No differences."
            yield Static(summary, id="diff-summary")
            with VerticalScroll(id="diff"):
                yield Static(styled_diff(self.diff_text), id="diff-text")

    def on_mount(self) -> None:
        self.query_one("#diff").focus()
