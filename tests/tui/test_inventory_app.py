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
    async with app.run_test(size=(80, 24)) as pilot:
        assert len(app.query_one("#devices", DeviceTree).root.children) == 0
        make_inventory(db_path)
        await pilot.press("ctrl+r")
        assert "edge" in tree_devices(app.query_one("#devices", DeviceTree))


async def test_device_expands_to_interfaces(tmp_path: Path) -> None:
    from tests.tui.snapshot_fixture import snapshot_app

    app = snapshot_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one("#devices", DeviceTree)
        await pilot.pause()
        tree.select_device("core1")
        node = tree.cursor_node
        assert node is not None and node.allow_expand
        assert list(node.children) == []
        node.expand()
        await pilot.pause()
        assert [child.data.name for child in node.children if child.data] == [
            "lo", "eth0", "br0", "veth1", "wg0"]
        assert not tree._device_nodes["spare"][0].allow_expand


async def test_big_inventory_opens_collapsed(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    db = open_database(db_path)
    try:
        store = DeviceStore(db)
        for number in range(210):
            store.add({"name": f"d{number:03d}", "host": f"127.0.3.{number + 1}",
                       "groups": [f"g{number % 3}"]})
    finally:
        db.close()
    app = offline_app(db_path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_selected(pilot, app, "d000")
        tree = app.query_one("#devices", DeviceTree)
        expanded = [node.data.name for node in tree.root.children
                    if node.data and node.is_expanded]
        assert expanded == ["g0"]
        assert tree.select_device("d101")
        await pilot.pause()
        assert app.selected_device == "d101"
        assert overview_rows(app)["Address"] == "127.0.3.102:22"
        # Only devices in expanded groups are on screen, so only they are swept.
        visible = set(tree.visible_devices())
        assert visible == {f"d{n:03d}" for n in range(210) if n % 3 in (0, 2)}


async def test_many_state_changes_notify_few(tmp_path: Path) -> None:
    from mudmap_tui.fleet_state import DeviceState
    from mudmap_tui.tui import app as app_module

    db_path = tmp_path / "inventory.db"
    make_inventory(db_path)
    app = offline_app(db_path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown: list[str] = []
        app.notify = lambda message, **options: shown.append(message)  # type: ignore[method-assign]
        app._flush_announcements()
        for number in range(10):
            app._announce_state(f"dev{number}", DeviceState.UNREACHABLE, "timed out")
        limit = app_module.MAX_ANNOUNCEMENTS_PER_SECOND
        assert len(shown) == limit
        app._flush_announcements()
        assert len(shown) == limit + 1
        assert shown[-1].startswith(f"{10 - limit} more devices changed state")


async def test_outage_notifies_once_not_over_dialogs(tmp_path: Path) -> None:
    from mudmap_tui.fleet_state import DeviceState
    from mudmap_tui.tui.dialogs.confirm import ConfirmScreen

    db_path = tmp_path / "inventory.db"
    make_inventory(db_path)
    app = offline_app(db_path, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown: list[str] = []
        app.notify = lambda message, **options: shown.append(message)  # type: ignore[method-assign]
        # Reconnect attempts flip a down device between offline and unreachable.
        for state in (DeviceState.OFFLINE, DeviceState.UNREACHABLE, DeviceState.OFFLINE):
            app._announce_state("dev1", state, "connection lost; reconnecting")
        assert len(shown) == 1
        app._announce_state("dev1", DeviceState.ONLINE, "")
        await app.push_screen(ConfirmScreen("Remove dev2?", "Remove dev2."))
        app._announce_state("dev2", DeviceState.UNREACHABLE, "timed out")
        assert len(shown) == 1
        app.pop_screen()
        app._announce_state("dev1", DeviceState.OFFLINE, "connection lost; reconnecting")
        assert len(shown) == 2
