"""Row tables keep the cursor on its row across refreshes, renames included."""

from __future__ import annotations

from textual.app import App, ComposeResult

from mudmap_tui.fleet_state import interface_row
from mudmap_tui.tui.widgets.tables import InterfacesTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield InterfacesTable(id="interfaces-table")


def rows(*names: str) -> list:
    return [interface_row({"name": name, "kind": "macvlan"}) for name in names]


async def test_cursor_follows_renamed_row() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(InterfacesTable)
        table.show_interfaces(rows("eth0", "mvt2", "wg0"))
        table.move_cursor(row=1)
        await pilot.pause()
        table.follow_rename("mvt2", "br9")
        table.show_interfaces(rows("eth0", "wg0", "br9"))
        await pilot.pause()
        assert table.selected_key == "br9"
