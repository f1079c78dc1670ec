"""Guarded changes on real lab devices: rollback of cut paths, confirm, conflicts, kills."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlite_utils import Database

from mudmap_tui.changes import ChangeConflict, ChangeError, ChangeRunner
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.agent_channel import default_bundle
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store import audit
from tests.changes.conftest import addresses, kernel_supports, link, wait_until
from tests.ssh.conftest import trusting_pool

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

GUARD = 6.0
# Changes the tests expect to confirm get more time: a new SSH connection and agent start
# take longer on a loaded machine.
CONFIRMED_GUARD = 20.0
# Seconds the device may take past the guard's deadline to finish restoring.
ROLLBACK_BOUND = GUARD + 10.0


def op(method: str, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def mode(lab: Lab, device: str, path: str) -> str | None:
    result = lab.run(device, ["stat", "-c", "%a", path], check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def default_route(lab: Lab, device: str) -> list[dict[str, Any]]:
    return json.loads(lab.run(device, ["ip", "-j", "route", "show", "default"]).stdout)


def uplink_address(lab: Lab, device: str) -> str:
    found = addresses(link(lab, device, "eth0"))
    assert found, "eth0 has no address"
    return next(a for a in found if ":" not in a)


async def test_uplink_address_removal_rolls_back(changes_lab: Lab, runner: ChangeRunner,
                                                 db: Database) -> None:
    before = uplink_address(changes_lab, "lab1")
    route = default_route(changes_lab, "lab1")
    assert route, "lab1 has no default route to start with"
    plan = await runner.plan("lab1", [op("addresses.remove", name="eth0", address=before)])
    assert plan.diff[0]["name"] == "eth0"
    outcome = await runner.apply(plan, timeout=GUARD)
    assert wait_until(lambda: before in addresses(link(changes_lab, "lab1", "eth0")),
                      ROLLBACK_BOUND)
    assert outcome.status == "rolled_back"
    assert default_route(changes_lab, "lab1") == route
    # The pooled connection works again without anyone reconnecting it by hand.
    result = await runner.call("lab1", "interfaces.get", {"name": "eth0"})
    assert result["interface"]["admin_state"] == "up"
    actions = [entry.action for entry in audit.list(db, device="lab1")]
    assert "change.rollback" in actions
    assert "change.plan" in actions


async def test_uplink_down_rolls_back(changes_lab: Lab, runner: ChangeRunner) -> None:
    route = default_route(changes_lab, "lab1")
    assert route, "lab1 has no default route to start with"
    plan = await runner.plan("lab1", [op("interfaces.update", name="eth0", state="down")])
    outcome = await runner.apply(plan, timeout=GUARD)
    assert wait_until(lambda: "UP" in (link(changes_lab, "lab1", "eth0") or {}).get("flags", []),
                      ROLLBACK_BOUND)
    assert outcome.status == "rolled_back"
    # The kernel dropped the default route when eth0 went down; the rollback adds it back.
    assert default_route(changes_lab, "lab1") == route
    result = await runner.call("lab1", "interfaces.get", {"name": "eth0"})
    assert result["interface"]["admin_state"] == "up"


async def test_uplink_mtu_68_rolls_back(changes_lab: Lab, runner: ChangeRunner) -> None:
    plan = await runner.plan("lab1", [op("interfaces.update", name="eth0", mtu=68)])
    outcome = await runner.apply(plan, timeout=GUARD)
    assert wait_until(lambda: (link(changes_lab, "lab1", "eth0") or {}).get("mtu") == 1500,
                      ROLLBACK_BOUND)
    assert outcome.status == "rolled_back"
    result = await runner.call("lab1", "interfaces.get", {"name": "eth0"})
    assert result["interface"]["mtu"] == 1500


async def test_confirmed_change_stays(changes_lab: Lab, runner: ChangeRunner,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_pools: list[ConnectionPool] = []
    make_fresh = runner.pool.fresh

    def counting_fresh() -> ConnectionPool:
        fresh_pools.append(make_fresh())
        return fresh_pools[-1]

    monkeypatch.setattr(runner.pool, "fresh", counting_fresh)
    plan = await runner.plan("lab2", [op("interfaces.create", kind="bridge", name="brok",
                                         state="up")])
    outcome = await runner.apply(plan, timeout=CONFIRMED_GUARD)
    assert outcome.status == "confirmed"
    # The confirm went over a connection of its own, not the pooled one.
    assert len(fresh_pools) == 1
    pooled = runner.pool.cached("lab2")
    assert pooled is not None and pooled.connect_count == 1
    await asyncio.sleep(CONFIRMED_GUARD + 2)
    assert link(changes_lab, "lab2", "brok") is not None
    status = await runner.status("lab2")
    assert status["pending"] == []
    cleanup = await runner.plan("lab2", [op("interfaces.delete", name="brok")])
    assert (await runner.apply(cleanup, timeout=CONFIRMED_GUARD)).status == "confirmed"
    assert link(changes_lab, "lab2", "brok") is None


async def test_created_links_gone_after_expiry(changes_lab: Lab, runner: ChangeRunner) -> None:
    plan = await runner.plan("lab2", [
        op("interfaces.create", kind="bridge", name="brx", state="up"),
        op("interfaces.create", kind="macvlan", name="mvx", parent="eth0", state="up"),
        op("addresses.add", name="brx", address="10.77.0.1/24"),
    ])
    outcome = await runner.apply(plan, timeout=GUARD, confirm=False)
    assert outcome.status == "pending"
    assert link(changes_lab, "lab2", "brx") is not None
    assert link(changes_lab, "lab2", "mvx") is not None
    assert wait_until(lambda: link(changes_lab, "lab2", "brx") is None, ROLLBACK_BOUND)
    assert link(changes_lab, "lab2", "mvx") is None


@pytest.mark.parametrize(("kind", "params"), [
    ("vlan", {"name": "eth0.7", "parent": "eth0", "id": 7}),
    ("bond", {"name": "bond7", "mode": "active-backup"}),
])
async def test_kind_without_kernel_support(changes_lab: Lab, runner: ChangeRunner, kind: str,
                                           params: dict[str, Any]) -> None:
    before = {line.split()[0] for line in
              changes_lab.run("lab2", ["ip", "-br", "link"]).stdout.splitlines()}
    plan = await runner.plan("lab2", [
        op("interfaces.create", kind="bridge", name="brv"),
        op("interfaces.create", kind=kind, **params),
    ])
    if kernel_supports(kind):
        outcome = await runner.apply(plan, timeout=CONFIRMED_GUARD)
        assert outcome.status == "confirmed"
        assert link(changes_lab, "lab2", params["name"]) is not None
        cleanup = await runner.plan("lab2", [op("interfaces.delete", name=params["name"]),
                                             op("interfaces.delete", name="brv")])
        await runner.apply(cleanup, timeout=CONFIRMED_GUARD)
        return
    with pytest.raises(ChangeError) as caught:
        await runner.apply(plan, timeout=GUARD)
    assert kind in str(caught.value)
    assert "rolled back" in str(caught.value)
    # The bridge made by the first operation was removed again at once.
    after = {line.split()[0] for line in
             changes_lab.run("lab2", ["ip", "-br", "link"]).stdout.splitlines()}
    assert after == before


async def test_deleted_bridge_comes_back(changes_lab: Lab, runner: ChangeRunner) -> None:
    setup = [
        ["ip", "link", "add", "brdel", "type", "bridge"],
        ["ip", "link", "add", "vd0", "type", "veth", "peer", "name", "vd1"],
        ["ip", "link", "set", "vd0", "master", "brdel"],
        ["ip", "link", "set", "vd1", "master", "brdel"],
        ["ip", "link", "set", "brdel", "mtu", "1400"],
        ["ip", "address", "add", "10.66.0.1/24", "dev", "brdel"],
        ["ip", "address", "add", "fd66::1/64", "dev", "brdel"],
        ["ip", "link", "set", "brdel", "up"],
    ]
    for argv in setup:
        changes_lab.run("lab2", argv)
    try:
        plan = await runner.plan("lab2", [op("interfaces.delete", name="brdel")])
        assert [entry["name"] for entry in plan.diff if entry["action"] == "delete"] == ["brdel"]
        pending = await runner.apply(plan, timeout=GUARD, confirm=False)
        assert link(changes_lab, "lab2", "brdel") is None
        # The rollback recreates the link before its addresses and ports, so the checks
        # wait for the rollback's own record rather than for the link alone.
        assert pending.change_id is not None
        outcome = await runner.wait_for_rollback("lab2", pending.change_id,
                                                 pending.record["deadline"])
        assert outcome.status == "rolled_back"
        bridge = link(changes_lab, "lab2", "brdel")
        assert addresses(bridge) == ["10.66.0.1/24", "fd66::1/64"]
        assert bridge is not None and bridge["mtu"] == 1400
        assert "UP" in bridge["flags"]
        for port in ("vd0", "vd1"):
            assert (link(changes_lab, "lab2", port) or {}).get("master") == "brdel"
    finally:
        changes_lab.run("lab2", ["ip", "link", "del", "brdel"], check=False)
        changes_lab.run("lab2", ["ip", "link", "del", "vd0"], check=False)


async def test_agent_killed_mid_apply_rolls_back(changes_lab: Lab, runner: ChangeRunner,
                                                 db: Database) -> None:
    plan = await runner.plan("lab3", [
        op("interfaces.create", kind="bridge", name="brk", state="up"),
        op("interfaces.create", kind="bridge", name="brk2"),
    ])
    task = asyncio.create_task(runner.apply(plan, timeout=GUARD, step_delay=20))
    assert await asyncio.to_thread(
        wait_until, lambda: link(changes_lab, "lab3", "brk") is not None, 15)
    changes_lab.run("lab3", ["pkill", "-KILL", "-f", "mudmap-agent-"])
    assert await asyncio.to_thread(
        wait_until, lambda: link(changes_lab, "lab3", "brk") is None, ROLLBACK_BOUND)
    assert link(changes_lab, "lab3", "brk2") is None
    outcome = await task
    assert outcome.status == "rolled_back"
    assert "change.rollback" in [entry.action for entry in audit.list(db, device="lab3")]


async def test_second_change_refused_while_pending(changes_lab: Lab,
                                                   runner: ChangeRunner) -> None:
    first = await runner.plan("lab3", [op("interfaces.create", kind="bridge", name="brp1")])
    pending = await runner.apply(first, timeout=30, confirm=False)
    try:
        second = await runner.plan("lab3", [op("interfaces.create", kind="bridge",
                                               name="brp2")])
        with pytest.raises(ChangeConflict) as caught:
            await runner.apply(second, timeout=GUARD)
        assert pending.change_id is not None
        assert pending.change_id in str(caught.value)
        assert "pending until" in str(caught.value)
        # The snapshot, with any private keys, is readable by root only.
        directory = f"/run/mudmap/changes/{pending.change_id}"
        assert mode(changes_lab, "lab3", directory) == "700"
        assert mode(changes_lab, "lab3", f"{directory}/snapshot.json") == "600"
        status = await runner.status("lab3")
        assert [change["id"] for change in status["pending"]] == [pending.change_id]
    finally:
        assert pending.change_id is not None
        await runner.confirm("lab3", pending.change_id)
    assert mode(changes_lab, "lab3", f"{directory}/snapshot.json") is None
    assert link(changes_lab, "lab3", "brp2") is None
    cleanup = await runner.plan("lab3", [op("interfaces.delete", name="brp1")])
    await runner.apply(cleanup, timeout=CONFIRMED_GUARD)


async def test_two_controllers_second_apply_conflicts(changes_lab: Lab, runner: ChangeRunner,
                                                      tmp_path: Any) -> None:
    other_pool = trusting_pool(changes_lab, tmp_path / "other_known_hosts")
    other = ChangeRunner(other_pool, bundle=default_bundle(), actor="other")
    try:
        ops = [op("interfaces.create", kind="bridge", name="brc")]
        mine = await runner.plan("lab3", ops)
        theirs = await other.plan("lab3", [op("interfaces.create", kind="bridge", name="brc",
                                              mtu=1400)])
        assert mine.state_hash == theirs.state_hash
        assert (await runner.apply(mine, timeout=CONFIRMED_GUARD)).status == "confirmed"
        with pytest.raises(ChangeConflict) as caught:
            await other.apply(theirs, timeout=GUARD)
        # The conflict carries the diff against the device as it is now.
        assert caught.value.data["diff"] != theirs.diff
        assert caught.value.data["state_hash"] != theirs.state_hash
    finally:
        await other_pool.close()
    cleanup = await runner.plan("lab3", [op("interfaces.delete", name="brc")])
    await runner.apply(cleanup, timeout=CONFIRMED_GUARD)


async def test_rollback_while_away_is_recorded(changes_lab: Lab, pool: ConnectionPool,
                                               db: Database, tmp_path: Any) -> None:
    away_pool = trusting_pool(changes_lab, tmp_path / "away_known_hosts")
    away = ChangeRunner(away_pool, bundle=default_bundle(), actor="away")
    plan = await away.plan("lab2", [op("interfaces.create", kind="bridge", name="braw")])
    outcome = await away.apply(plan, timeout=GUARD, confirm=False)
    await away_pool.close()
    assert wait_until(lambda: link(changes_lab, "lab2", "braw") is None, ROLLBACK_BOUND)
    back = ChangeRunner(pool, db=db, bundle=default_bundle(), actor="tester")
    await back.status("lab2")
    entries = [entry for entry in audit.list(db, device="lab2")
               if entry.action == "change.rollback"]
    mine = [entry for entry in entries if entry.params["id"] == outcome.change_id]
    assert len(mine) == 1
    assert mine[0].actor == "away"
    # Acknowledged records are not reported twice.
    assert (await back.status("lab2"))["unreported"] == []


async def test_wireguard_settings_come_back(changes_lab: Lab, runner: ChangeRunner) -> None:
    peer = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
    setup = await runner.plan("lab2", [
        op("wg.create", name="wgr", listen_port=51901),
        op("wg.peer.add", name="wgr", public_key=peer, allowed_ips=["10.91.0.2/32"],
           endpoint="192.0.2.9:51820"),
        op("addresses.add", name="wgr", address="10.91.0.1/24"),
    ])
    assert (await runner.apply(setup, timeout=CONFIRMED_GUARD)).status == "confirmed"
    before = (await runner.call("lab2", "wg.get", {"name": "wgr"}))
    try:
        change = await runner.plan("lab2", [op("wg.set", name="wgr", listen_port=51902),
                                            op("wg.peer.remove", name="wgr", public_key=peer)])
        await runner.apply(change, timeout=GUARD, confirm=False)
        assert (await runner.call("lab2", "wg.get", {"name": "wgr"}))["peers"] == []
        assert wait_until(lambda: "51901" in changes_lab.run(
            "lab2", ["wg", "show", "wgr", "listen-port"], check=False).stdout, ROLLBACK_BOUND)
        after = await runner.call("lab2", "wg.get", {"name": "wgr"})
        assert after["public_key"] == before["public_key"]
        assert [p["allowed_ips"] for p in after["peers"]] == [["10.91.0.2/32"]]
        assert after["peers"][0]["endpoint"] == "192.0.2.9:51820"

        delete = await runner.plan("lab2", [op("wg.delete", name="wgr")])
        await runner.apply(delete, timeout=GUARD, confirm=False)
        assert link(changes_lab, "lab2", "wgr") is None
        assert wait_until(lambda: link(changes_lab, "lab2", "wgr") is not None, ROLLBACK_BOUND)
        assert wait_until(lambda: "10.91.0.1/24" in addresses(link(changes_lab, "lab2", "wgr")),
                          5)
        again = await runner.call("lab2", "wg.get", {"name": "wgr"})
        assert again["public_key"] == before["public_key"]
        assert again["listen_port"] == 51901
        assert [p["public_key"] for p in again["peers"]] == [peer]
    finally:
        cleanup = await runner.plan("lab2", [op("wg.delete", name="wgr")])
        await runner.apply(cleanup, timeout=CONFIRMED_GUARD)


async def test_guard_expiry_stops_remaining_steps(changes_lab: Lab, runner: ChangeRunner,
                                                 db: Database) -> None:
    plan = await runner.plan("lab3", [
        op("interfaces.create", kind="bridge", name="brs1"),
        op("interfaces.create", kind="bridge", name="brs2"),
    ])
    outcome = await runner.apply(plan, timeout=GUARD, step_delay=GUARD + 4)
    assert outcome.status == "rolled_back"
    assert link(changes_lab, "lab3", "brs1") is None
    # The second step would have run GUARD + 4 s after the first; it must never run.
    await asyncio.sleep(6)
    assert link(changes_lab, "lab3", "brs2") is None
    status = await runner.status("lab3")
    assert status["pending"] == []
    rollbacks = [entry.params["id"] for entry in audit.list(db, device="lab3")
                 if entry.action == "change.rollback"]
    assert outcome.change_id in rollbacks
