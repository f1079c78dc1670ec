"""``mudmap iface``: list, show, create, change and delete a device's network interfaces."""

from __future__ import annotations

import argparse
from typing import Any

from mudmap_tui import lockout
from mudmap_tui.changes import ChangeRunner
from mudmap_tui.cli.changes import add_change_options, delete_ops, run_guarded
from mudmap_tui.cli.common import print_json
from mudmap_tui.cli.device_call import add_device_options, call_agent
from mudmap_tui.cli.table import format_table
from mudmap_tui.device_actions import DeviceLink
from mudmap_tui.errors import UsageError

Subparsers = argparse._SubParsersAction

# Link kinds the agent creates; the kernel may still lack some of them.
KINDS = ("bridge", "macvlan", "vxlan", "veth", "dummy", "bond", "vlan", "wireguard")


def register(subparsers: Subparsers) -> None:
    iface = subparsers.add_parser("iface", help="manage a device's network interfaces",
                                  description="Read and change a device's network interfaces "
                                  "through its agent. Every change prints its diff and runs "
                                  "under a rollback guard: the device restores its previous "
                                  "state unless the change is confirmed over a new SSH "
                                  "connection. Changes are recorded in the audit log.")
    actions = iface.add_subparsers(dest="iface_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list the interfaces with state and addresses")
    listing.add_argument("device", help="device name")
    add_device_options(listing)
    listing.set_defaults(func=cmd_list)

    show = actions.add_parser("show", help="show every detail of one interface")
    show.add_argument("device", help="device name")
    show.add_argument("name", help="interface name")
    add_device_options(show)
    show.set_defaults(func=cmd_show)

    create = actions.add_parser("create", help="create an interface",
                                description="Create an interface of the given kind. New "
                                "interfaces start down unless --up is given.")
    create.add_argument("device", help="device name")
    create.add_argument("name", help="new interface name (1 to 15 bytes)")
    create.add_argument("--kind", required=True, choices=KINDS, help="link kind")
    _add_link_options(create)
    create.add_argument("--parent", help="lower link (macvlan, vlan, vxlan)")
    create.add_argument("--mode", help="macvlan mode (default bridge) or bond mode")
    create.add_argument("--peer", help="name of the veth peer, created alongside")
    create.add_argument("--id", type=int, dest="vlan_id", help="VLAN id, 1 to 4094")
    create.add_argument("--vni", type=int, help="VXLAN network identifier")
    create.add_argument("--remote", help="VXLAN unicast peer address")
    create.add_argument("--stp", action="store_true", help="turn on STP (bridge)")
    create.add_argument("--listen-port", type=int, help="WireGuard UDP listen port")
    add_device_options(create)
    create.set_defaults(func=cmd_create)

    change = actions.add_parser("set", help="change an interface",
                                description="Change MTU, state, MAC, master, name or "
                                "addresses; only the options given change.")
    change.add_argument("device", help="device name")
    change.add_argument("name", help="interface name")
    _add_link_options(change)
    change.add_argument("--down", action="store_true", help="set the interface down")
    change.add_argument("--nomaster", action="store_true", help="release from its master")
    change.add_argument("--rename", metavar="NEW", help="new interface name")
    change.add_argument("--add-address", action="append", default=[], metavar="CIDR",
                        help="add an address such as 192.0.2.1/24 (repeatable)")
    change.add_argument("--remove-address", action="append", default=[], metavar="CIDR",
                        help="remove an address (repeatable)")
    add_device_options(change)
    change.set_defaults(func=cmd_set)

    delete = actions.add_parser("delete", help="delete an interface")
    delete.add_argument("device", help="device name")
    delete.add_argument("name", help="interface name")
    add_device_options(delete)
    delete.set_defaults(func=cmd_delete)
    for parser in (create, change, delete):
        add_change_options(parser)
    for parser in (change, delete):
        parser.add_argument("--force", action="store_true",
                            help="change the interface that carries the SSH session even when "
                            "the change can cut the device off; the guard rolls it back")


def _add_link_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mtu", type=int, help="MTU in bytes")
    parser.add_argument("--mac", help="hardware address, such as 02:00:00:00:00:01")
    parser.add_argument("--up", action="store_true", help="set the interface up")
    parser.add_argument("--master", help="bridge or bond to enslave the interface to")


def cmd_list(args: argparse.Namespace) -> int:
    result = call_agent(args, args.device, "interfaces.list")
    interfaces = result["interfaces"]
    if args.json:
        print_json(interfaces)
        return 0
    rows = [_summary_row(interface) for interface in interfaces]
    print(format_table(["NAME", "KIND", "STATE", "MTU", "MAC", "MASTER", "ADDRESSES"], rows,
                       shrinkable=[6]))
    return 0


def _summary_row(interface: dict[str, Any]) -> list[str]:
    addresses = ", ".join(f"{item['address']}/{item['prefixlen']}"
                          for item in interface.get("addresses", []))
    state = f"{interface['admin_state']}/{interface['oper_state']}"
    return [interface["name"], interface["kind"], state, str(interface["mtu"]),
            interface.get("mac") or "-", interface.get("master") or "-", addresses or "-"]


def cmd_show(args: argparse.Namespace) -> int:
    interface = call_agent(args, args.device, "interfaces.get", {"name": args.name})["interface"]
    if args.json:
        print_json(interface)
        return 0
    for line in describe_interface(interface):
        print(line)
    return 0


def describe_interface(interface: dict[str, Any]) -> list[str]:
    """Format an interface as ``key: value`` lines, nested settings indented."""
    lines: list[str] = []
    for key in sorted(interface):
        value = interface[key]
        if key == "addresses":
            lines.append("addresses:")
            lines.extend(f"  {item['address']}/{item['prefixlen']} scope {item['scope']}"
                         for item in value)
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {sub}: {_text(item)}" for sub, item in sorted(value.items()))
        else:
            lines.append(f"{key}: {_text(value)}")
    return lines


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


def create_params(args: argparse.Namespace) -> dict[str, Any]:
    """Build interfaces.create params from the options given; the agent validates them."""
    params: dict[str, Any] = {"kind": args.kind, "name": args.name}
    optional = {
        "mtu": args.mtu, "mac": args.mac, "master": args.master, "parent": args.parent,
        "mode": args.mode, "peer": args.peer, "id": args.vlan_id, "vni": args.vni,
        "remote": args.remote, "listen_port": args.listen_port,
    }
    params.update({key: value for key, value in optional.items() if value is not None})
    if args.up:
        params["state"] = "up"
    if args.stp:
        params["stp"] = True
    return params


def cmd_create(args: argparse.Namespace) -> int:
    return run_guarded(args, args.device,
                       [{"method": "interfaces.create", "params": create_params(args)}])


def update_params(args: argparse.Namespace) -> dict[str, Any]:
    if args.up and args.down:
        raise UsageError("give --up or --down, not both")
    if args.master and args.nomaster:
        raise UsageError("give --master or --nomaster, not both")
    params: dict[str, Any] = {"name": args.name}
    optional = {"mtu": args.mtu, "mac": args.mac, "master": args.master,
                "new_name": args.rename}
    params.update({key: value for key, value in optional.items() if value is not None})
    if args.nomaster:
        params["master"] = None
    if args.up or args.down:
        params["state"] = "up" if args.up else "down"
    return params


def cmd_set(args: argparse.Namespace) -> int:
    params = update_params(args)
    if len(params) == 1 and not args.add_address and not args.remove_address:
        raise UsageError("nothing to change: give at least one of --mtu, --up, --down, --mac, "
                         "--master, --nomaster, --rename, --add-address, --remove-address")

    async def check(runner: ChangeRunner) -> None:
        path = await _session_path(runner, args.device)
        risks = lockout.update_risks(path, params, args.remove_address)
        lockout.check_change(args.device, args.name, path, risks)

    return run_guarded(args, args.device, set_ops(args, params),
                       check=None if args.force else check)


async def _session_path(runner: ChangeRunner, device: str) -> lockout.SessionPath:
    link = DeviceLink(runner.pool, device)
    host = runner.pool.device(device).host
    return await lockout.session_path(link, host)


def set_ops(args: argparse.Namespace, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List the agent operations of ``iface set`` for one guarded change."""
    ops = [{"method": "interfaces.update", "params": params}] if len(params) > 1 else []
    name = params.get("new_name", args.name)
    for method, addresses in (("addresses.add", args.add_address),
                              ("addresses.remove", args.remove_address)):
        ops += [{"method": method, "params": {"name": name, "address": address}}
                for address in addresses]
    return ops


def cmd_delete(args: argparse.Namespace) -> int:
    async def check(runner: ChangeRunner) -> None:
        path = await _session_path(runner, args.device)
        lockout.check_change(args.device, args.name, path, ["deleting it"])

    return run_guarded(args, args.device,
                       lambda runner: delete_ops(runner, args.device, args.name),
                       check=None if args.force else check)
