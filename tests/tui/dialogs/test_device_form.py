"""The device form: inline errors per field, and the Device it returns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device
from mudmap_tui.tui.dialogs.address_form import AddressFormScreen
from mudmap_tui.tui.dialogs.device_form import DeviceFormScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp, screen_text, shown_errors


def fill(app: DialogApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#field-{field}", Input).value = value


async def test_bad_port_and_name_shown_inline() -> None:
    app = DialogApp(DeviceFormScreen(None, ["lab1"]))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge;1", host="192.0.2.10", port="70000")
        await pilot.press("ctrl+s")
        errors = shown_errors(app)
        assert set(errors) == {"name", "port"}
        assert errors["port"] == "✗ invalid port 70000: must be 1 to 65535"
        assert "1 to 65535" in errors["port"]
        assert "invalid name 'edge;1'" in errors["name"]
        assert app.screen.focused is app.screen.query_one("#field-name")
        assert app.results == []


async def test_unknown_jump_device_rejected() -> None:
    app = DialogApp(DeviceFormScreen(None, ["lab1"]))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge1", host="192.0.2.10", jump="lab9")
        await pilot.press("ctrl+s")
        assert "no device has that name" in shown_errors(app)["jump"]


async def test_valid_device_dismisses() -> None:
    app = DialogApp(DeviceFormScreen(None, ["lab1"]))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge1", host="192.0.2.10", port="2222", user="ops", groups="edge, lab")
        app.screen.query_one("#field-jump_device", Select).value = "lab1"
        await pilot.pause()
        app.screen.query_one("#field-name", Input).focus()
        await pilot.press("enter")
    assert app.results == [
        Device(
            name="edge1",
            host="192.0.2.10",
            port=2222,
            user="ops",
            jump="lab1",
            groups=["edge", "lab"],
        )
    ]


async def test_errors_clear_after_fix() -> None:
    app = DialogApp(DeviceFormScreen(None, []))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge1", host="192.0.2.10", port="0")
        await pilot.press("ctrl+s")
        assert set(shown_errors(app)) == {"port"}
        fill(app, port="")
        await pilot.pause()
        # A changed value hides its field's old error before the next submit.
        assert shown_errors(app) == {}
        await pilot.press("ctrl+s")
    assert app.results == [Device(name="edge1", host="192.0.2.10")]


async def test_edit_prefills_and_keeps_inline_jump() -> None:
    existing = Device(
        name="core1",
        host="2001:db8::1",
        jump="ops@bastion.example.net:2222",
        groups=["core"],
        notes="rack 4",
    )
    app = DialogApp(DeviceFormScreen(existing, ["core1", "lab1"]))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert app.screen.query_one("#field-host", Input).value == "2001:db8::1"
        assert app.screen.query_one("#field-jump_device", Select).value is Select.NULL
        fill(app, host="2001:db8::2")
        await pilot.press("ctrl+s")
    assert app.results == [existing.model_copy(update={"host": "2001:db8::2"})]


async def test_escape_cancels_device_form() -> None:
    app = DialogApp(DeviceFormScreen(None, []))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("escape")
    assert app.results == [None]


async def test_address_form_bad_cidr() -> None:
    app = DialogApp(AddressFormScreen("lab1", "eth0"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press(*"10.0.0.300/24", "enter")
        assert "invalid address '10.0.0.300/24'" in shown_errors(app)["address"]
        fill(app, address="2001:DB8:0::1/64")
        await pilot.press("enter")
    assert app.results == ["2001:db8::1/64"]


async def test_errors_in_words_without_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = DialogApp(DeviceFormScreen(None, []))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert app.no_color
        fill(app, name="edge1", host="192.0.2.10", port="70000")
        await pilot.press("ctrl+s")
        assert "✗ invalid port 70000: must be 1 to 65535" in screen_text(app)


async def test_form_errors_match_cli(tmp_path: Path) -> None:
    app = DialogApp(DeviceFormScreen(None, []))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge1", host="192.0.2.10", port="70000")
        await pilot.press("ctrl+s")
        form_error = shown_errors(app)["port"].removeprefix("✗ ")
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "mudmap_tui",
            "--db",
            str(tmp_path / "inventory.db"),
            "device",
            "add",
            "edge1",
            "192.0.2.10",
            "--port",
            "70000",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"mudmap: {form_error}"


async def test_form_device_stored(tmp_path: Path) -> None:
    app = DialogApp(DeviceFormScreen(None, []))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge1", host="2001:DB8::10", groups="edge")
        await pilot.press("ctrl+s")
    [device] = app.results
    db = open_database(tmp_path / "inventory.db")
    try:
        DeviceStore(db).add(device)
        rows = list(db.query("SELECT name, host FROM devices"))
    finally:
        db.close()
    assert rows == [{"name": "edge1", "host": "2001:db8::10"}]


async def test_group_with_space_rejected_inline() -> None:
    app = DialogApp(DeviceFormScreen(None, []))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="edge1", host="192.0.2.10", groups="Edge,test grp")
        await pilot.press("ctrl+s")
        errors = shown_errors(app)
        assert "test grp" in errors["groups"]
        assert app.results == []
