"""The interface form: per-kind fields, inline errors, create and update params."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, Select

from mudmap_tui.tui.dialogs.interface_form import InterfaceFormScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp, screen_text, shown_errors

LINKS = {
    "interfaces": [
        {"name": "lo", "kind": "loopback"},
        {"name": "eth0", "kind": "physical"},
        {"name": "br0", "kind": "bridge"},
    ]
}
BRIDGE = {
    "interface": {
        "name": "br0",
        "kind": "bridge",
        "mtu": 1500,
        "admin_state": "down",
        "addresses": [
            {"family": "inet", "address": "192.0.2.1", "prefixlen": 24, "scope": "global"},
            {"family": "inet6", "address": "fe80::1", "prefixlen": 64, "scope": "link"},
        ],
        "bridge": {"stp": False, "ports": []},
    }
}


def fill(app: DialogApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#field-{field}", Input).value = value


def visible_fields(app: DialogApp) -> set[str]:
    """Return the fields shown on screen: the widget and all its containers displayed."""
    fields = set()
    for widget in app.screen.query("*"):
        if not (widget.id or "").startswith("field-"):
            continue
        if all(
            node.display
            for node in widget.ancestors_with_self
            if node is not app.screen and hasattr(node, "display")
        ):
            fields.add((widget.id or "").removeprefix("field-"))
    return fields


async def test_vlan_shows_only_its_fields() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS["interfaces"], kind="vlan"))
    async with app.run_test(size=SMALL_TERMINAL):
        assert visible_fields(app) == {
            "name",
            "vlan-parent",
            "vlan-id",
            "vlan-protocol",
            "mtu",
            "state",
            "addresses",
        }


async def test_vlan_id_and_mtu_errors() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS["interfaces"], kind="vlan"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="eth0.5000", **{"vlan-id": "5000"}, mtu="10", addresses="10.0.0.1/33")
        app.screen.query_one("#field-vlan-parent", Select).value = "eth0"
        await pilot.press("ctrl+s")
        errors = shown_errors(app)
        assert set(errors) == {"vlan-id", "mtu", "addresses"}
        assert "invalid id 5000: must be from 1 to 4094" in errors["vlan-id"]
        assert "invalid mtu 10: must be from 68 to 65535" in errors["mtu"]
        assert "invalid address '10.0.0.1/33'" in errors["addresses"]
        assert app.results == []


async def test_vlan_without_parent() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="vlan"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="eth0.10", **{"vlan-id": "10"})
        await pilot.press("ctrl+s")
        assert "needs a parent link" in shown_errors(app)["vlan-parent"]


async def test_valid_vlan_returns_params() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="vlan"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#field-vlan-parent", Select).value = "eth0"
        app.screen.query_one("#field-state", Select).value = "up"
        fill(
            app,
            name="eth0.10",
            **{"vlan-id": "10"},
            mtu="1496",
            addresses="192.0.2.10/24, 2001:DB8::10/64",
        )
        await pilot.press("ctrl+s")
    assert app.results == [
        {
            "kind": "vlan",
            "name": "eth0.10",
            "parent": "eth0",
            "id": 10,
            "protocol": "802.1Q",
            "mtu": 1496,
            "state": "up",
            "after": {
                "addresses.replace": {
                    "name": "eth0.10",
                    "addresses": ["192.0.2.10/24", "2001:db8::10/64"],
                }
            },
        }
    ]


async def test_kind_picker_switches_fields() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("ctrl+s")
        assert "missing kind" in shown_errors(app)["kind"]
        app.screen.query_one("#field-kind", Select).value = "bridge"
        await pilot.pause()
        assert "kind" not in shown_errors(app)
        assert "bridge-stp" in visible_fields(app)
        assert "vlan-id" not in visible_fields(app)
        app.screen.query_one("#field-bridge-stp", Checkbox).value = True
        fill(app, name="br1")
        await pilot.press("ctrl+s")
    assert app.results == [{"kind": "bridge", "name": "br1", "stp": True}]


async def test_veth_peer_same_name() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="veth"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="v0", **{"veth-peer": "v0"})
        await pilot.press("ctrl+s")
        assert "must differ from name" in shown_errors(app)["veth-peer"]


async def test_vxlan_and_macvlan_params() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="vxlan"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(
            app,
            name="vx0",
            **{"vxlan-vni": "42", "vxlan-remote": "192.0.2.20", "vxlan-port": "8472"},
        )
        await pilot.press("ctrl+s")
    assert app.results == [
        {"kind": "vxlan", "name": "vx0", "vni": 42, "remote": "192.0.2.20", "port": 8472}
    ]
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="macvlan"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#field-macvlan-parent", Select).value = "eth0"
        fill(app, name="mv0")
        await pilot.press("ctrl+s")
    assert app.results == [{"kind": "macvlan", "name": "mv0", "parent": "eth0", "mode": "bridge"}]


async def test_bond_miimon_error() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="bond"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="bond0", **{"bond-miimon": "-5"})
        await pilot.press("ctrl+s")
        assert "invalid miimon -5" in shown_errors(app)["bond-miimon"]


async def test_wireguard_mtu_follows_create() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="wireguard"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(
            app,
            name="wg0",
            **{"wireguard-listen_port": "51820"},
            mtu="1420",
            addresses="10.8.0.1/24",
        )
        await pilot.press("ctrl+s")
    assert app.results == [
        {
            "kind": "wireguard",
            "name": "wg0",
            "listen_port": 51820,
            "after": {
                "interfaces.update": {"name": "wg0", "mtu": 1420},
                "addresses.replace": {"name": "wg0", "addresses": ["10.8.0.1/24"]},
            },
        }
    ]


async def test_bad_interface_name() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="dummy"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="a-name-that-is-too-long")
        await pilot.press("ctrl+s")
        assert "must be 1 to 15 bytes long" in shown_errors(app)["name"]


async def test_edit_returns_only_changes() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, existing=BRIDGE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert app.screen.query_one("#field-addresses", Input).value == "192.0.2.1/24"
        assert app.screen.query_one("#field-mtu", Input).value == "1500"
        app.screen.query_one("#field-state", Select).value = "up"
        await pilot.press("ctrl+s")
    assert app.results == [{"name": "br0", "state": "up"}]


async def test_edit_rename_and_readdress() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, existing=BRIDGE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="br9", mtu="9000", addresses="192.0.2.1/24, 198.51.100.1/24")
        await pilot.press("ctrl+s")
    assert app.results == [
        {
            "name": "br0",
            "new_name": "br9",
            "mtu": 9000,
            "after": {
                "addresses.replace": {
                    "name": "br9",
                    "addresses": ["192.0.2.1/24", "198.51.100.1/24"],
                }
            },
        }
    ]


async def test_create_by_keyboard_only() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert app.screen.focused is app.screen.query_one("#field-kind")
        # The kind list opens on enter; veth is the sixth kind.
        await pilot.press("enter", *["down"] * 6, "enter")
        assert app.screen.query_one("#field-kind", Select).value == "veth"
        await pilot.press("tab", *"v0", "tab", *"v1", "enter")
    assert app.results == [{"kind": "veth", "name": "v0", "peer": "v1"}]


async def test_stp_box_marked_only_when_on() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="bridge"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        box = app.screen.query_one("#field-bridge-stp", Checkbox)
        assert box.BUTTON_INNER == " "
        box.focus()
        await pilot.press("space")
        assert box.value
        assert box.BUTTON_INNER == "X"
        assert "▐X▌ enable STP" in screen_text(app)


async def test_mtu_key_focuses_mtu_not_name() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS["interfaces"], BRIDGE, focus="mtu"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#field-mtu")
        await pilot.press("end", *["backspace"] * 4, *"9000", "enter")
    assert app.results == [{"name": "br0", "mtu": 9000}]


async def test_edit_without_focus_starts_in_name() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS["interfaces"], BRIDGE))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#field-name")


async def test_parent_list_leaves_out_loopback() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS["interfaces"], kind="macvlan"))
    async with app.run_test(size=SMALL_TERMINAL):
        select = app.screen.query_one("#field-macvlan-parent", Select)
        offered = [value for _label, value in select._options if isinstance(value, str)]
    assert offered == ["eth0", "br0"]


async def test_wireguard_listen_port_defaults_to_51820() -> None:
    app = DialogApp(InterfaceFormScreen("lab1", LINKS, kind="wireguard"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, name="wg0")
        await pilot.press("ctrl+s")
    assert app.results[0]["listen_port"] == 51820
