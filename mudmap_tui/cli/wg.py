"""``mudmap wg``: show a WireGuard interface and add, change or remove its peers."""

from __future__ import annotations

import argparse
import base64
import binascii
from pathlib import Path
from typing import Any

from mudmap_tui.cli.changes import add_change_options, run_guarded_call
from mudmap_tui.cli.common import print_json
from mudmap_tui.cli.device_call import add_device_options, call_agent
from mudmap_tui.errors import InvalidInput

Subparsers = argparse._SubParsersAction

WIREGUARD_KEY_BYTES = 32


def register(subparsers: Subparsers) -> None:
    wg = subparsers.add_parser("wg", help="WireGuard interfaces and peers",
                               description="Show WireGuard interfaces and change their peers. "
                               "Create the interface with `mudmap iface create DEVICE NAME "
                               "--kind wireguard`. Every change prints its diff and runs under a "
                               "rollback guard.")
    actions = wg.add_subparsers(dest="wg_command", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="show keys, port and peers (never the private key)")
    show.add_argument("device", help="device name")
    show.add_argument("iface", help="WireGuard interface name")
    add_device_options(show)
    show.set_defaults(func=cmd_show)

    peer = actions.add_parser("peer", help="add, change or remove a peer")
    peer_actions = peer.add_subparsers(dest="peer_command", metavar="ACTION", required=True)
    add = peer_actions.add_parser("add", help="add a peer")
    _add_peer_arguments(add, allowed_ips_required=True)
    add.set_defaults(func=cmd_peer_add)
    change = peer_actions.add_parser("set", help="change a peer; --allowed-ips replaces the list")
    _add_peer_arguments(change, allowed_ips_required=False)
    change.add_argument("--no-preshared-key", action="store_true",
                        help="remove the peer's preshared key")
    change.set_defaults(func=cmd_peer_set)
    remove = peer_actions.add_parser("remove", help="remove a peer")
    remove.add_argument("device", help="device name")
    remove.add_argument("iface", help="WireGuard interface name")
    remove.add_argument("public_key", metavar="PUBLIC_KEY", help="the peer's public key (base64)")
    add_device_options(remove)
    remove.set_defaults(func=cmd_peer_remove)
    for parser in (add, change, remove):
        add_change_options(parser)


def _add_peer_arguments(parser: argparse.ArgumentParser, allowed_ips_required: bool) -> None:
    parser.add_argument("device", help="device name")
    parser.add_argument("iface", help="WireGuard interface name")
    parser.add_argument("public_key", metavar="PUBLIC_KEY", help="the peer's public key (base64)")
    parser.add_argument("--allowed-ips", required=allowed_ips_required, metavar="CIDR[,CIDR]",
                        help="networks routed to the peer, comma-separated")
    parser.add_argument("--endpoint", metavar="IP:PORT",
                        help="the peer's address, IPv4:port or [IPv6]:port")
    parser.add_argument("--keepalive", type=int, metavar="S",
                        help="persistent keepalive interval in seconds (0 turns it off)")
    parser.add_argument("--preshared-key-file", type=Path, metavar="PATH",
                        help="file holding the preshared key (base64); read locally, sent "
                        "to the device, never logged")
    add_device_options(parser)


def peer_params(args: argparse.Namespace) -> dict[str, Any]:
    """Build wg.peer.add or wg.peer.update params from the options given."""
    params: dict[str, Any] = {"name": args.iface, "public_key": args.public_key}
    if args.allowed_ips is not None:
        params["allowed_ips"] = [item.strip() for item in args.allowed_ips.split(",")
                                 if item.strip()]
    if args.endpoint is not None:
        params["endpoint"] = args.endpoint
    if args.keepalive is not None:
        params["persistent_keepalive"] = args.keepalive
    if args.preshared_key_file is not None:
        params["preshared_key"] = _read_preshared_key(args.preshared_key_file)
    if getattr(args, "no_preshared_key", False):
        params["preshared_key"] = None
    return params


def _read_preshared_key(path: Path) -> str:
    """Read a preshared key file; the key itself never appears in an error."""
    try:
        key = path.read_text().strip()
    except OSError as error:
        raise InvalidInput("--preshared-key-file", str(path),
                           f"cannot be read ({error.strerror}); give a readable file, such "
                           "as one made with `wg genpsk > FILE`") from None
    if not is_wireguard_key(key):
        raise InvalidInput("--preshared-key-file", str(path),
                           "must contain one key: the base64 of 32 bytes, as printed by "
                           "`wg genpsk`")
    return key


def is_wireguard_key(text: str) -> bool:
    """Tell whether ``text`` is a WireGuard key in its canonical base64 form of 32 bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == WIREGUARD_KEY_BYTES and base64.b64encode(raw).decode() == text


def cmd_show(args: argparse.Namespace) -> int:
    device = call_agent(args, args.device, "wg.get", {"name": args.iface})
    if args.json:
        print_json(device)
        return 0
    for line in describe_wireguard(device):
        print(line)
    return 0


def describe_wireguard(device: dict[str, Any]) -> list[str]:
    lines = [
        f"interface: {device['name']} ({device.get('backend', '?')})",
        f"  public key: {device.get('public_key') or '-'}",
        f"  listen port: {device.get('listen_port') or '-'}",
        f"  fwmark: {device.get('fwmark') or 'off'}",
    ]
    for peer in device.get("peers", []):
        handshake = peer.get("latest_handshake_age")
        lines += [
            "",
            f"peer: {peer['public_key']}",
            f"  endpoint: {peer.get('endpoint') or '-'}",
            f"  allowed ips: {', '.join(peer.get('allowed_ips') or []) or '(none)'}",
            f"  preshared key: {'set' if peer.get('preshared_key_set') else 'none'}",
            f"  persistent keepalive: {peer.get('persistent_keepalive') or 'off'}",
            f"  latest handshake: {f'{handshake} s ago' if handshake is not None else 'never'}",
            f"  transfer: {peer.get('rx_bytes', 0)} B received, {peer.get('tx_bytes', 0)} B sent",
        ]
    return lines


def cmd_peer_add(args: argparse.Namespace) -> int:
    return run_guarded_call(args, args.device, "wg.peer.add", peer_params(args))


def cmd_peer_set(args: argparse.Namespace) -> int:
    return run_guarded_call(args, args.device, "wg.peer.update", peer_params(args))


def cmd_peer_remove(args: argparse.Namespace) -> int:
    params = {"name": args.iface, "public_key": args.public_key}
    return run_guarded_call(args, args.device, "wg.peer.remove", params)
