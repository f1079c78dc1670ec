"""Form results sent to a real agent in a throwaway namespace: the agent accepts them as-is."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Select

from mudmap_tui import wg_plan
from mudmap_tui.interface_params import AFTER_KEY
from mudmap_tui.tui.dialogs.interface_form import InterfaceFormScreen
from mudmap_tui.tui.dialogs.wg_peer_form import PeerFormScreen
from tests.agent.netns_fixtures import addresses, agent, kernel_kinds, links, netns, run_ip
from tests.agent_client import AgentCallError, AgentProcess
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp

# The fixtures come from the agent's own suite; naming them here makes pytest find them.
__all__ = ["agent", "kernel_kinds", "netns"]

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

Filler = Callable[[Screen[Any]], None]


async def submit(screen: Screen[Any], fill: Filler) -> Any:
    """Fill a dialog, submit it with ctrl+s and return what it dismissed with."""
    app = DialogApp(screen)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app.screen)
        await pilot.pause()
        await pilot.press("ctrl+s")
    assert len(app.results) == 1, "the dialog did not close; its input was rejected"
    return app.results[0]


def set_values(**values: Any) -> Filler:
    def fill(screen: Screen[Any]) -> None:
        for field, value in values.items():
            widget = screen.query_one(f"#field-{field}")
            assert isinstance(widget, (Input, Select, Checkbox))
            widget.value = value

    return fill


def send(agent: AgentProcess, method: str, params: dict[str, Any]) -> None:
    """Make the main call, then the follow-up calls the form put under AFTER_KEY."""
    params = dict(params)
    after = params.pop(AFTER_KEY, {})
    agent.call(method, **params)
    for follow_up, follow_params in after.items():
        agent.call(follow_up, **follow_params)


def interface_list(agent: AgentProcess) -> list[dict[str, Any]]:
    return agent.call("interfaces.list")["interfaces"]


async def test_bridge_form_creates_bridge(netns: str, agent: AgentProcess) -> None:
    screen = InterfaceFormScreen("ns", interface_list(agent), kind="bridge")
    fill = set_values(
        name="brh7",
        **{"bridge-stp": True},
        state="up",
        mtu="1400",
        addresses="192.0.2.1/24, 2001:db8::1/64",
    )
    send(agent, "interfaces.create", await submit(screen, fill))
    link = links(netns)["brh7"]
    assert link["linkinfo"]["info_kind"] == "bridge"
    assert link["linkinfo"]["info_data"]["stp_state"] == 1
    assert link["mtu"] == 1400
    assert "UP" in link["flags"]
    assert "192.0.2.1/24" in addresses(netns, "brh7")
    assert "2001:db8::1/64" in addresses(netns, "brh7")


KIND_INPUT: dict[str, dict[str, Any]] = {
    "veth": {"name": "vh7a", "veth-peer": "vh7b"},
    "vxlan": {"name": "vxh7", "vxlan-vni": "42", "vxlan-remote": "192.0.2.20"},
    "macvlan": {"name": "mvh7", "macvlan-parent": "base0"},
    "vlan": {"name": "vlh7", "vlan-parent": "base0", "vlan-id": "10"},
    "bond": {"name": "bdh7", "bond-mode": "active-backup", "bond-miimon": "100"},
    "dummy": {"name": "dmh7"},
}


@pytest.mark.parametrize("kind", sorted(KIND_INPUT))
async def test_kind_form_matches_kernel(
    netns: str, agent: AgentProcess, kernel_kinds: dict[str, bool], kind: str
) -> None:
    run_ip(netns, "link", "add", "base0", "type", "veth", "peer", "name", "base1")
    screen = InterfaceFormScreen("ns", interface_list(agent), kind=kind)
    params = await submit(screen, set_values(**KIND_INPUT[kind]))
    name = KIND_INPUT[kind]["name"]
    before = set(links(netns))
    if kernel_kinds[kind]:
        send(agent, "interfaces.create", params)
        assert links(netns)[name]["linkinfo"]["info_kind"] == kind
        return
    with pytest.raises(AgentCallError) as caught:
        send(agent, "interfaces.create", params)
    assert caught.value.kind == "unsupported"
    assert set(links(netns)) == before


async def test_edit_form_updates_link(netns: str, agent: AgentProcess) -> None:
    run_ip(netns, "link", "add", "edh7", "type", "bridge")
    run_ip(netns, "addr", "add", "198.51.100.1/24", "dev", "edh7")
    existing = agent.call("interfaces.get", name="edh7")
    screen = InterfaceFormScreen("ns", interface_list(agent), existing=existing)
    fill = set_values(name="edh8", mtu="1300", addresses="198.51.100.2/24")
    params = await submit(screen, fill)
    assert params["name"] == "edh7"
    send(agent, "interfaces.update", params)
    renamed = links(netns)["edh8"]
    assert renamed["mtu"] == 1300
    assert addresses(netns, "edh8") == ["198.51.100.2/24"]
    assert "edh7" not in links(netns)


async def test_peer_form_adds_peer(netns: str, agent: AgentProcess) -> None:
    name = f"wgh7{os.getpid() % 100000}"
    agent.call("wg.create", name=name, listen_port=51820)
    try:
        run_ip(netns, "addr", "add", "10.77.0.1/24", "dev", name)
        interface = agent.call("interfaces.get", name=name)

        def generate(screen: Screen[Any]) -> None:
            screen.query_one("#generate").press()

        params = await submit(PeerFormScreen("ns", interface), generate)
        private_key = params.pop(wg_plan.CLIENT_PRIVATE_KEY)
        assert params["allowed_ips"] == ["10.77.0.2/32"]
        agent.call("wg.peer.add", **params)
        dump = subprocess.run(
            ["ip", "netns", "exec", netns, "wg", "show", name, "dump"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        peer = dump[1].split("\t")
        assert peer[0] == wg_plan.public_key_of(private_key)
        assert peer[3] == "10.77.0.2/32"
        described = json.dumps(agent.call("wg.get", name=name))
        assert private_key not in described
    finally:
        agent.call("wg.delete", name=name)
