"""Trust-on-first-use prompt for a device's SSH host key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from mudmap_tui.tui.dialogs.base import Dialog


class HostKeyScreen(Dialog[bool]):
    """Show a host key's full SHA-256 fingerprint and ask whether to trust it.

    Reject has the focus, so a stray enter never trusts a key; escape also rejects.
    """

    def __init__(self, device: str, host: str, key_type: str, fingerprint: str) -> None:
        super().__init__()
        self.device = device
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Unknown host key: {self.device}"
            yield Static(
                f"{self.device} ({self.host}) offered a host key of type {self.key_type} that "
                "is not in the inventory. Compare its fingerprint with the one the device shows "
                "(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) before you trust it.",
                classes="dialog-body",
                markup=False,
            )
            yield Static(self.fingerprint, id="fingerprint", classes="fingerprint", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Reject", id="reject", compact=True)
                yield Button("Trust and connect", id="accept", variant="warning", compact=True)

    def on_mount(self) -> None:
        self.query_one("#reject").focus()

    def cancel_result(self) -> bool:
        return False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "accept")
