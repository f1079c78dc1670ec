"""A lab of our own for guarded-change tests, so its reboots and cut paths disturb no one."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from mudmap_tui.changes import ChangeRunner
from mudmap_tui.lab import Lab
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.ssh.agent_channel import default_bundle
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.db import open_database
from tests.conftest import OWNER_FILE, lab_unavailable_reason, process_lab_name
from tests.ssh.conftest import trusting_pool


def changes_lab_name() -> str:
    return process_lab_name("c", "MUDMAP_CHANGES_LAB")


@pytest.fixture(scope="module")
def changes_lab() -> Iterator[Lab]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    lab = Lab(changes_lab_name(), 3)
    lab.up()
    # The session lab's fixture takes down labs whose owner process is gone.
    Path(lab_paths.run_dir(lab.name), OWNER_FILE).write_text(str(os.getpid()))
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "inventory.db")
    yield database
    database.close()


@pytest.fixture
async def pool(changes_lab: Lab, tmp_path: Path) -> AsyncIterator[ConnectionPool]:
    connections = trusting_pool(changes_lab, tmp_path / "known_hosts")
    yield connections
    await connections.close()


@pytest.fixture
def runner(pool: ConnectionPool, db: Database) -> ChangeRunner:
    return ChangeRunner(pool, db=db, bundle=default_bundle(), actor="tester")


def link(lab: Lab, device: str, name: str) -> dict[str, Any] | None:
    """Return ``ip -j address show NAME`` on the device, or None when the link is absent."""
    result = lab.run(device, ["ip", "-j", "address", "show", "dev", name], check=False)
    if result.returncode != 0:
        return None
    links = json.loads(result.stdout)
    return links[0] if links else None


def addresses(info: dict[str, Any] | None) -> list[str]:
    if info is None:
        return []
    return sorted(f"{a['local']}/{a['prefixlen']}" for a in info.get("addr_info", [])
                  if a.get("scope") != "link")


def wait_until(check: Callable[[], bool], bound: float, interval: float = 0.5) -> bool:
    """Poll ``check`` until it returns True or ``bound`` seconds pass; return its last value."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(interval)
    return check()


def kernel_supports(kind: str) -> bool:
    """Probe support for a link kind (vlan on a veth parent) in a throwaway namespace."""
    namespace = f"h6probe-{kind}"
    subprocess.run(["ip", "netns", "add", namespace], check=False, capture_output=True)
    try:
        subprocess.run(["ip", "-n", namespace, "link", "add", "p0", "type", "veth", "peer",
                        "name", "p1"], check=True, capture_output=True)
        extra = ["link", "p0", "name", "p0.5", "type", "vlan", "id", "5"] if kind == "vlan" \
            else ["probe0", "type", kind]
        probe = subprocess.run(["ip", "-n", namespace, "link", "add", *extra],
                               capture_output=True)
        return probe.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)
