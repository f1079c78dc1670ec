"""Show a WireGuard client's config as text and as a QR code, and save it to a 0600 file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.widgets import Button, Input, Static, TabbedContent, TabPane

from mudmap_tui import qr, wg_client_config
from mudmap_tui.errors import AlreadyExists, InvalidInput
from mudmap_tui.tui.dialogs.base import ERROR_MARK, Dialog, error_line, field_row
from mudmap_tui.tui.dialogs.confirm import ConfirmScreen

# Lines and columns the dialog's frame, tabs, path row and buttons take around the QR code.
QR_CHROME_LINES = 8
DEFAULT_FILE_NAME = "wg-client.conf"
QR_CHROME_COLUMNS = 4


class ClientConfigScreen(Dialog[Path | None]):
    """Preview a client config, draw it as a QR code and save it; return the saved path.

    The config contains the client's private key. It is on screen only because the user
    requested the client config, and the file is created with mode 0600.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="dialog.save"),
    ]

    def __init__(self, config_text: str, suggested_name: str = DEFAULT_FILE_NAME) -> None:
        super().__init__()
        self.config_text = config_text
        self.suggested_name = suggested_name
        self.code = qr.make(config_text)
        self.saved: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="wide") as dialog:
            dialog.border_title = "Client config (contains the client's private key)"
            with TabbedContent(initial="config-tab"):
                with TabPane("Config", id="config-tab"), VerticalScroll():
                    yield Static(self.config_text, id="config-text", markup=False)
                with TabPane("QR code", id="qr-tab"):
                    yield Static("", id="qr", markup=False)
            path = Input(self.suggested_name, compact=True)
            yield from field_row("Save as", path, "path")
            yield Static("", id="save-status", markup=False)
            yield error_line("form")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="cancel", compact=True)
                yield Button("Save", id="submit", variant="primary", compact=True)

    def on_mount(self) -> None:
        self._draw_qr()

    def on_resize(self, event: Resize) -> None:
        self._draw_qr()

    def _draw_qr(self) -> None:
        columns = self.app.size.width - QR_CHROME_COLUMNS
        lines = self.app.size.height - QR_CHROME_LINES
        target = self.query_one("#qr", Static)
        if qr.fits(self.code, columns, lines):
            target.update(qr.render(self.code))
            return
        width, height = qr.rendered_size(self.code)
        target.update(
            f"The terminal is too small for this QR code (version {self.code.version}): it "
            f"needs {width + QR_CHROME_COLUMNS} columns and {height + QR_CHROME_LINES} lines, "
            f"and this terminal has {self.app.size.width} by {self.app.size.height}. Enlarge "
            "the window or reduce the font size, or save the config and run "
            "`qrencode -t ansiutf8 < FILE`."
        )

    def cancel_result(self) -> Path | None:
        return self.saved

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        self._save(overwrite=False)

    def _save(self, overwrite: bool) -> None:
        path = Path(self.query_one("#field-path", Input).value.strip()).expanduser()
        error = self.query_one("#error-path", Static)
        error.display = False
        try:
            saved = wg_client_config.save(path, self.config_text, overwrite=overwrite)
        except AlreadyExists:
            self._confirm_overwrite(path)
            return
        except (InvalidInput, OSError) as failure:
            error.update(f"{ERROR_MARK} cannot save {path}: {failure}")
            error.display = True
            return
        self.saved = saved
        # The absolute path, so a relative name says which folder the file went to.
        self.query_one("#save-status", Static).update(
            f"Saved to {saved.absolute()} (mode 0600)."
        )

    def _confirm_overwrite(self, path: Path) -> None:
        def overwrite(confirmed: bool | None) -> None:
            if confirmed:
                self._save(overwrite=True)

        self.app.push_screen(
            ConfirmScreen(
                "Overwrite file?", f"{path} already exists. Replace it with this config?"
            ),
            overwrite,
        )
