"""The help screen: every action with its key and description, the focused pane's first."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from mudmap_tui import actions


def scope_order(focused_scope: str) -> list[str]:
    """Return the scopes to list: the focused pane's, then everywhere, then the rest."""
    rest = [scope for scope in actions.SCOPES if scope not in (focused_scope, "app")]
    return [focused_scope, "app", *rest] if focused_scope != "app" else ["app", *rest]


class HelpScreen(ModalScreen[None]):
    """Keys for the focused pane first; Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, focused_scope: str, key_of: Callable[[actions.Action], str],
                 allowed: Callable[[actions.Action], bool]) -> None:
        super().__init__()
        self.focused_scope = focused_scope
        self.key_of = key_of
        self.allowed = allowed

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            title = actions.SCOPE_TITLES[self.focused_scope]
            yield Static(f"Keys · focus: {title} · Esc closes", id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.add_columns("Key", "Action", "Where", "Id")
        for scope in scope_order(self.focused_scope):
            for action in actions.in_scope(scope):
                note = "" if self.allowed(action) else " (read-only: off)"
                table.add_row(self.key_of(action), action.description + note,
                              actions.SCOPE_TITLES[scope], action.id)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
