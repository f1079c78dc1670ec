"""A scrollable read-only text, such as a wg-quick file's settings."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from mudmap_tui.tui.dialogs.base import Dialog


class TextViewScreen(Dialog[None]):
    """Dialog that shows ``text``; arrows and page keys scroll, escape or q closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "cancel", "Close", id="dialog.close"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self.title_text
            dialog.border_subtitle = "q or escape closes"
            with VerticalScroll(id="text-view"):
                yield Static(self.text, id="text-view-body", markup=False)

    def on_mount(self) -> None:
        self.query_one("#text-view").focus()
