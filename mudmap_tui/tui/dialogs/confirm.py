"""Yes-or-no confirmation, optionally guarded by typing a word such as the device's name."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from mudmap_tui.tui.dialogs.base import Dialog


class ConfirmScreen(Dialog[bool]):
    """Ask to confirm an action; with ``typed``, Confirm enables only on that exact text.

    For bulk actions the caller states the counts in ``body`` ("Reboot 12 devices in
    group edge?"). Escape and Cancel return False.
    """

    def __init__(self, title: str, body: str, typed: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.typed = typed

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self.title_text
            yield Static(self.body, classes="dialog-body", markup=False)
            if self.typed is not None:
                yield Label(f"Type {self.typed!r} to confirm:")
                yield Input(id="typed", placeholder=self.typed, compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(
                    "Confirm",
                    id="confirm",
                    variant="error",
                    compact=True,
                    disabled=self.typed is not None,
                )

    def on_mount(self) -> None:
        focus = "#typed" if self.typed is not None else "#cancel"
        self.query_one(focus).focus()

    def cancel_result(self) -> bool:
        return False

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value == self.typed:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")
