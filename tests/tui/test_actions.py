"""The action table drives bindings, help, the palette, remapping and read-only mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from mudmap_tui import actions
from mudmap_tui.errors import InvalidInput
from mudmap_tui.keymap import load_keymap, parse_keymap
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.commands import ActionCommands
from mudmap_tui.tui.screens.help import HelpScreen
from tests.tui.test_inventory_app import make_inventory


def test_action_ids_unique_and_scoped() -> None:
    ids = [action.id for action in actions.ACTIONS]
    assert len(ids) == len(set(ids))
    assert all(action.scope in actions.SCOPES for action in actions.ACTIONS)
    for scope in actions.SCOPES:
        keys = [key for action in actions.in_scope(scope) for key in action.key.split(",")]
        assert len(keys) == len(set(keys)), f"two actions share a key in {scope}"


def test_palette_titles_read_area_verb() -> None:
    assert actions.get("device.accept_host_key").title == "device: accept host key"
    assert actions.get("interface.add_address").title == "interface: add address"


def test_every_action_has_a_handler(tmp_path: Path) -> None:
    app = MudmapApp(tmp_path / "inventory.db", refresh_interval=0,
                    log_path=tmp_path / "mudmap.log")
    missing = [action.id for action in actions.ACTIONS
               if not hasattr(app, f"do_{action.method}")
               and not hasattr(app.handlers, f"do_{action.method}")]
    assert missing == []


def test_keymap_parses_and_rejects() -> None:
    assert parse_keymap('[keys]\n"device.reboot" = "ctrl+shift+r, f9"\n') == {
        "device.reboot": "ctrl+shift+r,f9"}
    with pytest.raises(InvalidInput, match="is not an action"):
        parse_keymap('[keys]\n"device.explode" = "x"\n')
    with pytest.raises(InvalidInput, match="key names"):
        parse_keymap('[keys]\n"device.reboot" = "ctrl r"\n')
    with pytest.raises(InvalidInput, match="not valid TOML"):
        parse_keymap("[keys\n")


def test_missing_keymap_file_is_empty(tmp_path: Path) -> None:
    assert load_keymap(tmp_path / "absent.toml") == {}


def app_for(tmp_path: Path, **options: object) -> MudmapApp:
    db_path = tmp_path / "inventory.db"
    make_inventory(db_path)
    return MudmapApp(db_path, refresh_interval=0, log_path=tmp_path / "mudmap.log",
                     **options)  # type: ignore[arg-type]


def help_rows(app: MudmapApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one("#help-table", DataTable)
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def test_help_lists_every_action_focused_first(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        assert {row[3] for row in rows} == {action.id for action in actions.ACTIONS}
        assert rows[0][2] == "Device tree"
        reboot = next(row for row in rows if row[3] == "device.reboot")
        assert reboot[0] == "R"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_keymap_remaps_binding_and_help(tmp_path: Path) -> None:
    app = app_for(tmp_path, keymap={"app.help": "f2"})
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f2")
        assert isinstance(app.screen, HelpScreen)
        row = next(row for row in help_rows(app) if row[3] == "app.help")
        assert row[0] == "F2"


async def test_read_only_hides_and_rejects_changes(tmp_path: Path) -> None:
    app = app_for(tmp_path, read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        shown = {binding.binding.id for binding in app.screen.active_bindings.values()}
        assert "device.reboot" not in shown
        assert "device.reconnect" in shown
        await pilot.press("R")
        await pilot.pause()
        assert type(app.screen).__name__ != "ConfirmScreen"
        messages = [notification.message for notification in app._notifications]
        assert "read-only mode: device: reboot is disabled" in messages[-1]
        await app.run_registered("device.remove")
        assert type(app.screen).__name__ != "ConfirmScreen"
        assert app.title.endswith(" (read-only)")


async def test_read_only_shell_says_so(tmp_path: Path) -> None:
    app = app_for(tmp_path, read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.do_app_focus_shell()
        shell = app.query_one("#shell-input", Input)
        assert "read-only" in shell.placeholder
        await pilot.press(*"ip link", "enter")
        await pilot.pause()
        messages = [notification.message for notification in app._notifications]
        assert "read-only mode: shell: run is disabled" in messages[-1]
        assert shell.value == "ip link"


async def test_palette_offers_area_verb_commands(tmp_path: Path) -> None:
    app = app_for(tmp_path, read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        provider = ActionCommands(app.screen)
        titles = [str(hit.text) async for hit in provider.discover()]
        assert "device: reconnect" in titles
        assert "device: reboot" not in titles
        hits = [hit async for hit in provider.search("reconnect")]
        assert hits and "reconnect" in str(hits[0].text)


async def test_filter_hides_devices_and_counts_them(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.press("slash")
        await pilot.press("c", "o", "r", "e")
        tree = app.query_one("#devices")
        assert tree.hidden_count == 2  # type: ignore[attr-defined]
        assert tree.hidden_marked == 1  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert tree.hidden_count == 0  # type: ignore[attr-defined]


async def test_palette_opens_and_runs_action(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "app: help":
            await pilot.press("space" if key == " " else key)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, HelpScreen)


async def test_bulk_backup_states_marked_and_hidden(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        tree = app.query_one("#devices")
        for name in ("lonely", "core1"):
            tree.select_device(name)  # type: ignore[attr-defined]
            await pilot.pause()
            await pilot.press("space")
        tree.set_filter("core")  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        body = app.screen.body  # type: ignore[attr-defined]
        assert "2 marked devices (1 hidden by the current filter)" in body
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "ConfirmScreen"


async def test_tree_hides_when_narrow_or_toggled(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    async with app.run_test(size=(70, 24)) as pilot:
        await pilot.pause()
        assert not app.query_one("#left").display
        await pilot.resize_terminal(100, 24)
        await pilot.pause()
        assert app.query_one("#left").display
        await pilot.press("ctrl+b")
        assert not app.query_one("#left").display
        # Focus leaves the hidden tree for the active tab's content.
        assert app.focused is not None
        assert app.focused.id == "overview-table"
        await pilot.press("ctrl+b")
        assert app.query_one("#left").display


async def test_tab_switch_focuses_tab_table(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.focus_active_tab()
        await pilot.press("]")
        await pilot.pause()
        assert app.active_tab == "interfaces"
        assert app.focused is app.query_one("#interfaces-table")
        await pilot.press("]", "]", "]", "]")
        await pilot.pause()
        assert app.active_tab == "shell"
        # The output takes focus, so the next ] switches tabs instead of typing into the input.
        assert app.focused is app.query_one("#shell-output")
        await pilot.press("]")
        await pilot.pause()
        assert app.active_tab == "backups"
        await pilot.press("[", "colon")
        await pilot.pause()
        assert app.focused is app.query_one("#shell-input")
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is app.query_one("#shell-output")
        assert app.query_one("#shell-input", Input).value == ""
