"""A rollback restores a WireGuard peer's preshared key, which no result or log carries."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from sqlite_utils import Database

from mudmap_tui.changes import ChangeRunner
from mudmap_tui.lab import Lab
from tests.changes.conftest import wait_until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

GUARD = 6.0
CONFIRMED_GUARD = 20.0
ROLLBACK_BOUND = GUARD + 10.0
DEVICE = "lab3"


def op(method: str, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def genpsk() -> str:
    return subprocess.run(["wg", "genpsk"], capture_output=True, text=True,
                          check=True).stdout.strip()


def preshared_keys(lab: Lab, name: str) -> dict[str, str]:
    """Return ``wg show NAME preshared-keys`` as public key -> key ("(none)" when unset)."""
    output = lab.run(DEVICE, ["wg", "show", name, "preshared-keys"], check=False).stdout
    return dict(line.split("\t") for line in output.splitlines() if "\t" in line)


async def test_removed_peer_comes_back_with_its_key(changes_lab: Lab, runner: ChangeRunner,
                                                   db: Database) -> None:
    peer = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
    other = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
    psk = genpsk()
    setup = await runner.plan(DEVICE, [
        op("wg.create", name="wgp", listen_port=51911),
        op("wg.peer.add", name="wgp", public_key=peer, allowed_ips=["10.92.0.2/32"],
           preshared_key=psk),
        op("wg.peer.add", name="wgp", public_key=other, allowed_ips=["10.92.0.3/32"]),
    ])
    assert (await runner.apply(setup, timeout=CONFIRMED_GUARD)).status == "confirmed"
    try:
        assert preshared_keys(changes_lab, "wgp") == {peer: psk, other: "(none)"}
        change = await runner.plan(DEVICE, [
            op("wg.peer.remove", name="wgp", public_key=peer),
            op("wg.peer.update", name="wgp", public_key=other, preshared_key=genpsk()),
        ])
        assert psk not in json.dumps(change.diff) + change.text
        await runner.apply(change, timeout=GUARD, confirm=False)
        assert peer not in preshared_keys(changes_lab, "wgp")
        assert wait_until(lambda: peer in preshared_keys(changes_lab, "wgp"), ROLLBACK_BOUND)
        # The restored peer has its key again; the key the change added is gone.
        assert preshared_keys(changes_lab, "wgp") == {peer: psk, other: "(none)"}
        status = await runner.status(DEVICE)
        assert psk not in json.dumps(status)
        rows = list(db["audit_log"].rows)
        assert {"change.plan", "change.apply"} <= {row["action"] for row in rows}
        assert psk not in json.dumps(rows)
    finally:
        cleanup = await runner.plan(DEVICE, [op("wg.delete", name="wgp")])
        await runner.apply(cleanup, timeout=CONFIRMED_GUARD)
