"""Ask for the local and remote paths of a file upload or download."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from mudmap_tui.form_checks import Collector, download_target, remote_path, upload_source
from mudmap_tui.tui.dialogs.base import FormDialog, buttons, field_row
from mudmap_tui.tui.dialogs.confirm import ConfirmScreen


class FileTransferScreen(FormDialog[tuple[str, str] | None]):
    """Return (local path, remote path), or None on cancel.

    An upload needs an existing local file. Before a download into an existing local file,
    the dialog requests confirmation. So a returned download target that exists was
    confirmed, and the caller passes force=True to file_transfer.get().
    """

    def __init__(self, device: str, upload: bool) -> None:
        super().__init__()
        self.device = device
        self.upload = upload

    def compose(self) -> ComposeResult:
        verb = "Upload a file to" if self.upload else "Download a file from"
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"{verb} {self.device}"
            local = Input(placeholder="./hosts", compact=True)
            remote = Input(placeholder="/etc/hosts", compact=True)
            if self.upload:
                yield from field_row("Local file", local, "local")
                yield from field_row("Remote path", remote, "remote")
            else:
                yield from field_row("Remote path", remote, "remote")
                yield from field_row("Save to", local, "local")
            yield from buttons("Upload" if self.upload else "Download")

    def collect(self) -> tuple[str, str] | None:
        collector = Collector()
        check = upload_source if self.upload else download_target
        local = collector.check("local", lambda: check(self.value("local")))
        remote = collector.check("remote", lambda: remote_path(self.value("remote")))
        collector.raise_if_any()
        assert local is not None and remote is not None
        return str(local), remote

    def accept(self, result: tuple[str, str] | None) -> None:
        if result is None or self.upload or not Path(result[0]).exists():
            self.dismiss(result)
            return
        self._confirm_overwrite(result)

    def _confirm_overwrite(self, result: tuple[str, str]) -> None:
        def answer(confirmed: bool | None) -> None:
            if confirmed:
                self.dismiss(result)

        self.app.push_screen(
            ConfirmScreen(
                "Overwrite local file?",
                f"{result[0]} exists. Replace it with {result[1]} from {self.device}?",
            ),
            answer,
        )
