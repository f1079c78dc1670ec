"""Add one address with prefix length to an interface."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from agent import validate
from mudmap_tui.form_checks import Collector
from mudmap_tui.tui.dialogs.base import FormDialog, buttons, field_row


class AddressFormScreen(FormDialog[str | None]):
    """Return the address in RFC 5952 form with its prefix (192.0.2.10/24), for addresses.add."""

    def __init__(self, device: str, interface: str) -> None:
        super().__init__()
        self.device = device
        self.interface = interface

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Add address to {self.interface} on {self.device}"
            yield Static(
                "An IPv4 or IPv6 address with its prefix length.",
                classes="dialog-body",
            )
            address = Input(placeholder="192.0.2.10/24 or 2001:db8::1/64", compact=True)
            yield from field_row("Address", address, "address")
            yield from buttons("Add")

    def on_mount(self) -> None:
        self.query_one("#field-address").focus()

    def collect(self) -> str | None:
        collector = Collector()
        text = self.value("address").strip()
        address = collector.check("address", lambda: validate.cidr_address("address", text))
        collector.raise_if_any()
        assert address is not None
        return validate.format_interface(address)
