"""Twenty devices at once, on a lab of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mudmap_tui import fleet
from mudmap_tui.fleet_status import status_operation
from mudmap_tui.lab import Lab
from tests.conftest import lab_unavailable_reason
from tests.ssh.conftest import trusting_pool

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]

SIZE = 20


@pytest.fixture(scope="module")
def big_lab() -> Iterator[Lab]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    number = os.getpid()
    suffix = "".join(digits[(number // 36**power) % 36] for power in range(3))
    lab = Lab("f" + suffix, SIZE)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


async def test_twenty_devices_many_channels_each(big_lab: Lab, tmp_path: Path) -> None:
    pool = trusting_pool(big_lab, tmp_path / "known_hosts")
    names = list(big_lab.devices)
    # Twelve commands per device, more than sshd's MaxSessions of 10, all at once.
    command_names = [name for name in names for _ in range(12)]
    try:
        runs = [fleet.run_command(pool, [name], "hostname; sleep 0.2", timeout=120,
                                  concurrency=len(command_names))
                for name in command_names]
        results = [result for run in runs for result in await run.wait()]
    finally:
        await pool.close()
    assert len(results) == len(command_names)
    failed = [result for result in results if result.outcome is not fleet.Outcome.OK]
    assert failed == []
    for result in results:
        assert result.stdout == f"{result.device}\n".encode()


async def test_twenty_devices_status_via_agent(big_lab: Lab, tmp_path: Path) -> None:
    pool = trusting_pool(big_lab, tmp_path / "known_hosts")
    try:
        run = fleet.start(list(big_lab.devices), status_operation(pool), timeout=180)
        results = await run.wait()
    finally:
        await pool.close()
    assert [result.outcome for result in results] == [fleet.Outcome.OK] * len(big_lab.devices)
    for result in results:
        assert result.value["facts"]["hostname"] == result.device
