"""Handlers and tabs give the user what they need: the right field, data and notes."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TabbedContent

from mudmap_tui.ssh.errors import AgentUnsupported
from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.messages import TabLoaded
from mudmap_tui.tui.widgets.device_tree import DeviceTree
from mudmap_tui.tui.widgets.tables import WgQuickTable
from tests.tui.snapshot_fixture import snapshot_app


async def open_tab(pilot: Pilot[None], app: MudmapApp, tab: str) -> None:
    await pilot.pause()
    app.query_one("#devices", DeviceTree).select_device("core1")
    app.query_one("#tabs", TabbedContent).active = tab
    await pilot.pause()
    app.query_one(f"#{tab}-table").focus()


async def test_mtu_key_opens_form_in_mtu(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "interfaces")
        await pilot.press("m")
        await pilot.pause()
        assert type(app.screen).__name__ == "InterfaceFormScreen"
        assert app.screen.focused is app.screen.query_one("#field-mtu", Input)


async def test_peer_form_suggests_from_addresses(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    # wg.get carries no addresses; interfaces.list has wg0's 10.8.0.1/24.
    app.fleet.set_extra("core1", "wireguard", 0.0, {"interfaces": [
        {"name": "wg0", "public_key": "k" * 43 + "=", "listen_port": 51820, "peers": []}],
        "configs": [], "configs_error": None})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "wireguard")
        await pilot.press("n")
        await pilot.pause()
        assert type(app.screen).__name__ == "PeerFormScreen"
        text = " ".join(str(static.render()) for static in app.screen.query("Static"))
        assert "has no address" not in text
        assert app.screen.query_one("#field-allowed_ips", Input).value == "10.8.0.2/32"


async def test_unsupported_tab_shows_note_no_toast(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "services")
        shown: list[str] = []
        app.notify = lambda message, **options: shown.append(message)  # type: ignore[method-assign]
        for _ in range(2):
            error = AgentUnsupported("core1", "services.list",
                                     "systemctl is not installed on this device", -32004,
                                     {"kind": "unsupported"})
            app.post_message(TabLoaded("core1", "services", 0.0, error=error))
            await pilot.pause()
        note = app.query_one("#services-note", Static)
        assert note.display
        assert "systemctl is not installed on this device" in str(note.render())
        assert shown == []
        app.query_one("#tabs", TabbedContent).active = "logs"
        error = AgentUnsupported("core1", "journal.tail", "journald is not running", -32004,
                                 {"kind": "unsupported"})
        app.post_message(TabLoaded("core1", "logs", 0.0, error=error))
        await pilot.pause()
        assert shown == []
        note = str(app.query_one("#logs-note", Static).render())
        assert "Logs are not available on this device: journald is not running" in note
        # The source list waits for journal.files, so a device that cannot list shows none.
        assert not app.query_one("#logs-file", Select).display
        listing = {"journald": False, "truncated": False, "files": [
            {"name": "kern.log", "size": 2048, "mtime": 2.0},
            {"name": "auth.log", "size": 10, "mtime": 1.0}]}
        app.post_message(TabLoaded("core1", "logs.files", 0.0, value=listing))
        await pilot.pause()
        log_file = app.query_one("#logs-file", Select)
        assert log_file.display
        assert "Choose a file in /var/log" in str(app.query_one("#logs-note", Static).render())
        assert log_file.value == "-"
        log_file.value = "kern.log"
        await pilot.pause()
        assert app.log_files == {"core1": "kern.log"}
        app.post_message(TabLoaded("core1", "logs.files", 1.0, value=listing))
        await pilot.pause()
        assert log_file.value == "kern.log"
        log_file.value = "-"
        await pilot.pause()
        assert app.log_files == {}


async def test_device_remove_audited_once(tmp_path: Path) -> None:
    from textual.widgets import Button

    from mudmap_tui.store import audit

    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.query_one("#devices", DeviceTree).select_device("spare")
        await pilot.pause()
        await app.run_registered("device.remove")
        await pilot.pause()
        app.screen.query_one("#confirm", Button).press()
        await pilot.pause()
        assert "spare" not in app.fleet.devices
        entries = audit.list(app.db, device="spare", action="device.remove")
        assert len(entries) == 1


async def test_jump_host_offline_is_the_reason(tmp_path: Path) -> None:
    from mudmap_tui.ssh.errors import ConnectFailed, TimedOut
    from mudmap_tui.tui.messages import DeviceChecked

    app = snapshot_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(DeviceChecked("core1", 1.0, error=ConnectFailed(
            "core1", "connect", "Connection refused")))
        app.post_message(DeviceChecked("inner", 2.0, error=TimedOut("inner", "connect", 10)))
        await pilot.pause()
        status = app.fleet.status("inner")
        assert status.state.word == "unreachable"
        assert status.reason == "jump host core1 is offline"


async def test_overview_reason_wraps_at_80_columns(tmp_path: Path) -> None:
    from textual.widgets import DataTable

    app = snapshot_app(tmp_path)
    reason = "connection refused by 127.0.2.13 port 22; check that sshd runs and listens there"
    app.fleet.status("edge3").reason = reason
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.query_one("#devices", DeviceTree).select_device("edge3")
        await pilot.pause()
        table = app.query_one("#overview-table", DataTable)
        shown = str(table.get_row_at(1)[1])
        assert shown.replace("\n", " ") == reason
        assert "\n" in shown


WGQUICK_CONFIGS = [
    {"name": "office", "path": "/etc/wireguard/office.conf", "enabled": True, "running": False,
     "valid_name": True, "addresses": ["10.77.0.1/24"], "dns": [], "dns_search": [],
     "listen_port": 51877, "fwmark": None, "mtu": None, "table": None, "save_config": False,
     "has_private_key": True, "hooks": {"PostUp": ["iptables -A FORWARD -i %i -j ACCEPT"]},
     "peers": [{"public_key": "p" * 43 + "=", "endpoint": "[2001:db8::1]:51820",
                "allowed_ips": ["10.77.0.2/32"], "persistent_keepalive": "25",
                "preshared_key_set": True}],
     "duplicate_peers": [], "unknown_keys": []},
    {"name": "broken", "path": "/etc/wireguard/broken.conf", "enabled": False,
     "running": False, "valid_name": True,
     "error": "line 3: 'oops' is neither a [Section] nor Key = Value"},
]


async def test_wgquick_table_and_view(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    app.fleet.set_extra("core1", "wireguard", 0.0, {
        "interfaces": [], "configs": WGQUICK_CONFIGS, "configs_error": None})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "wireguard")
        table = app.query_one("#wgquick-table", WgQuickTable)
        assert [str(cell) for cell in table.cells_of("office") or ()] == [
            "office", "enabled", "not running", "10.77.0.1/24", "51877", "1", "-"]
        broken = table.cells_of("broken") or ()
        assert str(broken[-1]).startswith("invalid: line 3")
        assert "2 (v shows one)" in str(app.query_one("#wgquick-title", Static).render())
        table.focus()
        table.move_cursor(row=table.get_row_index("office"))
        await pilot.press("v")
        await pilot.pause()
        assert type(app.screen).__name__ == "TextViewScreen"
        text = app.screen.text  # type: ignore[attr-defined]
        assert "PublicKey = " + "p" * 43 + "=" in text
        assert "Endpoint = [2001:db8::1]:51820" in text
        assert "PostUp = iptables -A FORWARD -i %i -j ACCEPT" in text
        assert "PrivateKey = (set, not shown)" in text
        assert "PresharedKey = (set, not shown)" in text
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ != "TextViewScreen"


async def test_wgquick_read_failure_shown(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    app.fleet.set_extra("core1", "wireguard", 0.0, {
        "interfaces": [], "configs": None, "configs_error": "core1: permission denied"})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "wireguard")
        title = str(app.query_one("#wgquick-title", Static).render())
        assert title.endswith("cannot be read: core1: permission denied")
        assert app.query_one("#wgquick-table", WgQuickTable).row_count == 0


async def test_empty_wireguard_tab_points_to_interfaces(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    app.fleet.set_extra("core1", "wireguard", 0.0, {"interfaces": [], "configs": [],
                                                    "configs_error": None})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "wireguard")
        shown: list[str] = []
        app.notify = lambda message, **options: shown.append(message)  # type: ignore[method-assign]
        await pilot.press("n")
        await pilot.pause()
        assert shown == ["core1 has no WireGuard interface; create one in the Interfaces tab "
                         "with n and kind wireguard"]


async def test_service_key_without_systemd_says_why(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "services")
        app.fleet.status("core1").extras["services.unsupported"] = "systemd is not running"
        shown: list[str] = []
        app.notify = lambda message, **options: shown.append(message)  # type: ignore[method-assign]
        await pilot.press("s")
        await pilot.pause()
        assert shown == ["core1: services are not available: systemd is not running"]
