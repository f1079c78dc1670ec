"""``mudmap backup``: take, list, show and compare backups of devices' network configuration."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from sqlite_utils import Database

from mudmap_tui import backups, fleet
from mudmap_tui.cli.common import open_store, print_json
from mudmap_tui.cli.fleet import _make_pool, format_summary, select_devices
from mudmap_tui.cli.table import format_table
from mudmap_tui.errors import InvalidInput, NotFound, UsageError
from mudmap_tui.fleet import DeviceResult, Outcome
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store import audit
from mudmap_tui.store.devices import DeviceStore

Subparsers = argparse._SubParsersAction
VERBS = ("take", "list", "show", "diff")

USAGE = """\
mudmap backup [take] [DEVICE|@GROUP ...] [--all]
       mudmap backup list [DEVICE]
       mudmap backup show ID [--file PATH] [--show-secrets]
       mudmap backup diff ID1 ID2 [--show-secrets]"""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "backup", help="back up devices' network configuration into the local store",
        usage=USAGE,
        description="Copy each device's network configuration ("
        + ", ".join(backups.NETWORK_CONFIG_PATHS)
        + ") into the local database, storing unchanged content once. Backups hold secrets "
        "such as WireGuard private keys: show and diff hide them unless --show-secrets.",
    )
    parser.add_argument("words", nargs="*", metavar="ARG",
                        help="devices or @groups to back up, or list/show/diff and their "
                        "arguments")
    parser.add_argument("--all", action="store_true", help="back up every device")
    parser.add_argument("--file", metavar="PATH", help="with show: print this file's content")
    parser.add_argument("--show-secrets", action="store_true",
                        help="with show and diff: print secret values such as PrivateKey")
    parser.add_argument("--timeout", type=float, default=fleet.DEFAULT_TIMEOUT + 60,
                        metavar="S", help="seconds per device (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=fleet.DEFAULT_CONCURRENCY,
                        help="devices backed up at once (default %(default)s)")
    parser.add_argument("--accept-new", action="store_true",
                        help="record unknown host keys; changed keys are still rejected")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(func=cmd_backup)


def cmd_backup(args: argparse.Namespace) -> int:
    words = list(args.words)
    verb = words.pop(0) if words and words[0] in VERBS else "take"
    db = open_store(args)
    try:
        if verb == "take":
            return take(db, args, words)
        if verb == "list":
            return show_list(db, args, words)
        if verb == "show":
            return show_one(db, args, words)
        return show_diff(db, args, words)
    finally:
        db.close()


def _backup_id(text: str) -> int:
    if not text.isdigit():
        raise InvalidInput("backup id", text, "must be a number from `mudmap backup list`")
    return int(text)


def backup_operation(pool: ConnectionPool, db: Database) -> fleet.Operation:
    """Build the fleet operation that collects one device's files and stores a backup."""

    async def operation(name: str, deadline: float, emit: fleet.EventCallback) -> DeviceResult:
        connection = await fleet.connect_within(pool, name, deadline)
        try:
            collected = await asyncio.wait_for(backups.collect(connection),
                                               fleet.remaining(deadline))
        except Exception as error:
            audit.record(db, "backup.take", device=name, result="error", detail=str(error))
            raise
        backup_id = backups.store_backup(db, name, collected)
        summary = {"id": backup_id, "files": len(collected.entries),
                   "missing": collected.missing, "errors": collected.errors}
        audit.record(db, "backup.take", device=name, params={"backup_id": backup_id})
        return DeviceResult(name, Outcome.OK, value=summary)

    return operation


def take(db: Database, args: argparse.Namespace, targets: list[str]) -> int:
    store = DeviceStore(db)
    devices = select_devices(store, targets, args.all)
    pool = _make_pool(store, args.accept_new)

    async def run() -> list[DeviceResult]:
        try:
            started = fleet.start([device.name for device in devices],
                                  backup_operation(pool, db), timeout=args.timeout,
                                  concurrency=args.concurrency)
            return await started.wait()
        finally:
            await pool.close()

    results = asyncio.run(run())
    if args.json:
        print_json({"results": [result.to_json() for result in results]})
    else:
        for result in results:
            if result.ok:
                value = result.value
                missing = ", ".join(value["missing"]) or "none"
                print(f"{result.device}: backup {value['id']}: {value['files']} files; "
                      f"missing: {missing}")
                for error in value["errors"]:
                    print(f"{result.device}: not copied: {error['path']}: {error['error']}")
        print("\n".join(format_summary(results, exit_column=False)), file=sys.stderr)
    return 0 if all(result.ok for result in results) else 1


def show_list(db: Database, args: argparse.Namespace, words: list[str]) -> int:
    if len(words) > 1:
        raise UsageError("backup list takes at most one device name")
    found = backups.list_backups(db, words[0] if words else None)
    # Backups of a device removed from the inventory are still listed.
    if words and not found and not DeviceStore(db).exists(words[0]):
        raise NotFound(f"no device named {words[0]!r} and no backups of it; "
                       "see `mudmap device list` or `mudmap backup list`")
    if args.json:
        print_json([{"id": item.id, "device": item.device, "taken_at": item.taken_at,
                     "files": len(item.files), "missing": item.manifest.get("missing", [])}
                    for item in found])
        return 0
    rows = [[str(item.id), item.device, item.taken_at, str(len(item.files)),
             str(sum(entry.get("size", 0) for entry in item.files))] for item in found]
    print(format_table(["ID", "DEVICE", "TAKEN (UTC)", "FILES", "BYTES"], rows))
    return 0


def show_one(db: Database, args: argparse.Namespace, words: list[str]) -> int:
    if len(words) != 1:
        raise UsageError("backup show takes one backup id, for example: mudmap backup show 3")
    info = backups.get_backup(db, _backup_id(words[0]))
    if args.file:
        return _print_file(db, info, args.file, args.show_secrets)
    if args.json:
        print_json({"id": info.id, "device": info.device, "taken_at": info.taken_at,
                    "manifest": info.manifest})
        return 0
    print(f"backup {info.id} of {info.device}, taken {info.taken_at} UTC")
    rows = [[entry["path"], entry["type"], f"{entry['mode']:04o}", _size(entry),
             entry.get("sha256", "")[:12] or entry.get("target", "")] for entry in info.files]
    print(format_table(["PATH", "TYPE", "MODE", "BYTES", "SHA256 / TARGET"], rows))
    for path in info.manifest.get("missing", []):
        print(f"missing on the device: {path}")
    for error in info.manifest.get("errors", []):
        print(f"not copied: {error['path']}: {error['error']}")
    return 0


def _size(entry: dict[str, Any]) -> str:
    return str(entry["size"]) if "size" in entry else "-"


def _print_file(db: Database, info: backups.BackupInfo, path: str, show_secrets: bool) -> int:
    entry = info.file(path)
    text = backups.file_text(db, entry, show_secrets)
    if text is None:
        if not show_secrets:
            raise UsageError(f"{path} is binary; add --show-secrets to write its raw bytes")
        sys.stdout.flush()
        sys.stdout.buffer.write(backups.blob(db, entry["sha256"]))
        return 0
    sys.stdout.write(text)
    return 0


def show_diff(db: Database, args: argparse.Namespace, words: list[str]) -> int:
    if len(words) != 2:
        raise UsageError("backup diff takes two backup ids, for example: mudmap backup diff 3 4")
    old = backups.get_backup(db, _backup_id(words[0]))
    new = backups.get_backup(db, _backup_id(words[1]))
    lines = backups.diff_backups(db, old, new, args.show_secrets)
    if args.json:
        print(json.dumps({"old": old.id, "new": new.id, "lines": lines}, indent=2))
        return 0
    print(f"backup {old.id} ({old.device}, {old.taken_at}) -> "
          f"backup {new.id} ({new.device}, {new.taken_at})")
    print("\n".join(lines) if lines else "no differences")
    return 0
