"""Preview an import of devices from an OpenSSH client config and choose which to import."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import SelectionList, Static

from mudmap_tui.errors import MudmapError
from mudmap_tui.form_checks import FieldErrors
from mudmap_tui.sshconfig import ImportPlan, plan_import
from mudmap_tui.store.models import Device
from mudmap_tui.tui.dialogs.base import ERROR_MARK, FormDialog, buttons, error_line

# Each row starts with a word for whether it is imported, because the list's check box
# differs by colour only.
CHOSEN_MARK = "import"
SKIPPED_MARK = "skip  "


def describe(device: Device) -> str:
    """Describe a device in one line: name, user@host:port and its jump host."""
    host = f"[{device.host}]" if ":" in device.host else device.host
    target = f"{device.user}@{host}" if device.user else host
    line = f"{device.name}  {target}:{device.port}"
    if device.jump:
        line += f" via {device.jump}"
    return line


class ImportScreen(FormDialog[list[Device] | None]):
    """Return the devices chosen from ``path`` (an ssh_config file), or None on cancel.

    Every importable Host alias is listed and selected at first; the patterns and blocks
    the import skips are listed with the reason. A file that cannot be imported shows its
    error and offers only Cancel.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.plan: ImportPlan | None = None
        self.failure: str | None = None
        try:
            self.plan = plan_import(path)
        except (MudmapError, OSError) as error:
            self.failure = str(error)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Import devices from {self.path}"
            if self.plan is None:
                yield Static(f"{ERROR_MARK} {self.failure}", classes="field-error", markup=False)
                yield error_line("form")
                return
            yield from self._preview(self.plan)
            yield from buttons("Import selected")

    def _preview(self, plan: ImportPlan) -> ComposeResult:
        if plan.devices:
            yield Static(
                f"{len(plan.devices)} devices found; space toggles one, enter imports.",
                classes="dialog-body",
            )
            options = [
                (f"{CHOSEN_MARK} {describe(device)}", index, True)
                for index, device in enumerate(plan.devices)
            ]
            yield SelectionList[int](*options, id="field-devices", compact=True)
        else:
            yield Static("No Host entry in this file can become a device.", classes="dialog-body")
        yield error_line("devices")
        if plan.notes:
            notes = "Not imported:\n" + "\n".join(f"- {note}" for note in plan.notes)
            with VerticalScroll(id="import-notes"):
                yield Static(notes, markup=False)

    def collect(self) -> list[Device] | None:
        if self.plan is None or not self.plan.devices:
            raise FieldErrors({"devices": "nothing to import; press escape to close"})
        chosen = self.query_one("#field-devices", SelectionList).selected
        if not chosen:
            raise FieldErrors(
                {"devices": "no device selected: select at least one, or press escape"}
            )
        return [device for index, device in enumerate(self.plan.devices) if index in chosen]

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        self.clear_errors()
        if self.plan is None:
            return
        listing = event.selection_list
        for index, device in enumerate(self.plan.devices):
            mark = CHOSEN_MARK if index in listing.selected else SKIPPED_MARK
            listing.replace_option_prompt_at_index(index, f"{mark} {describe(device)}")
