"""Confirmation and host key dialogs."""

from __future__ import annotations

from textual.widgets import Button

from mudmap_tui.tui.dialogs.confirm import ConfirmScreen
from mudmap_tui.tui.dialogs.hostkey import HostKeyScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp, text_of

FINGERPRINT = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"


async def test_typed_confirm_enables_on_exact_text() -> None:
    app = DialogApp(ConfirmScreen("Reboot lab1", "Reboot 1 device: lab1.", typed="lab1"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        confirm = app.screen.query_one("#confirm", Button)
        assert confirm.disabled
        await pilot.press("l", "a", "b")
        assert confirm.disabled
        await pilot.press("enter")
        assert app.results == []
        await pilot.press("1")
        assert not confirm.disabled
        await pilot.press("2")
        assert confirm.disabled
        await pilot.press("backspace", "enter")
    assert app.results == [True]


async def test_typed_confirm_case_sensitive() -> None:
    app = DialogApp(ConfirmScreen("Shut down", "Shut down lab1.", typed="lab1"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("L", "A", "B", "1")
        assert app.screen.query_one("#confirm", Button).disabled
        await pilot.press("escape")
    assert app.results == [False]


async def test_plain_confirm_focuses_cancel() -> None:
    app = DialogApp(ConfirmScreen("Delete", "Delete 3 interfaces on 2 devices?"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert app.screen.focused is not None
        assert app.screen.focused.id == "cancel"
        assert "3 interfaces on 2 devices" in text_of(app, ".dialog-body")
        await pilot.press("enter")
    assert app.results == [False]


async def test_plain_confirm_tab_to_confirm() -> None:
    app = DialogApp(ConfirmScreen("Delete", "Delete br0?"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("tab", "enter")
    assert app.results == [True]


async def test_hostkey_shows_full_fingerprint() -> None:
    app = DialogApp(HostKeyScreen("lab1", "10.0.0.2", "ssh-ed25519", FINGERPRINT))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert text_of(app, "#fingerprint") == FINGERPRINT
        assert app.screen.focused is not None
        assert app.screen.focused.id == "reject"
        await pilot.press("enter")
    assert app.results == [False]


async def test_hostkey_accept_by_keyboard() -> None:
    app = DialogApp(HostKeyScreen("lab1", "10.0.0.2", "ssh-ed25519", FINGERPRINT))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("tab", "enter")
    assert app.results == [True]


async def test_hostkey_escape_rejects() -> None:
    app = DialogApp(HostKeyScreen("lab1", "10.0.0.2", "ssh-ed25519", FINGERPRINT))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("escape")
    assert app.results == [False]
