"""``mudmap put`` and ``mudmap get``: copy one file to or from a device over SFTP."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlite_utils import Database

from mudmap_tui import file_transfer
from mudmap_tui.cli.common import print_json
from mudmap_tui.cli.device_call import add_device_options, run_on_device
from mudmap_tui.device_actions import DeviceLink, audited

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    put = subparsers.add_parser(
        "put", help="copy a local file to a device",
        description="Upload a file over SFTP as the login user, keeping its permission bits "
        "except setuid, setgid and sticky (unless --mode sets them). The remote file is "
        "replaced atomically; an existing one only with --force.")
    put.add_argument("device", help="device name")
    put.add_argument("local", type=Path, help="local file")
    put.add_argument("remote", help="absolute path on the device")
    put.add_argument("--force", action="store_true", help="replace an existing remote file")
    put.add_argument("--mode", type=_octal_mode, metavar="OCTAL",
                     help="permission bits of the remote file, such as 0644 or 4755 "
                     "(default: the local file's, without setuid, setgid and sticky)")
    add_device_options(put)
    put.set_defaults(func=cmd_put)

    get = subparsers.add_parser(
        "get", help="copy a file from a device",
        description="Download a file over SFTP, keeping its permission bits except setuid, "
        "setgid and sticky, masked with the umask. The local file "
        "is written to a temporary file and renamed into place; an existing one is only "
        "replaced with --force.")
    get.add_argument("device", help="device name")
    get.add_argument("remote", help="path on the device")
    get.add_argument("local", type=Path, help="local file")
    get.add_argument("--force", action="store_true", help="replace an existing local file")
    add_device_options(get)
    get.set_defaults(func=cmd_get)


def _octal_mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise argparse.ArgumentTypeError(
            f"invalid mode {text!r}: give octal permission bits from 0000 to 7777, such as 0644")
    return mode


def cmd_put(args: argparse.Namespace) -> int:
    params: dict[str, object] = {"local": str(args.local), "remote": args.remote,
                                 "force": args.force}
    if args.mode is not None:
        params["mode"] = f"{args.mode:04o}"

    async def work(link: DeviceLink, db: Database) -> file_transfer.Transfer:
        async def upload() -> file_transfer.Transfer:
            return await file_transfer.put(await link.connection(), args.local, args.remote,
                                           force=args.force, mode=args.mode)

        return await audited(db, "file.put", args.device, params, upload)

    return _report(args, run_on_device(args, args.device, work), "copied")


def cmd_get(args: argparse.Namespace) -> int:
    async def work(link: DeviceLink, _db: Database) -> file_transfer.Transfer:
        return await file_transfer.get(await link.connection(), args.remote, args.local,
                                       force=args.force)

    return _report(args, run_on_device(args, args.device, work), "copied")


def _report(args: argparse.Namespace, transfer: file_transfer.Transfer, verb: str) -> int:
    if args.json:
        print_json({"device": args.device, "source": transfer.source, "target": transfer.target,
                    "size": transfer.size, "mode": f"{transfer.mode:04o}"})
    else:
        print(f"{args.device}: {verb} {transfer.source} to {transfer.target} "
              f"({transfer.size} bytes, mode {transfer.mode:04o})")
    return 0
