"""Handlers open their forms with what the user needs: the right field, the right data."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from mudmap_tui.tui.app import MudmapApp
from mudmap_tui.tui.widgets.device_tree import DeviceTree
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
    app.fleet.set_extra("core1", "wireguard", 0.0, [
        {"name": "wg0", "public_key": "k" * 43 + "=", "listen_port": 51820, "peers": []}])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app, "wireguard")
        await pilot.press("n")
        await pilot.pause()
        assert type(app.screen).__name__ == "PeerFormScreen"
        text = " ".join(str(static.render()) for static in app.screen.query("Static"))
        assert "has no address" not in text
        assert app.screen.query_one("#field-allowed_ips", Input).value == "10.8.0.2/32"
