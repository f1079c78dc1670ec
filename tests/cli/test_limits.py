"""Limits on the command line: bad values exit 2 before anything connects or reboots."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from mudmap_tui import fleet
from mudmap_tui.cli.main import main
from mudmap_tui.errors import InvalidInput

BAD_LIMITS = [
    ["run", "--all", "--concurrency", "0", "--", "true"],
    ["run", "--all", "--concurrency", "-1", "--", "true"],
    ["run", "--all", "--timeout", "0", "--", "true"],
    ["run", "--all", "--timeout", "-1", "--", "true"],
    ["run", "--all", "--timeout", "nan", "--", "true"],
    ["run", "--all", "--timeout", "inf", "--", "true"],
    ["run", "--all", "--output-cap", "-5", "--", "true"],
    ["status", "--concurrency", "0"],
    ["status", "--timeout", "nan"],
    ["reboot", "lab1", "--yes", "--up-timeout", "0"],
    ["iface", "list", "lab1", "--timeout", "-1"],
    ["audit", "--limit", "0"],
    ["audit", "--limit", "-3"],
    ["audit", "--limit", "99999999999999999999"],
    ["iface", "set", "lab1", "eth0", "--mtu", "1400", "--confirm-timeout", "0"],
    ["iface", "set", "lab1", "eth0", "--mtu", "1400", "--confirm-timeout", "-1"],
    ["iface", "set", "lab1", "eth0", "--mtu", "1400", "--confirm-timeout", "4"],
    ["iface", "set", "lab1", "eth0", "--mtu", "1400", "--confirm-timeout", "nan"],
    ["wg", "peer", "remove", "lab1", "wg0", "K", "--confirm-timeout", "3601"],
    ["logs", "lab1", "-n", "0"],
    ["logs", "lab1", "-n", "10001"],
]


@pytest.mark.parametrize("argv", BAD_LIMITS, ids=" ".join)
def test_limit_invalid_exits_2(argv: list[str], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "inventory.db"
    with pytest.raises(SystemExit) as raised:
        main(["--db", str(db), *argv])
    stderr = capsys.readouterr().err
    assert raised.value.code == 2
    assert "invalid" in stderr
    assert "Traceback" not in stderr
    # Rejected while parsing, so the inventory was never even created.
    assert not db.exists()


@pytest.mark.parametrize(("timeout", "concurrency"), [(0.0, 1), (math.nan, 1), (1.0, 0)])
async def test_fleet_start_invalid_limits(timeout: float, concurrency: int) -> None:
    async def operation(name: str, deadline: float, emit: object) -> None:
        await asyncio.sleep(0)

    with pytest.raises(InvalidInput):
        fleet.start(["a"], operation, timeout=timeout, concurrency=concurrency)  # type: ignore[arg-type]


def test_reboot_unknown_device_exits_2(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--db", str(tmp_path / "inventory.db"), "reboot", "nosuch", "--yes"])
    assert status == 2
    assert "nosuch" in capsys.readouterr().err
