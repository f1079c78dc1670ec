"""Shared parts of the dialogs: the modal frame, labelled fields and inline field errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Static

from mudmap_tui.form_checks import FieldErrors

DIALOG_STYLES = Path(__file__).resolve().parents[3] / "styles" / "dialogs.tcss"
# Marks an error in words and a glyph, so it reads the same without colour (NO_COLOR).
ERROR_MARK = "✗"
WARNING_MARK = "!"

ResultT = TypeVar("ResultT")


class FieldsScroll(VerticalScroll, can_focus=False):
    """The scrolling list of a form's fields, which never takes focus itself.

    Focusing a field scrolls it into view, so tab goes straight to the first field.
    """


class Dialog(ModalScreen[ResultT]):
    """A modal dialog that escape cancels; subclasses compose inside ``#dialog``."""

    CSS_PATH = DIALOG_STYLES
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]

    def cancel_result(self) -> Any:
        """Return the result that cancelling dismisses with, None unless a subclass overrides it."""
        return None

    def action_cancel(self) -> None:
        self.dismiss(self.cancel_result())


class FormDialog(Dialog[ResultT]):
    """A dialog of fields: enter in a field or ctrl+s submits, errors show under each field.

    Subclasses implement ``collect``, which returns the result or raises FieldErrors whose
    keys are the field names given to ``field_row``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Submit", id="dialog.submit"),
    ]

    def collect(self) -> ResultT:
        raise NotImplementedError

    def action_submit(self) -> None:
        self.clear_errors()
        try:
            result = self.collect()
        except FieldErrors as error:
            self.show_errors(error.errors)
            return
        self.accept(result)

    def accept(self, result: ResultT) -> None:
        """Dismiss with a checked result; a subclass may ask for confirmation first."""
        self.dismiss(result)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Hide the field's error once its value changes; the next submit checks it again."""
        field = (event.input.id or "").removeprefix("field-")
        for widget in self.query(f"#error-{field}"):
            if isinstance(widget, Static) and widget.display:
                widget.update("")
                widget.display = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            event.stop()
            self.action_submit()
        elif event.button.id == "cancel":
            event.stop()
            self.action_cancel()

    def clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            if isinstance(widget, Static):
                widget.update("")
                widget.display = False

    def show_errors(self, errors: dict[str, str]) -> None:
        """Show each message under its field, or under the form if no field has that name."""
        first: Widget | None = None
        for field, message in errors.items():
            target = self._error_widget(field)
            target.update(f"{ERROR_MARK} {message}")
            target.display = True
            control = self._control(field)
            if first is None and control is not None:
                first = control
        if first is not None:
            first.focus()

    def _error_widget(self, field: str) -> Static:
        try:
            return self.query_one(f"#error-{field}", Static)
        except NoMatches:
            return self.query_one("#error-form", Static)

    def _control(self, field: str) -> Widget | None:
        try:
            return self.query_one(f"#field-{field}")
        except NoMatches:
            return None

    def value(self, field: str) -> str:
        """Return the text of an Input field."""
        return self.query_one(f"#field-{field}", Input).value


class MarkedCheckbox(Checkbox):
    """A checkbox that shows X only when checked, so its state reads without colour.

    Textual 8.2's Checkbox draws X in both states and only the colour differs.
    """

    def on_mount(self) -> None:
        self._show_mark(self.value)

    def watch_value(self) -> None:
        super().watch_value()
        self._show_mark(self.value)

    def _show_mark(self, value: bool) -> None:
        self.BUTTON_INNER = "X" if value else " "
        self.refresh()


def field_row(label: str, control: Widget, field: str) -> ComposeResult:
    """Yield a labelled row for ``control`` (id field-NAME) and its error line (error-NAME)."""
    control.id = f"field-{field}"
    with Horizontal(classes="field-row", id=f"row-{field}"):
        yield Label(label, classes="field-label")
        yield control
    yield error_line(field)


def error_line(field: str) -> Static:
    line = Static("", id=f"error-{field}", classes="field-error", markup=False)
    line.display = False
    return line


def buttons(submit_label: str, cancel_label: str = "Cancel") -> ComposeResult:
    """Yield the form's error line and its Cancel and submit buttons."""
    yield error_line("form")
    with Horizontal(classes="dialog-buttons"):
        yield Button(cancel_label, id="cancel", compact=True)
        yield Button(submit_label, id="submit", variant="primary", compact=True)
