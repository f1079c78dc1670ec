"""``mudmap service``: list a device's systemd services, and start, stop or restart one."""

from __future__ import annotations

import argparse
from typing import Any

from mudmap_tui.cli.common import print_json
from mudmap_tui.cli.device_call import add_device_options, call_agent, change_with_agent
from mudmap_tui.cli.table import format_table

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    service = subparsers.add_parser("service", help="systemd services on a device",
                                    description="List a device's systemd services, or start, "
                                    "stop or restart one. Needs systemd on the device.")
    actions = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list service units and their states")
    listing.add_argument("device", help="device name")
    add_device_options(listing)
    listing.set_defaults(func=cmd_list)
    for action in ("start", "stop", "restart"):
        parser = actions.add_parser(action, help=f"{action} a unit")
        parser.add_argument("device", help="device name")
        parser.add_argument("unit", help="unit name; NAME means NAME.service")
        add_device_options(parser)
        parser.set_defaults(func=cmd_action, action=action)


def cmd_list(args: argparse.Namespace) -> int:
    services = call_agent(args, args.device, "services.list")["services"]
    if args.json:
        print_json(services)
        return 0
    rows = [[unit["name"], unit["load_state"], f"{unit['active_state']}/{unit['sub_state']}",
             unit.get("unit_file_state") or "-", unit.get("description", "")]
            for unit in services]
    print(format_table(["UNIT", "LOAD", "ACTIVE", "FILE", "DESCRIPTION"], rows, shrinkable=[4]))
    return 0


def cmd_action(args: argparse.Namespace) -> int:
    params = {"name": args.unit}
    status: dict[str, Any] = change_with_agent(args, args.device, f"service.{args.action}",
                                               f"services.{args.action}", params)
    if args.json:
        print_json(status)
    else:
        state = f"{status.get('active_state', '?')}/{status.get('sub_state', '?')}"
        print(f"{args.device}: {args.action} {status.get('name', args.unit)}: now {state}")
    return 0
