"""Benchmark fleet operations on lab devices against parallel OpenSSH ``ssh`` processes.

Needs root (it starts a lab of its own, named ``bf``, of ``--devices`` devices, default 20).
Each figure is the wall time until every device has returned its result, the median of
``--rounds`` rounds. Sides measured:

- mudmap status: ``facts`` and ``interfaces.list`` from the agent on every device.
  first contact = no connection and no agent on the devices (the zipapp is uploaded);
  cold = no connection, agent cached on the devices; warm = connections and agents up.
- mudmap run: ``uname -a`` through the fleet engine, cold (new connections) and warm.
- ssh one-shot: 20 parallel ``ssh`` processes, each a new connection.
- ssh ControlMaster: the same through master connections opened beforehand.
- with ``--ansible``: ``ansible all -m command -a 'uname -a'`` (ansible-core from the
  ``bench`` extra) with 20 forks, pipelining and ControlPersist. Cold = no master
  connections; warm = masters left by the previous run.

``--warm-only`` measures only the warm sides and ssh ControlMaster, for large labs.

Usage: ``.venv/bin/python bench/fleet.py [--rounds N] [--devices N] [--warm-only] [--ansible]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mudmap_tui import fleet
from mudmap_tui.fleet_status import status_operation
from mudmap_tui.lab import Lab
from mudmap_tui.ssh.agent_channel import default_bundle
from mudmap_tui.ssh.config import SshSettings
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.models import Device

LAB_NAME = "bf"
SIZE = 20
ANSIBLE_FORKS = 20
STATUS_COMMAND = "ip -j addr; uname -a"
RUN_COMMAND = "uname -a"


def make_pool(lab: Lab, known_hosts: Path) -> ConnectionPool:
    devices = [
        Device(
            name=name,
            host=device.address,
            user="root",
            identity_file=str(lab.client_key),
            jump=device.jump,
        )
        for name, device in lab.devices.items()
    ]
    return ConnectionPool(
        devices,
        settings=SshSettings(config_paths=[]),
        hostkeys=HostKeyStore(known_hosts, [lab.known_hosts]),
    )


async def timed_fleet(run: fleet.FleetRun) -> float:
    started = time.perf_counter()
    results = await run.wait()
    elapsed = time.perf_counter() - started
    failed = [result for result in results if not result.ok]
    if failed:
        raise SystemExit(f"benchmark run failed: {failed[0]}")
    return elapsed


def ssh_parallel(lab: Lab, names: list[str], command: str, extra: list[str]) -> float:
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            ["ssh", "-F", str(lab.ssh_config), *extra, name, command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    for process in processes:
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"ssh failed: {stderr.decode()}")
    return time.perf_counter() - started


def control_options(control_dir: Path) -> list[str]:
    return [
        "-o",
        f"ControlPath={control_dir}/%C",
        "-o",
        "ControlMaster=auto",
        "-o",
        "ControlPersist=300",
    ]


def open_masters(lab: Lab, names: list[str], control_dir: Path) -> None:
    for name in names:
        subprocess.run(
            [
                "ssh",
                "-F",
                str(lab.ssh_config),
                *control_options(control_dir),
                "-M",
                "-N",
                "-f",
                name,
            ],
            check=True,
        )


def close_masters(lab: Lab, names: list[str], control_dir: Path) -> None:
    for name in names:
        subprocess.run(
            ["ssh", "-F", str(lab.ssh_config), *control_options(control_dir), "-O", "exit", name],
            capture_output=True,
        )


def remove_agents(lab: Lab, names: list[str]) -> None:
    for name in names:
        lab.run(name, ["rm", "-rf", "/root/.cache/mudmap"])


def write_ansible_config(lab: Lab, names: list[str], work: Path, control_dir: Path) -> Path:
    """Write an inventory of the lab devices and an ansible.cfg that reaches them over ssh.

    Hosts are the lab's ssh_config names, so ssh takes address, key and known_hosts from it.
    """
    inventory = work / "inventory.ini"
    inventory.write_text(
        "[lab]\n" + "".join(f"{name}\n" for name in names) + "\n[lab:vars]\nansible_user=root\n"
    )
    (work / "ansible-local").mkdir(exist_ok=True)
    config = work / "ansible.cfg"
    config.write_text(
        f"""[defaults]
inventory = {inventory}
forks = {ANSIBLE_FORKS}
interpreter_python = /usr/bin/python3
local_tmp = {work / "ansible-local"}
host_key_checking = True
nocolor = True

[ssh_connection]
ssh_args = -F {lab.ssh_config} -o ControlMaster=auto -o ControlPersist=300s
control_path = {control_dir}/%%C
pipelining = True
"""
    )
    return config


def ansible_adhoc(config: Path) -> float:
    ansible = Path(sys.executable).with_name("ansible")
    if not ansible.exists():
        raise SystemExit(f"{ansible} not found: install the bench extra (pip install -e .[bench])")
    environment = {**os.environ, "ANSIBLE_CONFIG": str(config)}
    started = time.perf_counter()
    result = subprocess.run(
        [str(ansible), "all", "-m", "command", "-a", RUN_COMMAND, "-o"],
        env=environment,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ansible failed: {result.stdout.decode()[-2000:]}")
    return elapsed


async def measure_ansible(
    lab: Lab, names: list[str], rounds: int, work: Path
) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    warm_dir = Path(tempfile.mkdtemp(prefix="mmaw", dir="/tmp"))
    warm_config = write_ansible_config(lab, names, work, warm_dir)
    pool = make_pool(lab, work / "known_hosts")
    try:
        ansible_adhoc(warm_config)
        await timed_fleet(fleet.run_command(pool, names, RUN_COMMAND, timeout=300))
        for _ in range(rounds):
            cold_dir = Path(tempfile.mkdtemp(prefix="mmac", dir="/tmp"))
            cold_config = write_ansible_config(lab, names, work / "cold", cold_dir)
            try:
                figures.setdefault("ansible cold", []).append(ansible_adhoc(cold_config))
            finally:
                close_masters(lab, names, cold_dir)
                shutil.rmtree(cold_dir, ignore_errors=True)
            figures.setdefault("ansible warm", []).append(ansible_adhoc(warm_config))
            run = fleet.run_command(pool, names, RUN_COMMAND, timeout=300)
            figures.setdefault("run warm (ansible rounds)", []).append(await timed_fleet(run))
    finally:
        await pool.close()
        close_masters(lab, names, warm_dir)
        shutil.rmtree(warm_dir, ignore_errors=True)
    return figures


async def measure_warm(
    lab: Lab, names: list[str], rounds: int, work: Path, concurrency: int
) -> dict[str, list[float]]:
    """Time only the sides that need no new connection, as a lab grows.

    Also records the controller's own CPU time (user + system) during each warm status, to
    tell the controller's share from the devices' on a machine that runs both.
    """
    figures: dict[str, list[float]] = {}
    default_bundle()
    control_dir = Path(tempfile.mkdtemp(prefix="mmcm", dir="/tmp"))
    open_masters(lab, names, control_dir)
    pool = make_pool(lab, work / "known_hosts")
    masters = control_options(control_dir)
    try:
        # The first warm call of each kind connects and starts the agents; it is not timed.
        await timed_fleet(fleet.start(names, status_operation(pool), timeout=300))
        await timed_fleet(fleet.run_command(pool, names, RUN_COMMAND, timeout=300))
        for _ in range(rounds):
            run = fleet.start(names, status_operation(pool), timeout=300, concurrency=concurrency)
            cpu_before = time.process_time()
            figures.setdefault("status warm", []).append(await timed_fleet(run))
            figures.setdefault("controller CPU, status warm", []).append(
                time.process_time() - cpu_before
            )
            figures.setdefault("ssh ControlMaster status", []).append(
                ssh_parallel(lab, names, STATUS_COMMAND, masters)
            )
            run = fleet.run_command(pool, names, RUN_COMMAND, timeout=300, concurrency=concurrency)
            figures.setdefault("run warm", []).append(await timed_fleet(run))
            figures.setdefault("ssh ControlMaster run", []).append(
                ssh_parallel(lab, names, RUN_COMMAND, masters)
            )
    finally:
        await pool.close()
        close_masters(lab, names, control_dir)
        shutil.rmtree(control_dir, ignore_errors=True)
    return figures


async def measure(lab: Lab, names: list[str], rounds: int, work: Path) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        figures.setdefault(key, []).append(value)

    async def cold(
        key: str, prepare: Callable[[], None], make_run: Callable[[ConnectionPool], fleet.FleetRun]
    ) -> None:
        prepare()
        pool = make_pool(lab, work / "known_hosts")
        try:
            add(key, await timed_fleet(make_run(pool)))
        finally:
            await pool.close()

    def status_run(pool: ConnectionPool) -> fleet.FleetRun:
        return fleet.start(names, status_operation(pool), timeout=300)

    def command_run(pool: ConnectionPool) -> fleet.FleetRun:
        return fleet.run_command(pool, names, RUN_COMMAND, timeout=300)

    default_bundle()
    control_dir = Path(tempfile.mkdtemp(prefix="mmcm", dir="/tmp"))
    open_masters(lab, names, control_dir)
    warm_pool = make_pool(lab, work / "known_hosts")
    masters = control_options(control_dir)
    try:
        # The sides alternate within each round, so a change in the machine's load
        # during the run affects all of them alike.
        for _ in range(rounds):
            add("ssh one-shot status", ssh_parallel(lab, names, STATUS_COMMAND, []))
            await cold("status first contact", lambda: remove_agents(lab, names), status_run)
            add("ssh one-shot status", ssh_parallel(lab, names, STATUS_COMMAND, []))
            await cold("status cold", lambda: None, status_run)
            add("ssh ControlMaster status", ssh_parallel(lab, names, STATUS_COMMAND, masters))
            await timed_fleet(status_run(warm_pool))
            add("status warm", await timed_fleet(status_run(warm_pool)))
            add("ssh one-shot run", ssh_parallel(lab, names, RUN_COMMAND, []))
            await cold("run cold", lambda: None, command_run)
            add("ssh ControlMaster run", ssh_parallel(lab, names, RUN_COMMAND, masters))
            add("run warm", await timed_fleet(command_run(warm_pool)))
    finally:
        await warm_pool.close()
        close_masters(lab, names, control_dir)
        shutil.rmtree(control_dir, ignore_errors=True)
    return figures


def report(figures: dict[str, list[float]], load_before: tuple[float, ...]) -> None:
    medians = {key: statistics.median(values) for key, values in figures.items()}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, kernel {platform.release()}, "
        f"python {platform.python_version()}"
    )
    # Other work on the machine slows the many short ssh processes more than the pool.
    print(
        "load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} "
        "{:.2f}".format(*load_before, *os.getloadavg())
    )
    print(f"{'side':<28} {'median':>9} {'min':>9} {'max':>9}")
    for key, values in figures.items():
        print(
            f"{key:<28} {medians[key] * 1000:>7.1f}ms {min(values) * 1000:>7.1f}ms "
            f"{max(values) * 1000:>7.1f}ms"
        )
    ratios = [
        ("ansible warm / run warm", "ansible warm", "run warm (ansible rounds)"),
        ("ansible warm / status warm", "ansible warm", "status warm"),
        ("ansible cold / run cold", "ansible cold", "run cold"),
        ("status warm / ssh one-shot status", "status warm", "ssh one-shot status"),
        ("status cold / ssh one-shot status", "status cold", "ssh one-shot status"),
        (
            "status first contact / ssh one-shot status",
            "status first contact",
            "ssh one-shot status",
        ),
        ("status warm / ssh ControlMaster status", "status warm", "ssh ControlMaster status"),
        ("run warm / ssh one-shot run", "run warm", "ssh one-shot run"),
        ("run cold / ssh one-shot run", "run cold", "ssh one-shot run"),
        ("run warm / ssh ControlMaster run", "run warm", "ssh ControlMaster run"),
    ]
    # The ratio of minimums is the one least disturbed by other work on the machine.
    print(f"{'ratio':<44} {'medians':>8} {'minimums':>9}")
    for label, numerator, denominator in ratios:
        if numerator not in figures or denominator not in figures:
            continue
        by_median = medians[numerator] / medians[denominator]
        by_minimum = min(figures[numerator]) / min(figures[denominator])
        print(f"{label:<44} {by_median:>8.3f} {by_minimum:>9.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side (default 5)")
    parser.add_argument(
        "--devices", type=int, default=SIZE, help=f"lab devices to measure (default {SIZE})"
    )
    parser.add_argument(
        "--warm-only", action="store_true", help="measure only warm sides and ssh ControlMaster"
    )
    parser.add_argument(
        "--ansible", action="store_true", help="also time ansible ad-hoc (needs the bench extra)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=fleet.DEFAULT_CONCURRENCY,
        help="devices in progress at once in --warm-only (default: the fleet engine's, "
        f"{fleet.DEFAULT_CONCURRENCY})",
    )
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running")
    args = parser.parse_args()
    lab = Lab(LAB_NAME, args.devices)
    lab.up()
    try:
        load_before = os.getloadavg()
        names = [name for name, device in lab.devices.items() if device.jump is None]
        names = names[: args.devices]
        print(f"devices measured: {len(names)}")
        with tempfile.TemporaryDirectory() as work:
            if args.warm_only:
                figures = asyncio.run(
                    measure_warm(lab, names, args.rounds, Path(work), args.concurrency)
                )
            else:
                figures = asyncio.run(measure(lab, names, args.rounds, Path(work)))
            if args.ansible:
                (Path(work) / "cold").mkdir()
                figures.update(asyncio.run(measure_ansible(lab, names, args.rounds, Path(work))))
        report(figures, load_before)
    finally:
        if not args.keep_lab:
            lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
