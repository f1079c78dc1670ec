"""``mudmap logs``: the last lines of a device's system log, from journald or /var/log."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from mudmap_tui.cli.common import print_json
from mudmap_tui.cli.device_call import add_device_options, call_agent
from mudmap_tui.errors import UsageError
from mudmap_tui.fleet_state import format_bytes
from mudmap_tui.log_files import default_source

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    logs = subparsers.add_parser(
        "logs", help="show the last lines of a device's log",
        description="Show the device's journal, or without journald a file in /var/log "
        "(syslog or messages unless --file names another).",
    )
    logs.add_argument("device", help="device name")
    logs.add_argument("--unit", help="only this systemd unit (needs journald)")
    logs.add_argument("-n", "--lines", type=line_count, default=100,
                      help="number of lines, 1 to 10000 (default %(default)s)")
    logs.add_argument("--since", metavar="TIME",
                      help="only entries since this time: Unix seconds or ISO 8601 with an "
                      "offset, such as 2026-12-04T20:00:00+00:00 (needs journald)")
    logs.add_argument("--file", help="read this file in /var/log instead of the journal")
    logs.add_argument("--list-files", action="store_true",
                      help="list the files in /var/log that --file can read, newest first")
    add_device_options(logs)
    logs.set_defaults(func=cmd_logs)


MAX_LINES = 10000


def line_count(text: str) -> int:
    """Parse -n/--lines: 1 to 10000, the range the agent reads."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LINES:
        raise argparse.ArgumentTypeError(f"invalid -n/--lines {text!r}: use 1 to {MAX_LINES}")
    return value


def tail_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"lines": args.lines}
    if args.unit:
        params["unit"] = args.unit
    if args.since:
        params["since"] = int(args.since) if args.since.isdigit() else args.since
    if args.file:
        params["file"] = args.file
    return params


def cmd_logs(args: argparse.Namespace) -> int:
    if args.list_files:
        reading_options = {"--file": args.file, "--unit": args.unit, "--since": args.since}
        extra_options = [option for option, value in reading_options.items() if value]
        if extra_options:
            raise UsageError(f"--list-files lists the files and reads none, so it takes no "
                             f"{', '.join(extra_options)}; run the command once without "
                             "--list-files")
        return list_files(args)
    result = call_agent(args, args.device, "journal.tail", tail_params(args))
    if args.json:
        print_json(result)
        return 0
    for entry in result.get("entries", []):
        print(format_entry(entry))
    return 0


def list_files(args: argparse.Namespace) -> int:
    result = call_agent(args, args.device, "journal.files", {})
    if args.json:
        print_json(result)
        return 0
    print(f"without --file: {default_source(result)}")
    for entry in result.get("files", []):
        moment = datetime.datetime.fromtimestamp(float(entry["mtime"]))
        print(f"{entry['name']:<32} {format_bytes(int(entry['size'])):>10}  "
              f"{moment:%Y-%m-%d %H:%M}")
    if result.get("truncated"):
        print("(only the newest 500 files are listed)")
    return 0


def format_entry(entry: dict[str, Any]) -> str:
    """Format a journal entry like ``journalctl``'s short output; file lines stay as read."""
    message = str(entry.get("message") or "")
    if entry.get("time") is None:
        return message
    moment = datetime.datetime.fromtimestamp(float(entry["time"]))
    source = entry.get("identifier") or entry.get("unit") or "-"
    if entry.get("pid"):
        source = f"{source}[{entry['pid']}]"
    return f"{moment:%Y-%m-%d %H:%M:%S} {source}: {message}"
