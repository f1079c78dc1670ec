"""Every dialog fits an 80x24 terminal and keeps keyboard focus inside the form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Button

from mudmap_tui.tui.dialogs.address_form import AddressFormScreen
from mudmap_tui.tui.dialogs.backup_diff import BackupDiffScreen
from mudmap_tui.tui.dialogs.client_config import ClientConfigScreen
from mudmap_tui.tui.dialogs.confirm import ConfirmScreen
from mudmap_tui.tui.dialogs.device_form import DeviceFormScreen
from mudmap_tui.tui.dialogs.file_transfer import FileTransferScreen
from mudmap_tui.tui.dialogs.hostkey import HostKeyScreen
from mudmap_tui.tui.dialogs.import_ssh import ImportScreen
from mudmap_tui.tui.dialogs.interface_form import InterfaceFormScreen, describe_settings
from mudmap_tui.tui.dialogs.onboard import OnboardScreen
from mudmap_tui.tui.dialogs.wg_peer_form import PeerFormScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp
from tests.tui.dialogs.test_interface_form import LINKS
from tests.tui.dialogs.test_wg_dialogs import INTERFACE, client_text

SSH_CONFIG = "".join(f"Host dev{number}\n    HostName 192.0.2.{number}\n" for number in range(30))


def dialogs(tmp_path: Path) -> dict[str, Screen[Any]]:
    config = tmp_path / "config"
    config.write_text(SSH_CONFIG)
    return {
        "address": AddressFormScreen("lab1", "eth0"),
        "client_config": ClientConfigScreen(client_text(), "wg0.conf"),
        "confirm": ConfirmScreen("Reboot lab1?", "Reboot 1 device.", typed="lab1"),
        "device": DeviceFormScreen(None, ["lab1"]),
        "download": FileTransferScreen("lab1", upload=False),
        "hostkey": HostKeyScreen("lab1", "192.0.2.1", "ssh-ed25519", "SHA256:" + "A" * 43),
        "import": ImportScreen(config),
        "interface_vxlan": InterfaceFormScreen("lab1", LINKS, kind="vxlan"),
        "interface_any": InterfaceFormScreen("lab1", LINKS),
        "onboard": OnboardScreen("lab1"),
        "peer": PeerFormScreen("lab1", INTERFACE),
    }


@pytest.mark.parametrize(
    "name",
    [
        "address",
        "client_config",
        "confirm",
        "device",
        "download",
        "hostkey",
        "import",
        "interface_vxlan",
        "interface_any",
        "onboard",
        "peer",
    ],
)
async def test_buttons_visible_at_80x24(tmp_path: Path, name: str) -> None:
    app = DialogApp(dialogs(tmp_path)[name])
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.pause()
        buttons = list(app.screen.query(Button))
        assert buttons
        width, height = SMALL_TERMINAL
        for button in buttons:
            region = button.region
            assert region.height > 0, f"{button.id} is not laid out"
            assert region.right <= width, f"{button.id} is cut off at the right"
            assert region.bottom <= height, f"{button.id} is below the screen"


async def test_backup_diff_fills_screen() -> None:
    app = DialogApp(BackupDiffScreen("diff", "+a\n-b\n"))
    async with app.run_test(size=SMALL_TERMINAL):
        region = app.screen.query_one("#dialog").region
        assert region.bottom <= SMALL_TERMINAL[1]
        assert region.right <= SMALL_TERMINAL[0]


async def test_device_form_tab_order() -> None:
    app = DialogApp(DeviceFormScreen(None, ["lab1"]))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        order = []
        for _ in range(11):
            assert app.screen.focused is not None
            order.append(app.screen.focused.id)
            await pilot.press("tab")
    assert order == [
        "field-name",
        "field-host",
        "field-port",
        "field-user",
        "field-identity_file",
        "field-jump_device",
        "field-jump",
        "field-groups",
        "field-notes",
        "cancel",
        "submit",
    ]


def test_settings_leave_out_peers() -> None:
    settings = {
        "public_key": "abc",
        "listen_port": 51820,
        "peers": [{"public_key": "x"}],
        "ports": ["eth1", "eth2"],
    }
    assert describe_settings(settings) == "public_key abc; listen_port 51820; ports eth1, eth2"
