"""Time the app's first frame and measure its memory: empty inventory against a big one.

The big inventory has 1,000 devices (20 groups of 50) and 20,000 cached interfaces (20 per
device, already in the fleet state, so the tree contains them). Each case runs in its own
Python process, so resident memory is that case's alone, and each runs several times;
medians are printed. The last measurement refreshes a 5,000-row interface table. No device
is contacted: background refresh is off.

Run: .venv/bin/python bench/tui.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEVICES = 1000
GROUPS = 20
INTERFACES_PER_DEVICE = 20
TABLE_ROWS = 5000
SIZE = (160, 50)


def write_inventory(path: Path, devices: int) -> None:
    from mudmap_tui.store.db import open_database
    from mudmap_tui.store.transactions import write_transaction

    db = open_database(path)
    try:
        # Rows go in directly: DeviceStore.add validates and audits each device, which
        # would make building the fixture the slowest part of the benchmark.
        with write_transaction(db):
            for number in range(devices):
                cursor = db.execute(
                    "INSERT INTO devices (name, host, port, notes, created_at, updated_at)"
                    " VALUES (?, ?, 22, '', '2026-01-01T00:00:00+00:00',"
                    " '2026-01-01T00:00:00+00:00')",
                    (f"dev{number:04d}", f"127.1.{number // 250}.{number % 250 + 1}"))
                db.execute("INSERT INTO device_groups (device_id, group_name) VALUES (?, ?)",
                           (cursor.lastrowid, f"group{number % GROUPS:02d}"))
    finally:
        db.close()


def links(count: int, sample: int = 0) -> list[dict[str, Any]]:
    return [{
        "name": f"eth{number}", "kind": "veth", "admin_state": "up", "oper_state": "up",
        "mtu": 1500, "mac": f"52:54:00:00:{number // 256 % 256:02x}:{number % 256:02x}",
        "master": None,
        "addresses": [{"address": f"10.{number // 256 % 256}.{number % 256}.1",
                       "prefixlen": 24}],
        "counters": {"rx_bytes": number * 1000 * (sample + 1),
                     "tx_bytes": number * 10 * (sample + 1)},
    } for number in range(count)]


def fleet_for(devices: int) -> Any:
    from mudmap_tui.fleet_state import FleetState

    names = [f"dev{number:04d}" for number in range(devices)]
    fleet = FleetState(names)
    cached = links(INTERFACES_PER_DEVICE)
    for name in names:
        fleet.mark_online(name, 1.0, {"protocol_version": 1})
        fleet.set_interfaces(name, 1.0, cached)
    return fleet


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def first_frame(devices: int, workdir: Path) -> dict[str, float]:
    """Open the app and return seconds to its first frame and the RSS at that point."""
    from mudmap_tui.tui.app import MudmapApp

    path = workdir / "inventory.db"
    write_inventory(path, devices)
    fleet = fleet_for(devices)
    started = time.perf_counter()
    app = MudmapApp(path, refresh_interval=0, state=fleet, log_path=workdir / "mudmap.log")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        elapsed = time.perf_counter() - started
        return {"seconds": elapsed, "rss_mib": rss_mib()}


async def settled(pilot: Any, table: Any) -> None:
    """Wait until the table has measured its new rows, which it does when idle."""
    await pilot.pause()
    while table._require_update_dimensions or table._new_rows:
        await pilot.pause(0.01)


async def table_refresh(workdir: Path) -> dict[str, float]:
    """Return seconds to fill the table with 5,000 interfaces, and to refresh it.

    A refresh delivers the same interfaces with new counters, as the background refresh
    does; its time is the median of three.
    """
    from mudmap_tui.tui.app import MudmapApp
    from mudmap_tui.tui.messages import TabLoaded

    path = workdir / "inventory.db"
    write_inventory(path, 1)
    app = MudmapApp(path, refresh_interval=0, log_path=workdir / "mudmap.log")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one("#tabs").active = "interfaces"  # type: ignore[attr-defined]
        await pilot.pause()
        table = app.query_one("#interfaces-table")
        times = []
        for sample in range(4):
            value = {"interfaces": links(TABLE_ROWS, sample)}
            started = time.perf_counter()
            app.post_message(TabLoaded("dev0000", "interfaces", 10.0 + sample, value))
            await settled(pilot, table)
            times.append(time.perf_counter() - started)
        rows = table.row_count  # type: ignore[attr-defined]
        if rows != TABLE_ROWS:
            raise RuntimeError(f"the table shows {rows} rows, expected {TABLE_ROWS}")
        return {"fill_seconds": times[0], "seconds": statistics.median(times[1:])}


def run_case(case: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workdir:
        if case == "empty":
            return asyncio.run(first_frame(0, Path(workdir)))
        if case == "big":
            return asyncio.run(first_frame(DEVICES, Path(workdir)))
        return asyncio.run(table_refresh(Path(workdir)))


def measure(case: str, runs: int) -> list[dict[str, float]]:
    results = []
    for _ in range(runs):
        output = subprocess.run([sys.executable, __file__, "--case", case], check=True,
                                capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return results


def median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(result[key] for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--case", choices=("empty", "big", "table"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    empty = measure("empty", args.runs)
    big = measure("big", args.runs)
    table = measure("table", args.runs)
    empty_s, big_s = median(empty, "seconds"), median(big, "seconds")
    print(f"first frame, empty inventory:         {empty_s * 1000:7.0f} ms, "
          f"RSS {median(empty, 'rss_mib'):.0f} MiB")
    print(f"first frame, {DEVICES} devices + {DEVICES * INTERFACES_PER_DEVICE} interfaces: "
          f"{big_s * 1000:7.0f} ms, RSS {median(big, 'rss_mib'):.0f} MiB")
    print(f"ratio big/empty: {big_s / empty_s:.2f} (goal: at most 1.5)")
    print(f"fill a {TABLE_ROWS}-row interface table: "
          f"{median(table, 'fill_seconds') * 1000:.0f} ms")
    print(f"refresh it with new counters: {median(table, 'seconds') * 1000:.0f} ms")
    print(f"runs per case: {args.runs}, medians")


if __name__ == "__main__":
    main()
