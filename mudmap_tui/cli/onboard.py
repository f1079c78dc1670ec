"""``mudmap device onboard`` and ``mudmap device offboard``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from mudmap_tui import onboarding
from mudmap_tui.cli.common import open_store, print_json
from mudmap_tui.cli.fleet import _make_pool
from mudmap_tui.cli.hostkeys import _device_actions
from mudmap_tui.errors import InvalidInput, MudmapError
from mudmap_tui.ssh.hostkeys import HostKeyPolicy
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store import audit
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    actions = _device_actions(subparsers)
    onboard = actions.add_parser(
        "onboard", help="install mudmap's SSH key on a device after one password login",
        description="Log in once with a password (asked for, or read from stdin with "
        "--password-stdin) or an existing key, install a public key for root or for a "
        "dedicated mudmap account with passwordless sudo, check that the key logs in, and "
        "record the key and user in the inventory. Running it again changes nothing. The "
        "password is never stored, logged or shown.",
    )
    onboard.add_argument("name", help="device name")
    onboard.add_argument("--password-stdin", action="store_true",
                         help="read the login password from the first line of stdin")
    onboard.add_argument("--login-key", type=Path, metavar="PATH",
                         help="log in with this existing private key instead of a password")
    onboard.add_argument("--key", type=Path, metavar="PATH",
                         help="install this key (private key or its .pub) instead of the "
                         "Ed25519 key mudmap keeps in its data directory")
    onboard.add_argument("--account", choices=onboarding.ACCOUNTS, default="root",
                         help="account the key logs into (default %(default)s); mudmap "
                         "creates a user with a NOPASSWD sudoers drop-in")
    onboard.add_argument("--login-user", metavar="USER",
                         help="user to log in as with the password or login key (default: "
                         "the device's user, or root when that is the mudmap account)")
    onboard.add_argument("--accept-new", action="store_true",
                         help="record the device's host key if none is known yet")
    onboard.add_argument("--json", action="store_true", help="print the result as JSON")
    onboard.set_defaults(func=cmd_onboard)

    offboard = actions.add_parser(
        "offboard", help="remove what onboarding added to a device",
        description="Remove the key line, and the mudmap account and sudoers drop-in if "
        "onboarding created them, as recorded on the device in "
        f"{onboarding.STATE_FILE}. Nothing else is touched.",
    )
    offboard.add_argument("name", help="device name")
    offboard.add_argument("--accept-new", action="store_true",
                          help="record the device's host key if none is known yet")
    offboard.add_argument("--json", action="store_true", help="print the result as JSON")
    offboard.set_defaults(func=cmd_offboard)


def read_credentials(args: argparse.Namespace) -> onboarding.Credentials:
    """Get the login secret: a key file, a line of stdin, or an interactive prompt."""
    if args.login_key is not None:
        if not args.login_key.exists():
            raise InvalidInput("login key", str(args.login_key), "the file does not exist")
        return onboarding.Credentials(key_file=args.login_key)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("password", "", "stdin held no password line; pipe it in, "
                               "for example from a password manager")
        return onboarding.Credentials(password=password)
    if not sys.stdin.isatty():
        raise InvalidInput("password", "", "stdin is not a terminal; use --password-stdin "
                           "or --login-key")
    return onboarding.Credentials(password=getpass.getpass(f"password for {args.name}: "))


def cmd_onboard(args: argparse.Namespace) -> int:
    credentials = read_credentials(args)
    key = onboarding.install_key(args.key)
    db = open_store(args)
    try:
        store = DeviceStore(db)
        device = store.get(args.name)
        previous = _previous_login(db, device, args.account, str(key.identity_file))
        result = asyncio.run(_onboard(store, args, credentials, key))
        params = {"account": args.account, "key_fingerprint": key.fingerprint,
                  "identity_file": str(key.identity_file), "report": result.report,
                  "previous_user": previous[0], "previous_identity_file": previous[1]}
        store.update(args.name, {"user": args.account, "identity_file": str(key.identity_file)})
        audit.record(db, "device.onboard", device=args.name, params=params,
                     detail="changed" if result.changed else "already onboarded")
    finally:
        db.close()
    if args.json:
        print_json({"device": args.name, "account": args.account,
                    "identity_file": result.identity_file,
                    "key_fingerprint": result.key_fingerprint, "report": result.report})
    else:
        state = "onboarded" if result.changed else "already onboarded, nothing changed"
        print(f"{args.name}: {state}; key {result.key_fingerprint} logs in as {args.account}")
    return 0


async def _onboard(store: DeviceStore, args: argparse.Namespace,
                   credentials: onboarding.Credentials,
                   key: onboarding.InstallKey) -> onboarding.OnboardResult:
    pool = _make_pool(store, args.accept_new)
    try:
        target = pool.target(args.name)
        login_user = args.login_user or (
            "root" if target.user == onboarding.MUDMAP_ACCOUNT else target.user)
        target = dataclasses.replace(target, user=login_user)
        # A device behind a jump host is reached through the pool's connection to it.
        tunnel = await pool._tunnel_for(args.name, target)
        policy = HostKeyPolicy.ACCEPT_NEW if args.accept_new else HostKeyPolicy.STRICT
        return await onboarding.onboard(target, args.account, credentials, key,
                                        hostkeys=pool.hostkeys, policy=policy, tunnel=tunnel)
    finally:
        await pool.close()


def cmd_offboard(args: argparse.Namespace) -> int:
    db = open_store(args)
    try:
        store = DeviceStore(db)
        device = store.get(args.name)
        try:
            report = asyncio.run(_offboard(_make_pool(store, args.accept_new), args.name))
        except MudmapError as error:
            audit.record(db, "device.offboard", device=args.name, result="error",
                         detail=str(error))
            raise
        _restore_login(store, db, device.name, report)
        audit.record(db, "device.offboard", device=args.name, params={"report": report})
    finally:
        db.close()
    if args.json:
        print_json({"device": args.name, "report": report})
    elif report.get("state") == "missing":
        print(f"{args.name}: not onboarded by mudmap ({onboarding.STATE_FILE} is absent); "
              "nothing removed")
    else:
        removed = [name for name, value in sorted(report.items()) if value == "removed"
                   and name != "state"]
        print(f"{args.name}: offboarded; removed {', '.join(removed) or 'nothing'}")
    return 0


async def _offboard(pool: ConnectionPool, name: str) -> dict[str, Any]:
    try:
        connection = await pool.connection(name)
        conn = await connection.ensure()
        return await onboarding.offboard(conn, name, connection.target.user)
    finally:
        await pool.close()


def _last_onboarding(db: Database, name: str) -> dict[str, Any]:
    for entry in audit.list(db, device=name, action="device.onboard", limit=20):
        if entry.result == "ok":
            return entry.params
    return {}


def _previous_login(db: Database, device: Device, account: str,
                    identity_file: str) -> tuple[str | None, str | None]:
    """Return the user and key the device had before its first onboarding."""
    if device.user == account and device.identity_file == identity_file:
        last = _last_onboarding(db, device.name)
        return last.get("previous_user"), last.get("previous_identity_file")
    return device.user, device.identity_file


def _restore_login(store: DeviceStore, db: Database, name: str,
                   report: dict[str, Any]) -> None:
    """Give the device back the user and key it had before onboarding changed them."""
    if report.get("state") == "missing":
        return
    last = _last_onboarding(db, name)
    store.update(name, {"user": last.get("previous_user") or "",
                        "identity_file": last.get("previous_identity_file") or ""})
