"""The WireGuard peer form and the client config screen."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from mudmap_tui import qr, wg_client_config, wg_plan
from mudmap_tui.tui.dialogs.client_config import ClientConfigScreen
from mudmap_tui.tui.dialogs.confirm import ConfirmScreen
from mudmap_tui.tui.dialogs.wg_peer_form import PeerFormScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp, shown_errors, text_of

SERVER = wg_plan.generate_key_pair()
PEER = wg_plan.generate_key_pair()
NEW = wg_plan.generate_key_pair()
INTERFACE = {
    "interface": {
        "name": "wg0",
        "kind": "wireguard",
        "addresses": [
            {"family": "inet", "address": "10.8.0.1", "prefixlen": 24, "scope": "global"},
            {"family": "inet6", "address": "fd08::1", "prefixlen": 64, "scope": "global"},
        ],
        "wireguard": {
            "name": "wg0",
            "public_key": SERVER.public_key,
            "listen_port": 51820,
            "peers": [
                {
                    "public_key": PEER.public_key,
                    "allowed_ips": ["10.8.0.2/32", "fd08::2/128"],
                    "endpoint": None,
                    "persistent_keepalive": 0,
                }
            ],
        },
    }
}


def fill(app: DialogApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#field-{field}", Input).value = value


async def test_peer_form_suggests_free_addresses() -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL):
        value = app.screen.query_one("#field-allowed_ips", Input).value
        assert value == "10.8.0.3/32, fd08::3/128"
        assert not app.screen.query_one("#overlap-warning", Static).display


async def test_peer_form_generated_key_pair() -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.click("#generate")
        generated = app.screen.query_one("#field-public_key", Input).value
        fill(app, persistent_keepalive="25")
        await pilot.press("ctrl+s")
    [result] = app.results
    private_key = result.pop(wg_plan.CLIENT_PRIVATE_KEY)
    assert wg_plan.public_key_of(private_key) == generated
    assert result == {
        "name": "wg0",
        "public_key": generated,
        "allowed_ips": ["10.8.0.3/32", "fd08::3/128"],
        "persistent_keepalive": 25,
    }


async def test_peer_form_generate_by_keyboard() -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#field-public_key", Input).focus()
        await pilot.press("tab", "enter")
        assert app.screen.query_one("#field-public_key", Input).value != ""
        assert "Key pair generated" in text_of(app, "#key-note")


async def test_peer_form_bad_key_and_overlap() -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(
            app,
            public_key="abc",
            allowed_ips="10.8.0.0/24",
            endpoint="host:1",
            persistent_keepalive="70000",
        )
        await pilot.pause()
        warning = text_of(app, "#overlap-warning")
        assert warning.startswith("! warning: 10.8.0.0/24 overlaps 10.8.0.2/32")
        await pilot.press("ctrl+s")
        errors = shown_errors(app)
        assert set(errors) == {"public_key", "endpoint", "persistent_keepalive"}
        assert "invalid public key 'abc'" in errors["public_key"]
        assert "invalid endpoint 'host:1'" in errors["endpoint"]
        # Error lines are plain text: "[IPv6]" is not read as Textual markup and dropped.
        assert "[IPv6]:port" in errors["endpoint"]
        assert "invalid persistent keepalive 70000" in errors["persistent_keepalive"]
        assert app.results == []


async def test_peer_form_rejects_existing_peer_key() -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, public_key=PEER.public_key)
        await pilot.press("ctrl+s")
        assert "already has this peer" in shown_errors(app)["public_key"]


async def test_peer_form_typed_key_and_bad_cidr() -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, public_key=NEW.public_key, allowed_ips="10.8.0.9/40")
        await pilot.press("ctrl+s")
        assert "invalid allowed IPs '10.8.0.9/40'" in shown_errors(app)["allowed_ips"]
        fill(app, allowed_ips="10.8.0.9/32", endpoint="[2001:db8::9]:51820")
        await pilot.press("ctrl+s")
    assert app.results == [
        {
            "name": "wg0",
            "public_key": NEW.public_key,
            "allowed_ips": ["10.8.0.9/32"],
            "endpoint": "[2001:db8::9]:51820",
        }
    ]


async def test_peer_form_edit_returns_changes() -> None:
    peer = INTERFACE["interface"]["wireguard"]["peers"][0]
    app = DialogApp(PeerFormScreen("lab1", INTERFACE, existing_peer=peer))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert app.screen.query_one("#field-allowed_ips", Input).value == (
            "10.8.0.2/32, fd08::2/128"
        )
        assert not app.screen.query_one("#overlap-warning", Static).display
        fill(app, persistent_keepalive="25")
        await pilot.press("ctrl+s")
    assert app.results == [
        {"name": "wg0", "public_key": PEER.public_key, "persistent_keepalive": 25}
    ]


def client_text() -> str:
    return wg_client_config.render(
        wg_client_config.ClientConfig(
            private_key=NEW.private_key,
            addresses=["10.8.0.3/32"],
            server_public_key=SERVER.public_key,
            endpoint_host="192.0.2.1",
            endpoint_port=51820,
            allowed_ips=["10.8.0.0/24"],
        )
    )


async def test_client_config_saves_0600(tmp_path: Path) -> None:
    target = tmp_path / "wg0-laptop.conf"
    app = DialogApp(ClientConfigScreen(client_text(), str(target)))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert NEW.private_key in text_of(app, "#config-text")
        await pilot.press("ctrl+s")
        assert "mode 0600" in text_of(app, "#save-status")
        await pilot.press("escape")
    assert app.results == [target]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == client_text()


async def test_client_config_asks_before_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "wg0.conf"
    target.write_text("old\n")
    app = DialogApp(ClientConfigScreen(client_text(), str(target)))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert target.read_text() == "old\n"
        await pilot.press("ctrl+s")
        await pilot.press("tab", "enter")
        assert target.read_text() == client_text()


async def test_client_config_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "wg0.conf"
    app = DialogApp(ClientConfigScreen(client_text(), str(target)))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("ctrl+s")
        assert "does not exist" in shown_errors(app)["path"]
    assert not target.exists()


async def test_qr_too_small_says_so() -> None:
    app = DialogApp(ClientConfigScreen(client_text(), "wg0.conf"))
    async with app.run_test(size=SMALL_TERMINAL):
        message = text_of(app, "#qr")
        assert "too small" in message
        assert "this terminal has 80 by 24" in message


async def test_qr_drawn_when_it_fits() -> None:
    app = DialogApp(ClientConfigScreen(client_text(), "wg0.conf"))
    async with app.run_test(size=(100, 50)):
        drawn = text_of(app, "#qr").split("\n")
        width, height = qr.rendered_size(qr.make(client_text()))
        assert len(drawn) == height
        assert {len(line) for line in drawn} == {width}


async def test_client_config_names_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = DialogApp(ClientConfigScreen(client_text(), "wg-client.conf"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("ctrl+s")
        assert f"Saved to {tmp_path / 'wg-client.conf'}" in text_of(app, "#save-status")


@pytest.mark.parametrize(("button", "submitted"), [("submit", True), ("cancel", False)])
async def test_peer_form_buttons_dismiss_once(button: str, submitted: bool) -> None:
    app = DialogApp(PeerFormScreen("lab1", INTERFACE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, public_key=NEW.public_key, allowed_ips="10.8.0.9/32")
        await pilot.pause()
        await pilot.click(f"#{button}")
        await pilot.pause()
        # A second dismiss would pop the app's own screen and end the app with an error.
        assert app.is_running
        assert not isinstance(app.screen, PeerFormScreen)
    assert len(app.results) == 1
    assert (app.results[0] is not None) == submitted
