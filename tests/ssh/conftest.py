"""Fixtures for SSH tests against the lab: an inventory of its devices and a pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from mudmap_tui.ssh.config import SshSettings
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.models import Device


def lab_inventory(lab: Lab) -> list[Device]:
    """Return the lab's devices as inventory entries by address, with no SSH config."""
    return [
        Device(name=device.name, host=device.address, user="root",
               identity_file=str(lab.client_key), jump=device.jump)
        for device in lab.devices.values()
    ]


def trusting_pool(lab: Lab, known_hosts: Path, **options: object) -> ConnectionPool:
    """Return a pool that trusts the lab's known_hosts and reads no ~/.ssh/config."""
    return ConnectionPool(lab_inventory(lab), settings=SshSettings(config_paths=[]),
                          hostkeys=HostKeyStore(known_hosts, [lab.known_hosts]),
                          **options)  # type: ignore[arg-type]


@pytest.fixture
async def lab_pool(lab: Lab, tmp_path: Path) -> AsyncIterator[ConnectionPool]:
    pool = trusting_pool(lab, tmp_path / "known_hosts")
    yield pool
    await pool.close()
