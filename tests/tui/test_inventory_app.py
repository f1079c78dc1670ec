"""The minimal app: the inventory as a tree of groups and devices."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Tree

from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.tui.app import MudmapApp


def make_inventory(path: Path) -> None:
    db = open_database(path)
    try:
        store = DeviceStore(db)
        store.add({"name": "edge1", "host": "192.0.2.1", "groups": ["edge"]})
        store.add({"name": "core1", "host": "2001:db8::1", "user": "ops",
                   "groups": ["core", "edge"]})
        store.add({"name": "lonely", "host": "lonely.example.net"})
    finally:
        db.close()


def tree_labels(tree: Tree[str]) -> dict[str, list[str]]:
    return {
        str(branch.label): [str(leaf.label) for leaf in branch.children]
        for branch in tree.root.children
    }


def detail_rows(app: MudmapApp) -> dict[str, str]:
    details = app.query_one("#details", DataTable)
    return {str(details.get_row_at(i)[0]): str(details.get_row_at(i)[1])
            for i in range(details.row_count)}


async def test_tree_lists_groups_and_devices(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    make_inventory(db_path)
    app = MudmapApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one("#devices", Tree)
        assert tree_labels(tree) == {
            "(no group) (1)": ["lonely"],
            "core (1)": ["core1"],
            "edge (2)": ["core1", "edge1"],
        }
        # Rows: Inventory, (no group), lonely, core, core1.
        await pilot.press("down", "down")
        assert detail_rows(app)["Address"] == "lonely.example.net:22"
        await pilot.press("down", "down")
        assert detail_rows(app)["Name"] == "core1"
        assert detail_rows(app)["Address"] == "ops@2001:db8::1:22"


async def test_reload_shows_devices_added_meanwhile(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    open_database(db_path).close()
    app = MudmapApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert len(app.query_one("#devices", Tree).root.children) == 0
        make_inventory(db_path)
        await pilot.press("r")
        assert "edge (2)" in tree_labels(app.query_one("#devices", Tree))
