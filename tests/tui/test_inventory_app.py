"""The app's inventory tree and overview, on an inventory file with no reachable device."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable

from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.widgets.device_tree import DeviceTree


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


def tree_devices(tree: DeviceTree) -> dict[str, list[str]]:
    return {
        branch.data.name: [leaf.data.name for leaf in branch.children if leaf.data]
        for branch in tree.root.children if branch.data
    }


def overview_rows(app: MudmapApp) -> dict[str, str]:
    table = app.query_one("#overview-table", DataTable)
    return {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1])
            for i in range(table.row_count)}


async def wait_selected(pilot: Pilot[None], app: MudmapApp, name: str) -> None:
    """Let the app select its first device, which it does after its first refresh."""
    for _ in range(100):
        if app.selected_device == name:
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{name} was never selected; selected: {app.selected_device}")


def offline_app(db_path: Path, tmp_path: Path, **options: object) -> MudmapApp:
    return MudmapApp(db_path, refresh_interval=0, log_path=tmp_path / "mudmap.log",
                     **options)  # type: ignore[arg-type]


async def test_tree_lists_groups_and_devices(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    make_inventory(db_path)
    app = offline_app(db_path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one("#devices", DeviceTree)
        assert tree_devices(tree) == {
            "(no group)": ["lonely"],
            "core": ["core1"],
            "edge": ["core1", "edge1"],
        }
        # The first device is selected at start: lonely, in "(no group)".
        await wait_selected(pilot, app, "lonely")
        assert overview_rows(app)["Address"] == "lonely.example.net:22"
        await pilot.press("down", "down")
        assert app.selected_device == "core1"
        assert overview_rows(app)["Address"] == "ops@2001:db8::1:22"


async def test_unchecked_device_shows_glyph_and_word(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    make_inventory(db_path)
    app = offline_app(db_path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot, app, "lonely")
        tree = app.query_one("#devices", DeviceTree)
        label = str(tree.root.children[0].children[0].label)
        assert label == "· lonely not checked yet"
        assert overview_rows(app)["State"] == "· not checked yet"


async def test_reload_shows_devices_added_meanwhile(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    open_database(db_path).close()
    app = offline_app(db_path, tmp_path)
    async with app.run_test(size=(80, 24)):
        assert len(app.query_one("#devices", DeviceTree).root.children) == 0
        make_inventory(db_path)
        app.reload_inventory()
        assert "edge" in tree_devices(app.query_one("#devices", DeviceTree))
