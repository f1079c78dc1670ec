"""``mudmap device forget-hostkey``: remove a device's recorded host key."""

from __future__ import annotations

import argparse

from mudmap_tui.cli.common import open_store
from mudmap_tui.errors import UsageError
from mudmap_tui.ssh.config import ConnectTarget, SshSettings, resolve_device
from mudmap_tui.ssh.hostkeys import HostKeyStore, host_entry
from mudmap_tui.store.devices import DeviceStore

Subparsers = argparse._SubParsersAction


def _device_actions(subparsers: Subparsers) -> Subparsers:
    """Return the ``device`` command's action subparsers, creating ``device`` if missing."""
    device = subparsers.choices.get("device")
    if device is None:
        device = subparsers.add_parser("device", help="manage the device inventory")
        return device.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    for action in device._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return device.add_subparsers(dest="device_command", metavar="ACTION", required=True)


def register(subparsers: Subparsers) -> None:
    forget = _device_actions(subparsers).add_parser(
        "forget-hostkey", help="remove a device's recorded SSH host key",
        description="Remove the device's host key from mudmap's known_hosts file, so the "
        "next connection treats the key as unknown. Do this only after checking that the key "
        "changed for a good reason, such as a reinstall.",
    )
    forget.add_argument("name", help="device name")
    forget.add_argument("--force", action="store_true",
                        help="forget the key even when other devices use the same host and "
                        "port, whose key is the same entry and goes too")
    forget.set_defaults(func=cmd_forget_hostkey)


def cmd_forget_hostkey(args: argparse.Namespace) -> int:
    db = open_store(args)
    try:
        devices = DeviceStore(db)
        device = devices.get(args.name)
        settings = SshSettings()
        target = resolve_device(device, settings)
        sharing = [other.name for other in devices.list() if other.name != device.name
                   and _same_address(resolve_device(other, settings), target)]
    finally:
        db.close()
    entry = host_entry(target.host, target.port)
    others = ", ".join(sharing)
    if sharing and not args.force:
        raise UsageError(f"{args.name} shares {entry} with {others}; known_hosts has one key "
                         f"entry per address, so forgetting it makes the key of {others} "
                         "unknown too. Check that the key changed for all of them, then run "
                         "the command again with --force")
    store = HostKeyStore()
    removed = store.forget(target.host, target.port)
    print(f"removed {removed} key(s) for {entry} from {store.path}")
    if sharing and removed:
        verb = "uses" if len(sharing) == 1 else "use"
        print(f"{others} {verb} {entry} too, so mudmap asks to accept the key again "
              "for them as well")
    for path in store.user_files_listing(target.host, "", target.port):
        print(f"{path} also lists {entry}; mudmap does not edit it. Remove it with: "
              f"ssh-keygen -R '{entry}' -f {path}")
    return 0


def _same_address(one: ConnectTarget, other: ConnectTarget) -> bool:
    return one.host == other.host and one.port == other.port
