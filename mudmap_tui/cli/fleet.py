"""``mudmap run`` and ``mudmap status``: one command or the agent's facts on many devices."""

from __future__ import annotations

import argparse
import asyncio
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

from mudmap_tui import fleet
from mudmap_tui.cli.common import (
    byte_count,
    open_store,
    positive_int,
    positive_seconds,
    print_json,
)
from mudmap_tui.errors import InvalidInput
from mudmap_tui.fleet import DeviceResult, FleetEvent, Outcome
from mudmap_tui.fleet_history import KEEP_RUNS, STORED_OUTPUT_CAP, record_run
from mudmap_tui.fleet_status import status_operation
from mudmap_tui.ssh.hostkeys import HostKeyPolicy
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="run a shell command on devices",
        description="Run a shell command on devices (no PTY, stdin closed) and print each "
        "device's output prefixed by its name, then a summary. Exits 1 if any device failed. "
        "Each run's command and output are stored in the local inventory (an SQLite file of "
        f"mode 0600): the newest {KEEP_RUNS} runs, up to {STORED_OUTPUT_CAP // 1024} KiB of "
        "output per device. Give --no-history for output that holds secrets.",
    )
    # argparse would hand the command's words to TARGET, so the run parser splits at "--".
    run.__class__ = CommandAfterDashesParser
    _add_target_options(run)
    run.add_argument("--output-cap", type=byte_count, default=fleet.DEFAULT_OUTPUT_CAP,
                     metavar="BYTES",
                     help="bytes of output kept per device (default %(default)s)")
    run.add_argument("--no-history", action="store_true",
                     help="do not store this run's command and output in the inventory")
    run.usage = "mudmap run [TARGET ...] [--all] [options] -- COMMAND"
    run.set_defaults(func=cmd_run)

    status = subparsers.add_parser(
        "status", help="show each device's agent hello and facts",
        description="Start the agent on each device and print its hello and facts.",
    )
    _add_target_options(status, require=False)
    status.set_defaults(func=cmd_status)


class CommandAfterDashesParser(argparse.ArgumentParser):
    """Parse the words before the first ``--``; store the words after it as ``command``."""

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None,
                         ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        command: list[str] = []
        if "--" in words:
            split = words.index("--")
            words, command = words[:split], words[split + 1:]
        parsed, extras = super().parse_known_args(words, namespace)
        parsed.command = command
        return parsed, extras


def _add_target_options(parser: argparse.ArgumentParser, require: bool = True) -> None:
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="device name or @group" + ("" if require else " (default: all)"))
    parser.add_argument("--all", action="store_true", help="every device in the inventory")
    parser.add_argument("--timeout", type=positive_seconds, default=fleet.DEFAULT_TIMEOUT,
                        metavar="S",
                        help="seconds per device, connecting included (default %(default)s)")
    parser.add_argument("--concurrency", type=positive_int, default=fleet.DEFAULT_CONCURRENCY,
                        help="devices worked on at once (default %(default)s)")
    parser.add_argument("--accept-new", action="store_true",
                        help="record unknown host keys (like StrictHostKeyChecking=accept-new); "
                        "changed keys are still rejected")
    parser.add_argument("--json", action="store_true", help="print results as JSON")


def select_devices(store: DeviceStore, targets: Sequence[str], every: bool,
                   default_all: bool = False) -> list[Device]:
    """Expand device names and @groups into devices, in the order given, without repeats."""
    if every or (default_all and not targets):
        return store.list()
    if not targets:
        raise InvalidInput("targets", "", "name a device, an @group, or give --all")
    chosen: dict[str, Device] = {}
    for target in targets:
        if target.startswith("@"):
            members = store.list(group=target[1:])
            if not members:
                raise InvalidInput("group", target[1:], "no device is in this group; "
                                   "see `mudmap device list`")
            chosen.update((device.name, device) for device in members)
        else:
            device = store.get(target)
            chosen[device.name] = device
    return list(chosen.values())


def _split_command(words: Sequence[str]) -> str:
    if not words:
        raise InvalidInput("command", "", "give the command after --, e.g. mudmap run --all "
                           "-- uname -a")
    return " ".join(words)


def _make_pool(store: DeviceStore, accept_new: bool) -> ConnectionPool:
    policy = HostKeyPolicy.ACCEPT_NEW if accept_new else HostKeyPolicy.STRICT
    pool = ConnectionPool(store.list(), policy=policy)
    pool.on_host_key_added = lambda device, fingerprint: print(
        f"mudmap: {device}: recorded new host key {fingerprint}", file=sys.stderr)
    return pool


class LinePrinter:
    """Print output as whole lines prefixed by the device name, as they arrive."""

    def __init__(self, width: int, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.width = width
        self.streams = {"stdout": out or sys.stdout, "stderr": err or sys.stderr}
        self.partial: dict[tuple[str, str], bytes] = {}

    def handle(self, event: FleetEvent) -> None:
        if isinstance(event, fleet.OutputReceived):
            key = (event.device, event.stream)
            data = self.partial.pop(key, b"") + event.data
            *lines, rest = data.split(b"\n")
            for line in lines:
                self._print(event.device, event.stream, line)
            if rest:
                self.partial[key] = rest
        elif isinstance(event, fleet.DeviceFinished):
            result = event.result
            for stream in ("stdout", "stderr"):
                rest = self.partial.pop((result.device, stream), b"")
                if rest:
                    self._print(result.device, stream, rest)
            if result.truncated:
                self._write(result.device, "stderr",
                            f"[output cut at {result.output_cap} bytes]")

    def _print(self, device: str, stream: str, line: bytes) -> None:
        text = line.decode(errors="replace")
        self._write(device, stream, escape_controls(text.removesuffix("\r")))

    def _write(self, device: str, stream: str, text: str) -> None:
        self.streams[stream].write(f"{device:<{self.width}} | {text}\n")
        self.streams[stream].flush()


def escape_controls(text: str) -> str:
    """Show control characters other than tab as ``\\xNN``, so output cannot drive the terminal.

    A device's output could otherwise clear the screen, retitle the window or hide text
    behind escape sequences.
    """
    return "".join(
        char if char == "\t" or unicodedata.category(char) != "Cc" else f"\\x{ord(char):02x}"
        for char in text
    )


def format_summary(results: Sequence[DeviceResult], *, exit_column: bool = True) -> list[str]:
    """Format one line per device and a count per outcome.

    :param exit_column: show the remote command's exit status; False for operations that
        run no command, such as a backup
    """
    width = max([len(result.device) for result in results] + [6])
    exit_header = f"  {'EXIT':>4}" if exit_column else ""
    lines = [f"{'DEVICE':<{width}}  {'RESULT':<9}{exit_header}  {'TIME':>7}  NOTE"]
    for result in results:
        exit_text = "-" if result.exit_status is None else str(result.exit_status)
        exit_cell = f"  {exit_text:>4}" if exit_column else ""
        note = result.error or ""
        if result.truncated:
            note = f"output cut at {result.output_cap} bytes" + (f"; {note}" if note else "")
        lines.append(f"{result.device:<{width}}  {result.outcome.value:<9}{exit_cell}  "
                     f"{result.duration:>6.2f}s  {note}".rstrip())
    counts = {outcome: 0 for outcome in Outcome}
    for result in results:
        counts[result.outcome] += 1
    lines.append(", ".join(f"{count} {outcome.value.replace('_', ' ')}"
                           for outcome, count in counts.items() if count))
    return lines


def cmd_run(args: argparse.Namespace) -> int:
    command = _split_command(args.command)
    db = open_store(args)
    try:
        store = DeviceStore(db)
        devices = select_devices(store, args.targets, args.all)
        target_text = "--all" if args.all else " ".join(args.targets)
        results, started_at = asyncio.run(_run(store, devices, command, args))
        if not args.no_history:
            record_run(db, command, target_text, started_at, results)
    finally:
        db.close()
    if args.json:
        print_json({"command": command, "results": [result.to_json() for result in results]})
    else:
        print("\n".join(format_summary(results)), file=sys.stderr)
    return 0 if all(result.ok for result in results) else 1


async def _run(store: DeviceStore, devices: list[Device], command: str,
               args: argparse.Namespace) -> tuple[list[DeviceResult], float]:
    pool = _make_pool(store, args.accept_new)
    width = max(len(device.name) for device in devices)
    printer = None if args.json else LinePrinter(width)
    try:
        run = fleet.run_command(
            pool, [device.name for device in devices], command, timeout=args.timeout,
            concurrency=args.concurrency, output_cap=args.output_cap,
            on_event=printer.handle if printer else None,
        )
        try:
            results = await run.wait()
        except asyncio.CancelledError:
            run.cancel()
            raise
        return results, run.started_at
    finally:
        await pool.close()


def cmd_status(args: argparse.Namespace) -> int:
    db = open_store(args)
    try:
        store = DeviceStore(db)
        devices = select_devices(store, args.targets, args.all, default_all=True)
        if not devices:
            raise InvalidInput("targets", "", "the inventory has no devices; add one with "
                               "`mudmap device add`")
        results = asyncio.run(_status(store, devices, args))
    finally:
        db.close()
    if args.json:
        print_json({"results": [result.to_json() for result in results]})
    else:
        for line in format_status(results):
            print(line)
    return 0 if all(result.ok for result in results) else 1


async def _status(store: DeviceStore, devices: list[Device],
                  args: argparse.Namespace) -> list[DeviceResult]:
    pool = _make_pool(store, args.accept_new)
    try:
        run = fleet.start([device.name for device in devices], status_operation(pool),
                          timeout=args.timeout, concurrency=args.concurrency)
        return await run.wait()
    finally:
        await pool.close()


def format_status(results: Sequence[DeviceResult]) -> list[str]:
    width = max([len(result.device) for result in results] + [6])
    lines = [f"{'DEVICE':<{width}}  {'STATE':<9}  DETAIL"]
    for result in results:
        if result.ok:
            lines.append(f"{result.device:<{width}}  {'up':<9}  {_status_detail(result.value)}")
        else:
            lines.append(f"{result.device:<{width}}  {result.outcome.value:<9}  {result.error}")
    return lines


def _status_detail(value: dict[str, Any]) -> str:
    hello = value.get("hello") or {}
    facts = value.get("facts") or {}
    os_info = facts.get("os") or {}
    os_name = os_info.get("pretty_name") or os_info.get("PRETTY_NAME") or ""
    kernel = (hello.get("kernel") or {}).get("release", "")
    interfaces = value.get("interfaces") or []
    return (f"{hello.get('hostname', '?')}; {os_name}; kernel {kernel}; "
            f"{len(interfaces)} interfaces; python {hello.get('python', '?')}; "
            f"agent {hello.get('agent_version', '?')}")
