"""Add or edit a device: connection settings, jump host, groups and notes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Select, TextArea

from mudmap_tui.form_checks import device_from_form
from mudmap_tui.store.models import Device
from mudmap_tui.tui.dialogs.base import FieldsScroll, FormDialog, buttons, field_row

TEXT_FIELDS = ("name", "host", "port", "user", "identity_file", "jump", "groups")


class DeviceFormScreen(FormDialog[Device | None]):
    """Return the Device as entered (checked like `mudmap device add`), or None on cancel.

    ``device_names`` are the inventory's devices, offered as jump hosts. Editing keeps the
    device's timestamps; the caller works out which fields changed.
    """

    def __init__(self, existing: Device | None, device_names: list[str]) -> None:
        super().__init__()
        self.existing = existing
        own = existing.name if existing else None
        self.device_names = [name for name in device_names if name != own]

    def compose(self) -> ComposeResult:
        device = self.existing
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Edit device {device.name}" if device else "Add device"
            with FieldsScroll(id="fields"):
                yield from field_row("Name", self._input("name", "edge1"), "name")
                yield from field_row(
                    "Host", self._input("host", "192.0.2.10 or a DNS name"), "host"
                )
                yield from field_row("Port", self._input("port", "22"), "port")
                yield from field_row("User", self._input("user", "from ~/.ssh/config"), "user")
                yield from field_row(
                    "Identity file",
                    self._input("identity_file", "~/.ssh/id_ed25519"),
                    "identity_file",
                )
                yield from field_row("Jump via device", self._jump_select(), "jump_device")
                yield from field_row("Jump host", self._jump_input(), "jump")
                yield from field_row("Groups", self._input("groups", "edge, core"), "groups")
                notes = TextArea(device.notes if device else "", compact=True)
                yield from field_row("Notes", notes, "notes")
            yield from buttons("Save" if device else "Add")

    def _input(self, field: str, placeholder: str) -> Input:
        return Input(self._initial(field), placeholder=placeholder, compact=True)

    def _initial(self, field: str) -> str:
        device = self.existing
        if device is None:
            return ""
        if field == "groups":
            return ", ".join(device.groups)
        value = getattr(device, field)
        return "" if value is None else str(value)

    def _jump_select(self) -> Select[str]:
        current = self.existing.jump if self.existing else None
        value = current if current in self.device_names else Select.NULL
        options = [(name, name) for name in self.device_names]
        return Select(options, prompt="(none: direct or typed below)", value=value, compact=True)

    def _jump_input(self) -> Input:
        jump = self._input("jump", "a device name or user@host:port")
        jump.suggester = SuggestFromList(self.device_names, case_sensitive=True)
        return jump

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "field-jump_device" and isinstance(event.value, str):
            self.query_one("#field-jump", Input).value = event.value

    def collect(self) -> Device | None:
        values = {field: self.value(field) for field in TEXT_FIELDS}
        values["notes"] = self.query_one("#field-notes", TextArea).text
        return device_from_form(values, self.device_names, self.existing)
