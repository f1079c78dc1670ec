"""Checks that reject a change at plan time on lab devices, and what a plan predicts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mudmap_tui.changes import ChangeRunner
from mudmap_tui.cli.main import main
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.errors import AgentCallError
from mudmap_tui.store import audit
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from tests.changes.conftest import link
from tests.ssh.conftest import lab_inventory

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

GUARD = 20.0
DEVICE = "lab1"


def op(method: str, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def new_public_key() -> str:
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True)
    public = subprocess.run(["wg", "pubkey"], input=private.stdout, capture_output=True,
                            text=True, check=True)
    return public.stdout.strip()


def wg_lines(lab: Lab, name: str, field: str) -> dict[str, str]:
    """Return ``wg show NAME FIELD`` as public key -> value."""
    output = lab.run(DEVICE, ["wg", "show", name, field]).stdout
    return dict(line.split("\t") for line in output.splitlines() if "\t" in line)


def change_records(lab: Lab) -> list[str]:
    result = lab.run(DEVICE, ["ls", "/var/lib/mudmap/changes"], check=False)
    return sorted(result.stdout.split())


async def rejected(runner: ChangeRunner, ops: list[dict[str, Any]],
                   same_names: list[dict[str, Any]] | None = None) -> AgentCallError:
    """Send ``ops`` to changes.plan and to changes.apply; both must reject them alike.

    changes.apply compares the state hash before it checks the links, so ``same_names``
    are valid operations on the same interfaces, whose plan supplies a matching hash.
    Without them the hash is a dummy, which suits errors in the params alone.
    """
    with pytest.raises(AgentCallError) as planned:
        await runner.plan(DEVICE, ops)
    state_hash = "0" * 64
    if same_names is not None:
        state_hash = (await runner.plan(DEVICE, same_names)).state_hash
    with pytest.raises(AgentCallError) as applied:
        await runner.call(DEVICE, "changes.apply", {"ops": ops, "state_hash": state_hash})
    assert applied.value.agent_kind == planned.value.agent_kind
    assert applied.value.message == planned.value.message
    return planned.value


@pytest.fixture
async def wireguard(changes_lab: Lab, runner: ChangeRunner) -> Any:
    """A userspace WireGuard interface wgc on lab1, deleted after the test."""
    plan = await runner.plan(DEVICE, [op("wg.create", name="wgc", listen_port=51940)])
    assert (await runner.apply(plan, timeout=GUARD)).status == "confirmed"
    yield "wgc"
    cleanup = await runner.plan(DEVICE, [op("wg.delete", name="wgc")])
    await runner.apply(cleanup, timeout=GUARD)


@pytest.mark.parametrize(("ops", "same_names", "kind", "expected"), [
    ([op("interfaces.delete", name="lo")], [op("interfaces.update", name="lo", state="up")],
     "invalid_params",
     "ops[0] interfaces.delete: lo is a loopback interface and cannot be deleted"),
    ([op("interfaces.create", kind="wireguard", name="wgx", listen_port=70000)], None,
     "invalid_params", "ops[0] interfaces.create: invalid listen_port 70000"),
    ([op("interfaces.update", name="eth0", mtu=70000)], None, "invalid_params",
     "ops[0] interfaces.update: invalid mtu 70000"),
    ([op("interfaces.create", kind="bridge", name="all")], None, "invalid_params",
     "ops[0] interfaces.create: invalid name 'all'"),
    ([op("interfaces.update", name="eth0", mtu=1400), op("interfaces.delete", name="nosuch")],
     [op("interfaces.update", name="eth0", mtu=1400),
      op("interfaces.create", kind="bridge", name="nosuch")],
     "not_found", "ops[1] interfaces.delete: interface nosuch not found"),
])
async def test_input_errors_rejected_before_guard(changes_lab: Lab, runner: ChangeRunner,
                                                  ops: list[dict[str, Any]],
                                                  same_names: list[dict[str, Any]] | None,
                                                  kind: str, expected: str) -> None:
    records = change_records(changes_lab)
    mtu = link(changes_lab, DEVICE, "eth0")["mtu"]  # type: ignore[index]
    error = await rejected(runner, ops, same_names)
    assert error.agent_kind == kind
    assert error.message.startswith(expected)
    # No change was armed, so none was applied, rolled back or recorded.
    assert change_records(changes_lab) == records
    assert link(changes_lab, DEVICE, "eth0")["mtu"] == mtu  # type: ignore[index]
    assert link(changes_lab, DEVICE, "wgx") is None
    assert link(changes_lab, DEVICE, "nosuch") is None
    assert (await runner.status(DEVICE))["pending"] == []


def test_cli_exits_2_for_loopback_delete(changes_lab: Lab, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    db_path = tmp_path / "inventory.db"
    db = open_database(db_path)
    DeviceStore(db).add(next(d for d in lab_inventory(changes_lab) if d.name == DEVICE))
    db.close()
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"ops": [op("interfaces.delete", name="lo")]}))
    status = main(["--db", str(db_path), "changes", "apply", DEVICE, "--file", str(plan),
                   "--accept-new"])
    assert status == 2
    assert "lo is a loopback interface and cannot be deleted" in capsys.readouterr().err
    db = open_database(db_path)
    try:
        actions = [entry.action for entry in audit.list(db, device=DEVICE)]
    finally:
        db.close()
    assert "change.apply" not in actions


async def test_own_public_key_as_peer_rejected(changes_lab: Lab, runner: ChangeRunner,
                                               wireguard: str) -> None:
    own_key = changes_lab.run(DEVICE, ["wg", "show", wireguard, "public-key"]).stdout.strip()
    error = await rejected(runner,
                           [op("wg.peer.add", name=wireguard, public_key=own_key,
                               allowed_ips=["10.94.0.9/32"])],
                           [op("wg.set", name=wireguard, listen_port=51940)])
    assert error.agent_kind == "invalid_params"
    assert f"that is {wireguard}'s own public key" in error.message
    assert "vanished" not in error.message


async def test_bridge_as_port_of_bridge_rejected(changes_lab: Lab,
                                                 runner: ChangeRunner) -> None:
    setup = await runner.plan(DEVICE, [op("interfaces.create", kind="bridge", name="brouter"),
                                       op("interfaces.create", kind="bridge", name="brinner")])
    assert (await runner.apply(setup, timeout=GUARD)).status == "confirmed"
    try:
        cases = [
            ([op("interfaces.create", kind="bridge", name="brnew", master="brouter")],
             [op("interfaces.create", kind="bridge", name="brnew"),
              op("interfaces.update", name="brouter", state="down")]),
            ([op("interfaces.update", name="brinner", master="brouter")],
             [op("interfaces.update", name="brinner", state="down"),
              op("interfaces.update", name="brouter", state="down")]),
        ]
        for ops, same_names in cases:
            error = await rejected(runner, ops, same_names)
            assert error.agent_kind == "invalid_params"
            assert "a bridge cannot be a port of another bridge" in error.message
            assert "ELOOP" not in error.message
        assert link(changes_lab, DEVICE, "brnew") is None
        assert link(changes_lab, DEVICE, "brinner").get("master") is None  # type: ignore[union-attr]
    finally:
        cleanup = await runner.plan(DEVICE, [op("interfaces.delete", name="brouter"),
                                             op("interfaces.delete", name="brinner")])
        await runner.apply(cleanup, timeout=GUARD)


def wireguard_change(plan_diff: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (entry,) = [item for item in plan_diff if item["name"] == name]
    (change,) = [item for item in entry["changes"] if item["field"] == "wireguard"]
    return change


def peers_by_key(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {peer["public_key"]: peer for peer in state["peers"]}


async def test_plan_shows_allowed_ip_move(changes_lab: Lab, runner: ChangeRunner,
                                          wireguard: str) -> None:
    holder, taker = new_public_key(), new_public_key()
    setup = await runner.plan(DEVICE, [
        op("wg.peer.add", name=wireguard, public_key=holder,
           allowed_ips=["10.94.0.2/32", "10.94.1.0/24"], endpoint="10.0.0.9:51820"),
        op("wg.peer.add", name=wireguard, public_key=taker, allowed_ips=["10.94.0.3/32"],
           endpoint="[fd00:94::3]:51820"),
    ])
    assert (await runner.apply(setup, timeout=GUARD)).status == "confirmed"

    plan = await runner.plan(DEVICE, [
        op("wg.peer.update", name=wireguard, public_key=taker, allowed_ips=["10.94.0.2/32"],
           endpoint="[fd00:94::4]:51821")])
    assert plan.warnings == [f"allowed IP 10.94.0.2/32 moves from peer {holder[:8]}\u2026 to "
                             f"peer {taker[:8]}\u2026 on {wireguard}"]
    change = wireguard_change(plan.diff, wireguard)
    before, after = peers_by_key(change["before"]), peers_by_key(change["after"])
    assert after[holder]["allowed_ips"] == ["10.94.1.0/24"]
    assert after[taker]["allowed_ips"] == ["10.94.0.2/32"]
    # Endpoints read from the device and endpoints from the params look alike.
    assert before[holder]["endpoint"] == "10.0.0.9:51820"
    assert before[taker]["endpoint"] == "[fd00:94::3]:51820"
    assert after[taker]["endpoint"] == "[fd00:94::4]:51821"

    assert (await runner.apply(plan, timeout=GUARD)).status == "confirmed"
    # The device agrees with the prediction.
    allowed = wg_lines(changes_lab, wireguard, "allowed-ips")
    assert allowed[holder] == "10.94.1.0/24"
    assert allowed[taker] == "10.94.0.2/32"


async def test_plan_warns_ipv6_lost_on_down(changes_lab: Lab, runner: ChangeRunner) -> None:
    for argv in (["ip", "link", "add", "brv6", "type", "bridge"],
                 ["ip", "link", "set", "brv6", "up"],
                 ["ip", "address", "add", "fd00:77::1/64", "dev", "brv6", "nodad"]):
        changes_lab.run(DEVICE, argv)
    try:
        plan = await runner.plan(DEVICE, [op("interfaces.update", name="brv6", state="down")])
        assert len(plan.warnings) == 1
        assert plan.warnings[0].startswith(
            "setting brv6 down removes its IPv6 addresses fd00:77::1/64")
        # The kernel really drops the address, as the warning states.
        changes_lab.run(DEVICE, ["ip", "link", "set", "brv6", "down"])
        changes_lab.run(DEVICE, ["ip", "link", "set", "brv6", "up"])
        shown = changes_lab.run(DEVICE, ["ip", "-6", "address", "show", "dev", "brv6"]).stdout
        assert "fd00:77::1" not in shown
    finally:
        changes_lab.run(DEVICE, ["ip", "link", "del", "brv6"], check=False)
