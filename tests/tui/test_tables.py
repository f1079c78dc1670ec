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


def test_local_time_is_readable_local() -> None:
    from datetime import datetime, timezone

    from mudmap_tui.tui.tab_views import local_time

    stamp = "2026-12-04T20:00:05.123456+00:00"
    expected = datetime(2026, 12, 4, 20, 0, 5, tzinfo=timezone.utc).astimezone()
    assert local_time(stamp) == expected.strftime("%Y-%m-%d %H:%M:%S")
    assert local_time("not a time") == "not a time"
