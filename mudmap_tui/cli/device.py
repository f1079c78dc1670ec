"""``mudmap device``: add, list, show, edit and remove inventory devices, import ssh config."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from mudmap_tui import sshconfig
from mudmap_tui.cli.common import open_store, print_json
from mudmap_tui.cli.table import format_table
from mudmap_tui.errors import InvalidInput, UsageError
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

PORT_RULE = "must be a whole number from 1 to 65535"
JUMP_HELP = (
    "jump host: another device's name, or [user@]host[:port] (a bare word must name a device)"
)
TABLE_HEADERS = ("NAME", "HOST", "PORT", "USER", "JUMP", "GROUPS")
# HOST, JUMP and GROUPS shrink (with an ellipsis) to fit the terminal; NAME never does,
# because it is what other commands take.
SHRINKABLE_COLUMNS = (1, 4, 5)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "device", help="manage the device inventory", description="Manage the device inventory."
    )
    commands = parser.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    _register_add(commands)
    _register_list(commands)
    _register_show(commands)
    _register_edit(commands)
    _register_remove(commands)
    _register_import(commands)


def _register_add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = commands.add_parser("add", help="add a device", description="Add a device.")
    add.add_argument("name", help="unique name: 1 to 64 letters, digits, '-', '_' or '.'")
    add.add_argument("host", help="IPv4 address, IPv6 address or DNS name")
    add.add_argument("--port", help="SSH port (default 22)")
    add.add_argument("--user", help="login user (default: ssh's, from ~/.ssh/config or yours)")
    add.add_argument("--identity-file", metavar="PATH", help="private key file for this device")
    add.add_argument("--jump", help=JUMP_HELP)
    add.add_argument(
        "--group", action="append", default=[], metavar="GROUP", help="add to GROUP (repeatable)"
    )
    add.add_argument("--notes", default="", help="free text shown with the device")
    add.set_defaults(func=run_add)


def _register_list(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("list", help="list devices", description="List devices.")
    listing.add_argument("--group", help="only devices in GROUP")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=run_list)


def _register_show(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser("show", help="show one device", description="Show one device.")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(func=run_show)


def _register_edit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edit = commands.add_parser(
        "edit",
        help="change a device",
        description="Change the given fields of a device; an empty value clears "
        "--user, --identity-file and --jump.",
    )
    edit.add_argument("name")
    edit.add_argument(
        "--rename", metavar="NEW_NAME", help="new name; devices that jump through it follow"
    )
    edit.add_argument("--host", help="IPv4 address, IPv6 address or DNS name")
    edit.add_argument("--port", help="SSH port")
    edit.add_argument("--user", help="login user")
    edit.add_argument("--identity-file", metavar="PATH", help="private key file")
    edit.add_argument("--jump", help=JUMP_HELP)
    edit.add_argument("--notes", help="free text shown with the device")
    edit.add_argument(
        "--add-group", action="append", default=[], metavar="GROUP", help="repeatable"
    )
    edit.add_argument(
        "--remove-group", action="append", default=[], metavar="GROUP", help="repeatable"
    )
    edit.set_defaults(func=run_edit)


def _register_remove(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    remove = commands.add_parser(
        "rm",
        aliases=["remove"],
        help="remove devices",
        description="Remove devices; with several names, all of them or none.",
    )
    remove.add_argument("names", nargs="+", metavar="NAME")
    remove.set_defaults(func=run_remove)


def _register_import(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    importer = commands.add_parser(
        "import-ssh-config",
        help="add devices from an OpenSSH client config",
        description="Add a device for every concrete Host entry of an OpenSSH client config. "
        "Wildcard Host patterns and Match blocks are skipped. One invalid entry aborts "
        "the import and nothing is written.",
    )
    importer.add_argument("file", nargs="?", type=Path, help="config file (default: ~/.ssh/config)")
    importer.add_argument(
        "--update",
        action="store_true",
        help="overwrite host, port, user, identity file and jump of existing devices",
    )
    importer.add_argument(
        "--group", action="append", default=[], metavar="GROUP", help="add new devices to GROUP"
    )
    importer.set_defaults(func=run_import)


def parse_port(value: str | None) -> int | None:
    """Convert a --port value, raising InvalidInput so the error names the field."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InvalidInput("port", value, PORT_RULE)
    return int(value)


def run_add(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {
        "name": args.name,
        "host": args.host,
        "user": args.user or None,
        "identity_file": args.identity_file,
        "jump": args.jump or None,
        "groups": args.group,
        "notes": args.notes,
    }
    if args.port is not None:
        fields["port"] = parse_port(args.port)
    with closing(open_store(args)) as db:
        device = DeviceStore(db).add(fields)
    print(f"added {device.name} ({_address(device)})")
    warn_missing_identity(device.identity_file)
    return 0


def warn_missing_identity(identity_file: str | None) -> None:
    """Warn when the identity file is not on this machine; the inventory may be shared."""
    if identity_file and not Path(identity_file).expanduser().is_file():
        print(f"mudmap: warning: identity file {identity_file} does not exist on this "
              "machine; connections from here will fail until it does", file=sys.stderr)


def _demo_lab_running() -> bool:
    return (lab_paths.run_dir(lab_paths.demo_lab_name()) / "layout.json").exists()


def run_list(args: argparse.Namespace) -> int:
    with closing(open_store(args)) as db:
        devices = DeviceStore(db).list(group=args.group)
    if args.json:
        print_json([device_json(device) for device in devices])
        return 0
    if not devices:
        where = f" in group {args.group!r}" if args.group else ""
        if args.demo and not _demo_lab_running():
            print("no devices: the demo lab is not running: start it with `mudmap demo up`",
                  file=sys.stderr)
        else:
            print(f"no devices{where}; add one with `mudmap device add NAME HOST`",
                  file=sys.stderr)
        return 0
    rows = [
        (
            device.name,
            device.host,
            str(device.port),
            device.user or "-",
            device.jump or "-",
            ",".join(device.groups) or "-",
        )
        for device in devices
    ]
    print(format_table(TABLE_HEADERS, rows, shrinkable=SHRINKABLE_COLUMNS))
    return 0


def run_show(args: argparse.Namespace) -> int:
    with closing(open_store(args)) as db:
        device = DeviceStore(db).get(args.name)
    if args.json:
        print_json(device_json(device))
        return 0
    for label, value in _show_lines(device):
        print(f"{label + ':':<15}{value}")
    return 0


def run_edit(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    for option, field in (
        ("rename", "name"),
        ("host", "host"),
        ("user", "user"),
        ("identity_file", "identity_file"),
        ("jump", "jump"),
        ("notes", "notes"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[field] = value
    if args.port is not None:
        changes["port"] = parse_port(args.port)
    if not changes and not args.add_group and not args.remove_group:
        raise UsageError(
            "nothing to change: give at least one option, see `mudmap device edit --help`"
        )
    with closing(open_store(args)) as db:
        device = DeviceStore(db).update(
            args.name, changes, add_groups=args.add_group, remove_groups=args.remove_group
        )
    print(f"updated {device.name}")
    if "identity_file" in changes:
        warn_missing_identity(device.identity_file)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with closing(open_store(args)) as db:
        DeviceStore(db).remove(*args.names)
    for name in args.names:
        print(f"removed {name}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    path = args.file.expanduser() if args.file else sshconfig.default_config_path()
    with closing(open_store(args)) as db:
        store = DeviceStore(db)
        known = [device.name for device in store.list()]
        plan = sshconfig.plan_import(path, known_devices=known, groups=args.group)
        for note in plan.notes:
            print(f"mudmap: {note}", file=sys.stderr)
        outcomes = store.import_devices(plan.devices, update=args.update)
    for outcome in outcomes:
        hint = " (left as it is; --update overwrites it)" if outcome.status == "exists" else ""
        print(f"{outcome.status:<10}{outcome.name}{hint}")
    counts = Counter(outcome.status for outcome in outcomes)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"{summary or 'no devices'} from {path}")
    return 0


def device_json(device: Device) -> dict[str, Any]:
    """Return the device as the JSON object that --json prints; keys are stable."""
    return device.model_dump(mode="json")


def _address(device: Device) -> str:
    host = f"[{device.host}]" if ":" in device.host else device.host
    login = f"{device.user}@{host}" if device.user else host
    return f"{login}:{device.port}" + (f" via {device.jump}" if device.jump else "")


def _show_lines(device: Device) -> list[tuple[str, str]]:
    return [
        ("name", device.name),
        ("host", device.host),
        ("port", str(device.port)),
        ("user", device.user or "- (ssh's default)"),
        ("identity file", device.identity_file or "- (ssh's default)"),
        ("jump", device.jump or "- (direct)"),
        ("groups", ", ".join(device.groups) or "-"),
        ("notes", device.notes or "-"),
        ("created", _timestamp(device.created_at)),
        ("updated", _timestamp(device.updated_at)),
    ]


def _timestamp(value: object) -> str:
    return str(value) if value is not None else "-"
