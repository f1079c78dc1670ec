"""``mudmap audit``: who changed what on which device, newest first."""

from __future__ import annotations

import argparse
import json

from mudmap_tui.cli.common import open_store, positive_int, print_json
from mudmap_tui.cli.table import format_table
from mudmap_tui.store import audit

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "audit", help="show the audit log",
        description="Show the audit log, newest first: who (local user), when (UTC), device, "
        "action, parameters with secrets redacted, and the result.")
    parser.add_argument("--device", help="only entries for this device")
    parser.add_argument("--action", help="only entries of this action, such as iface.create")
    parser.add_argument("--limit", type=positive_int, default=50,
                        help="number of entries, 1 or more (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print entries as JSON")
    parser.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    db = open_store(args)
    try:
        entries = audit.list(db, device=args.device, action=args.action, limit=args.limit)
    finally:
        db.close()
    if args.json:
        print_json([{"id": entry.id, "at": entry.at, "actor": entry.actor,
                     "device": entry.device, "action": entry.action, "params": entry.params,
                     "result": entry.result, "detail": entry.detail} for entry in entries])
        return 0
    rows = [[entry.at, entry.actor, entry.device or "-", entry.action, entry.result,
             json.dumps(entry.params, sort_keys=True), entry.detail] for entry in entries]
    print(format_table(["WHEN (UTC)", "WHO", "DEVICE", "ACTION", "RESULT", "PARAMETERS",
                        "DETAIL"], rows, shrinkable=[5, 6]))
    return 0
