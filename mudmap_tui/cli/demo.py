"""``mudmap demo``: a lab of real Linux devices on this machine to try the app on."""

from __future__ import annotations

import argparse
import json
import sys

from mudmap_tui.lab import Lab
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.lab.state import LabLayout, sshd_accepts

DEFAULT_SIZE = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo", help="run a lab of real devices (network namespaces with sshd) on this machine"
    )
    actions = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)

    up = actions.add_parser("up", help="start the lab and record its devices in the demo inventory")
    up.add_argument("size", nargs="?", type=int, default=DEFAULT_SIZE,
                    help=f"devices on the lab bridge, 1 to 200 (default {DEFAULT_SIZE}); "
                         "one more sits behind the first")
    up.add_argument("--open", action="store_true", help="open the app on the lab afterwards")
    from mudmap_tui.cli.app import add_app_options

    add_app_options(up, subcommand=True)
    up.set_defaults(func=cmd_up)

    down = actions.add_parser("down", help="stop the lab and remove everything it made")
    down.set_defaults(func=cmd_down)

    status = actions.add_parser("status", help="show each lab device's state")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)

    restart = actions.add_parser("restart", help="reboot a lab device, or power on one that is off")
    restart.add_argument("name", help="lab device name, for example lab1")
    restart.set_defaults(func=cmd_restart)


def running_lab() -> Lab:
    """Return the demo lab with the size it was started with."""
    try:
        size = LabLayout.load(lab_paths.demo_lab_name()).size
    except (OSError, ValueError, TypeError):
        size = DEFAULT_SIZE
    return Lab(lab_paths.demo_lab_name(), size)


def cmd_up(args: argparse.Namespace) -> int:
    lab = Lab(lab_paths.demo_lab_name(), args.size)
    lab.up()
    print(f"lab up: {len(lab.devices)} devices ({', '.join(lab.devices)})")
    print(f"inventory: {lab.inventory_path}   (use: mudmap --demo device list)")
    print(f"OpenSSH:   ssh -F {lab.ssh_config} lab1")
    if args.open:
        from mudmap_tui.cli.app import open_app

        args.demo = True
        return open_app(args)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    running_lab().down()
    print("lab down: namespaces, links, processes and files removed")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    lab = running_lab()
    status = lab.status()
    for name, record in status.items():
        if record["state"] == "up":
            device = lab.devices[name]
            record["sshd"] = ("answering" if sshd_accepts(device.netns, device.address)
                              else "not answering")
    if args.json:
        json.dump(status, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        for name, record in status.items():
            device = lab.devices[name]
            via = f" via {device.jump}" if device.jump else ""
            print(f"{name:<10} {status_text(record):<25} {device.address}{via}")
    healthy = all(record["state"] == "up" and record["sshd"] == "answering"
                  for record in status.values())
    return 0 if healthy else 1


def status_text(record: dict[str, object]) -> str:
    """Return a device's state, with a note when it is up but its sshd accepts no connection."""
    if record.get("sshd") == "not answering":
        return f"{record['state']}, sshd not answering"
    return str(record["state"])


def cmd_restart(args: argparse.Namespace) -> int:
    running_lab().restart(args.name)
    print(f"{args.name} is up")
    return 0
