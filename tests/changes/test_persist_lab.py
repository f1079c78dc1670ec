"""Persisted changes on lab devices: files, a reboot, drift and the formats we do not write."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mudmap_tui.changes import ChangeError, ChangeRunner
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.errors import AgentCallError, AgentUnsupported, SshError
from tests.changes.conftest import addresses, link, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

GUARD = 20.0
PEER_KEY = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
CORPUS = Path(__file__).resolve().parent.parent / "data" / "wgquick"


def op(method: str, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def file_mode(lab: Lab, device: str, path: str) -> str | None:
    result = lab.run(device, ["stat", "-c", "%a", path], check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def wg_value(lab: Lab, device: str, name: str, field: str) -> str:
    return lab.run(device, ["wg", "show", name, field]).stdout.strip()


def booted_again(lab: Lab, device: str, old_init: int) -> bool:
    record = lab.state(device)
    return record["state"] == "up" and record.get("init_pid") != old_init


async def status_after_reboot(runner: ChangeRunner, device: str) -> dict[str, Any]:
    """Read changes.status and drift over new connections, retrying while the host relearns
    the device's MAC address."""
    for _attempt in range(6):
        after = ChangeRunner(runner.pool.fresh(), bundle=runner.bundle, actor="tester")
        try:
            # Drift first: status acknowledges the records it returns, so it must run last.
            drift = await after.drift(device)
            status = await after.status(device)
            status["drift"] = drift
            return status
        except SshError:
            await asyncio.sleep(2)
        finally:
            await after.pool.close()
    raise AssertionError(f"{device} did not accept SSH connections after its reboot")


async def test_persisted_links_survive_reboot(changes_lab: Lab, runner: ChangeRunner) -> None:
    plan = await runner.plan("lab3", [
        op("interfaces.create", kind="bridge", name="brp", state="up"),
        op("addresses.add", name="brp", address="10.88.0.1/24"),
        op("interfaces.create", kind="macvlan", name="mvp", parent="eth0", state="up"),
        op("wg.create", name="wgp", listen_port=51888),
        op("addresses.add", name="wgp", address="10.89.0.1/24"),
        op("interfaces.update", name="wgp", state="up"),
        op("wg.peer.add", name="wgp", public_key=PEER_KEY, allowed_ips=["10.89.0.2/32"],
           endpoint="[fd00:89::2]:51820", persistent_keepalive=25),
    ], persist=True)
    assert "/etc/network/interfaces.d/brp" in plan.files
    assert "/etc/wireguard/wgp.conf" in plan.files
    outcome = await runner.apply(plan, timeout=GUARD)
    assert outcome.status == "confirmed"
    assert file_mode(changes_lab, "lab3", "/etc/wireguard/wgp.conf") == "600"
    assert file_mode(changes_lab, "lab3", "/etc/network/interfaces.d/brp") is not None
    public_key = wg_value(changes_lab, "lab3", "wgp", "public-key")

    pending = await runner.plan("lab3", [op("interfaces.create", kind="bridge", name="brz")])
    left_pending = await runner.apply(pending, timeout=300, confirm=False)

    old_init = changes_lab.init_pid("lab3")
    changes_lab.reboot_from_inside("lab3")
    assert wait_until(lambda: booted_again(changes_lab, "lab3", old_init), 90, interval=1)
    assert wait_until(lambda: link(changes_lab, "lab3", "wgp") is not None, 30, interval=1)
    assert addresses(link(changes_lab, "lab3", "brp")) == ["10.88.0.1/24"]
    assert link(changes_lab, "lab3", "mvp") is not None
    assert addresses(link(changes_lab, "lab3", "wgp")) == ["10.89.0.1/24"]
    assert wg_value(changes_lab, "lab3", "wgp", "listen-port") == "51888"
    assert wg_value(changes_lab, "lab3", "wgp", "public-key") == public_key
    assert wg_value(changes_lab, "lab3", "wgp", "endpoints") == f"{PEER_KEY}\t[fd00:89::2]:51820"
    assert wg_value(changes_lab, "lab3", "wgp", "allowed-ips") == f"{PEER_KEY}\t10.89.0.2/32"
    console = (changes_lab.layout.device_dir("lab3") / "console.log").read_text()
    assert "boot: ifup -a exited with status 0" in console
    assert "boot: wg-quick up wgp exited with status 0" in console

    # The reboot ended the pending change's guard; its record says so.
    assert link(changes_lab, "lab3", "brz") is None
    status = await status_after_reboot(runner, "lab3")
    assert status["pending"] == []
    (record,) = [r for r in status["unreported"] if r["id"] == left_pending.change_id]
    assert record["status"] == "abandoned"
    drift = {entry["name"]: entry for entry in status["drift"]["interfaces"]}
    assert drift["wgp"]["status"] == "persisted"
    assert drift["wgp"]["source"] == "/etc/wireguard/wgp.conf"
    assert drift["brp"]["status"] == "persisted"


def preshared_keys(lab: Lab, device: str, name: str) -> dict[str, str]:
    """Return ``wg show NAME preshared-keys`` as public key -> key ("(none)" when unset)."""
    output = lab.run(device, ["wg", "show", name, "preshared-keys"], check=False).stdout
    return dict(line.split("\t") for line in output.splitlines() if "\t" in line)


def persisted_preshared_keys(lab: Lab, device: str, name: str) -> list[str]:
    text = lab.run(device, ["cat", f"/etc/wireguard/{name}.conf"]).stdout
    return re.findall(r"^PresharedKey = (\S+)$", text, re.MULTILINE)


def genpsk() -> str:
    return subprocess.run(["wg", "genpsk"], capture_output=True, text=True,
                          check=True).stdout.strip()


async def test_persisted_preshared_key_survives_reboot(changes_lab: Lab,
                                                       runner: ChangeRunner) -> None:
    device = "lab2"
    first, second, third = genpsk(), genpsk(), genpsk()
    plan = await runner.plan(device, [
        op("wg.create", name="wgk", listen_port=51931, state="up"),
        op("wg.peer.add", name="wgk", public_key=PEER_KEY, allowed_ips=["10.93.0.2/32"],
           preshared_key=first),
    ], persist=True)
    assert (await runner.apply(plan, timeout=GUARD)).status == "confirmed"
    try:
        assert persisted_preshared_keys(changes_lab, device, "wgk") == [first]
        assert file_mode(changes_lab, device, "/etc/wireguard/wgk.conf") == "600"

        # A change of the key alone is persisted too.
        rotate = await runner.plan(device, [
            op("wg.peer.update", name="wgk", public_key=PEER_KEY, preshared_key=second),
        ], persist=True)
        assert (await runner.apply(rotate, timeout=GUARD)).status == "confirmed"
        assert persisted_preshared_keys(changes_lab, device, "wgk") == [second]

        # An unconfirmed change puts the file with the previous key back.
        unconfirmed = await runner.plan(device, [
            op("wg.peer.update", name="wgk", public_key=PEER_KEY, preshared_key=third),
        ], persist=True)
        await runner.apply(unconfirmed, timeout=6, confirm=False)
        assert persisted_preshared_keys(changes_lab, device, "wgk") == [third]
        assert wait_until(
            lambda: persisted_preshared_keys(changes_lab, device, "wgk") == [second], 16)
        assert wait_until(
            lambda: preshared_keys(changes_lab, device, "wgk") == {PEER_KEY: second}, 16)
        status = await runner.status(device)
        assert status["pending"] == []

        old_init = changes_lab.init_pid(device)
        changes_lab.reboot_from_inside(device)
        assert wait_until(lambda: booted_again(changes_lab, device, old_init), 90, interval=1)
        assert wait_until(lambda: link(changes_lab, device, "wgk") is not None, 30, interval=1)
        assert preshared_keys(changes_lab, device, "wgk") == {PEER_KEY: second}
        assert (await status_after_reboot(runner, device))["pending"] == []
    finally:
        after = ChangeRunner(runner.pool.fresh(), bundle=runner.bundle, actor="tester")
        try:
            cleanup = await after.plan(device, [op("wg.delete", name="wgk")], persist=True)
            await after.apply(cleanup, timeout=GUARD)
        finally:
            await after.pool.close()


async def test_drift_after_out_of_band_address(changes_lab: Lab,
                                               runner: ChangeRunner) -> None:
    plan = await runner.plan("lab2", [
        op("interfaces.create", kind="bridge", name="brq", state="up"),
        op("addresses.add", name="brq", address="10.90.0.1/24"),
    ], persist=True)
    assert (await runner.apply(plan, timeout=GUARD)).status == "confirmed"
    clean = await runner.drift("lab2", "brq")
    assert clean["interfaces"][0]["status"] == "persisted"

    changes_lab.run("lab2", ["ip", "address", "add", "10.90.1.5/24", "dev", "brq"])
    drift = await runner.drift("lab2")
    by_name = {entry["name"]: entry for entry in drift["interfaces"]}
    assert by_name["brq"]["status"] == "drifted"
    (change,) = by_name["brq"]["diff"]
    assert change["field"] == "addresses"
    assert change["added"] == ["10.90.1.5/24"]
    # The kernel's IPv6 link-local address of brq is not drift.
    assert not any(address.startswith("fe80") for address in change["runtime"])
    assert by_name["eth0"]["status"] == "runtime-only"

    cleanup = await runner.plan("lab2", [op("interfaces.delete", name="brq")], persist=True)
    assert (await runner.apply(cleanup, timeout=GUARD)).status == "confirmed"
    assert file_mode(changes_lab, "lab2", "/etc/network/interfaces.d/brq") is None
    assert file_mode(changes_lab, "lab2", "/etc/network/interfaces.d/.brq.mudmap-prev") == "644"


def mtu(lab: Lab, device: str, name: str) -> int | None:
    info = link(lab, device, name)
    return info["mtu"] if info else None


async def test_second_persist_survives_reboot(changes_lab: Lab, runner: ChangeRunner) -> None:
    device = "lab1"
    stanza = "/etc/network/interfaces.d/brm"
    create = await runner.plan(device, [
        op("interfaces.create", kind="bridge", name="brm", state="up", mtu=1500),
    ], persist=True)
    assert (await runner.apply(create, timeout=GUARD)).status == "confirmed"
    try:
        # A previous version where an older agent kept it, which ifupdown also sources.
        changes_lab.run(device, ["cp", stanza, stanza + ".mudmap-prev"])
        lower = await runner.plan(device, [op("interfaces.update", name="brm", mtu=1400)],
                                  persist=True)
        assert (await runner.apply(lower, timeout=GUARD)).status == "confirmed"
        assert file_mode(changes_lab, device, stanza + ".mudmap-prev") is None
        assert file_mode(changes_lab, device, "/etc/network/interfaces.d/.brm.mudmap-prev")

        old_init = changes_lab.init_pid(device)
        changes_lab.reboot_from_inside(device)
        assert wait_until(lambda: booted_again(changes_lab, device, old_init), 90, interval=1)
        assert wait_until(lambda: link(changes_lab, device, "brm") is not None, 30, interval=1)
        assert mtu(changes_lab, device, "brm") == 1400
        drift = (await status_after_reboot(runner, device))["drift"]
        (entry,) = [item for item in drift["interfaces"] if item["name"] == "brm"]
        assert entry["status"] == "persisted"
    finally:
        after = ChangeRunner(runner.pool.fresh(), bundle=runner.bundle, actor="tester")
        try:
            cleanup = await after.plan(device, [op("interfaces.delete", name="brm")],
                                       persist=True)
            await after.apply(cleanup, timeout=GUARD)
        finally:
            await after.pool.close()


async def test_unconfirmed_persist_restores_files(changes_lab: Lab,
                                                  runner: ChangeRunner) -> None:
    plan = await runner.plan("lab2", [op("interfaces.create", kind="bridge", name="brf")],
                             persist=True)
    await runner.apply(plan, timeout=6, confirm=False)
    assert file_mode(changes_lab, "lab2", "/etc/network/interfaces.d/brf") is not None
    assert wait_until(lambda: link(changes_lab, "lab2", "brf") is None, 16)
    assert file_mode(changes_lab, "lab2", "/etc/network/interfaces.d/brf") is None


async def test_netplan_persist_unsupported(changes_lab: Lab, runner: ChangeRunner) -> None:
    changes_lab.run("lab1", ["mkdir", "-p", "/etc/netplan"])
    changes_lab.run("lab1", ["sh", "-c", "printf 'network: {version: 2}\\n' "
                                         "> /etc/netplan/01-lab.yaml"])
    try:
        with pytest.raises(AgentUnsupported) as caught:
            await runner.plan("lab1", [op("interfaces.create", kind="bridge", name="brn")],
                              persist=True)
        assert "persisting is not supported yet for netplan" in caught.value.message
        assert link(changes_lab, "lab1", "brn") is None
    finally:
        changes_lab.run("lab1", ["rm", "-f", "/etc/netplan/01-lab.yaml"])


async def test_wgquick_list_hides_keys(changes_lab: Lab, runner: ChangeRunner) -> None:
    text = (CORPUS / "server.conf").read_text()
    changes_lab.run("lab1", ["sh", "-c", "umask 077 && cat > /etc/wireguard/wgs.conf"],
                    input=text)
    try:
        result = await runner.call("lab1", "wgquick.list")
    finally:
        changes_lab.run("lab1", ["rm", "-f", "/etc/wireguard/wgs.conf"])
    (config,) = [item for item in result["configs"] if item["name"] == "wgs"]
    assert config["listen_port"] == 51820
    assert len(config["peers"]) == 2
    assert config["has_private_key"] is True
    assert config["running"] is False
    private_key = re.search(r"PrivateKey = (\S+)", text)
    assert private_key is not None
    assert private_key.group(1) not in json.dumps(result)


async def test_plan_rejects_unparsable_wgquick_file(changes_lab: Lab,
                                                    runner: ChangeRunner) -> None:
    changes_lab.run("lab3", ["sh", "-c", "printf 'garbage line without section\\n' "
                                         "> /etc/wireguard/wgbad.conf"])
    try:
        with pytest.raises(AgentCallError) as caught:
            await runner.plan("lab3", [op("wg.create", name="wgbad", listen_port=0)],
                              persist=True)
    finally:
        changes_lab.run("lab3", ["rm", "-f", "/etc/wireguard/wgbad.conf"])
    assert caught.value.agent_kind == "conflict"
    assert "/etc/wireguard/wgbad.conf is not a valid wg-quick file" in caught.value.message
    assert "garbage" not in caught.value.message
    assert link(changes_lab, "lab3", "wgbad") is None


async def test_persist_failure_rolls_back_at_once(changes_lab: Lab,
                                                  runner: ChangeRunner) -> None:
    # The plan reads only wgbroke.conf, so the unreadable list fails the persist step.
    enabled = "/etc/mudmap/wg-quick-enabled"
    saved = changes_lab.run("lab2", ["base64", enabled], check=False).stdout
    changes_lab.run("lab2", ["sh", "-c", f"mkdir -p /etc/mudmap && printf '\\377\\n' >> {enabled}"])
    try:
        plan = await runner.plan("lab2", [op("wg.create", name="wgbroke", listen_port=0)],
                                 persist=True)
        with pytest.raises(ChangeError) as caught:
            await runner.apply(plan, timeout=300)
    finally:
        changes_lab.run("lab2", ["sh", "-c", f"base64 -d > {enabled}"], input=saved)
    assert f"{enabled} is not UTF-8 text" in str(caught.value)
    assert "rolled back" in str(caught.value)
    assert link(changes_lab, "lab2", "wgbroke") is None
    assert (await runner.status("lab2"))["pending"] == []
    assert file_mode(changes_lab, "lab2", "/etc/wireguard/wgbroke.conf") is None
