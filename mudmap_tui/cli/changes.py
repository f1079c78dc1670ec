"""``mudmap changes``: guarded changes from a plan file, their status, confirm and drift.

``mudmap changes apply DEVICE --file plan.json`` applies a list of agent write operations
under the device's rollback guard and confirms it over a new SSH connection. The plan file
contains ``{"ops": [{"method": "interfaces.update", "params": {...}}, ...]}`` or just the list.
Every command that changes interfaces or WireGuard peers (``mudmap iface``, ``mudmap wg``)
runs through :func:`run_guarded`, with the options of :func:`add_change_options`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from mudmap_tui.changes import (
    DEFAULT_TIMEOUT,
    ChangeConflict,
    ChangeRunner,
    Outcome,
    Plan,
    change_failure,
    outcome_line,
)
from mudmap_tui.cli.common import open_store, print_json
from mudmap_tui.cli.fleet import _make_pool
from mudmap_tui.device_actions import agent_failure
from mudmap_tui.errors import InvalidInput
from mudmap_tui.ssh.errors import AgentCallError, AgentConflict
from mudmap_tui.store.devices import DeviceStore

Subparsers = argparse._SubParsersAction
T = TypeVar("T")

# The suffix of the copy the device keeps of a configuration file it rewrites.
PREVIOUS_SUFFIX = ".mudmap-prev"


def register(subparsers: Subparsers) -> None:
    changes = subparsers.add_parser(
        "changes", aliases=["change"], help="guarded changes: apply, confirm, status, drift",
        description="Apply changes under a rollback guard: unless the change is confirmed "
        "over a new SSH connection before the timeout, the device restores its previous state "
        "by itself.")
    actions = changes.add_subparsers(dest="changes_command", metavar="ACTION", required=True)

    apply = actions.add_parser("apply", help="apply the operations of a plan file",
                               description="Show the diff, apply the plan under the guard "
                               "and confirm it over a new connection.")
    apply.add_argument("device", help="device name")
    apply.add_argument("--file", required=True, type=Path, metavar="PLAN",
                       help='JSON file with {"ops": [{"method": ..., "params": {...}}]}')
    add_change_options(apply)
    apply.add_argument("--no-confirm", action="store_true",
                       help="leave the change pending; confirm it later with "
                       "mudmap changes confirm")
    _add_common(apply)
    apply.set_defaults(func=cmd_apply)

    status = actions.add_parser("status", help="list pending changes and recent outcomes")
    status.add_argument("device", help="device name")
    _add_common(status)
    status.set_defaults(func=cmd_status)

    confirm = actions.add_parser("confirm", help="confirm a pending change")
    confirm.add_argument("device", help="device name")
    confirm.add_argument("id", help="change id, as printed by apply or status")
    _add_common(confirm)
    confirm.set_defaults(func=cmd_confirm)

    diff = actions.add_parser("diff", help="show drift between runtime and persisted config",
                              description="List each interface as runtime-only, persisted "
                              "or drifted, with the differences. Dynamic (DHCP, SLAAC) and "
                              "link-local addresses are left out.")
    diff.add_argument("device", help="device name")
    diff.add_argument("name", nargs="?", help="only this interface")
    _add_common(diff)
    diff.set_defaults(func=cmd_diff)

    wgquick = actions.add_parser("wg-quick", help="list the device's /etc/wireguard configs")
    wgquick.add_argument("device", help="device name")
    _add_common(wgquick)
    wgquick.set_defaults(func=cmd_wgquick)


# The range of rollback timeouts the agent accepts.
MIN_CONFIRM_TIMEOUT = 5.0
MAX_CONFIRM_TIMEOUT = 3600.0


def confirm_seconds(text: str) -> float:
    """Parse --confirm-timeout, so a bad value fails before anything is planned."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and MIN_CONFIRM_TIMEOUT <= value <= MAX_CONFIRM_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"invalid --confirm-timeout {text!r}: use {MIN_CONFIRM_TIMEOUT:g} to "
            f"{MAX_CONFIRM_TIMEOUT:g} seconds")
    return value


def add_change_options(parser: argparse.ArgumentParser) -> None:
    """Add --dry-run, --persist and --confirm-timeout to a command that changes a device."""
    parser.add_argument("--dry-run", action="store_true",
                        help="print the diff and change nothing")
    parser.add_argument("--persist", action="store_true",
                        help="also write the change to the device's network configuration "
                        "files (ifupdown, systemd-networkd, wg-quick)")
    parser.add_argument("--confirm-timeout", type=confirm_seconds, default=DEFAULT_TIMEOUT,
                        metavar="S",
                        help="seconds the device waits for the confirmation over a new SSH "
                        "connection before it rolls the change back "
                        f"(default {DEFAULT_TIMEOUT:g})")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accept-new", action="store_true",
                        help="record the device's host key if none is known yet")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def with_runner(args: argparse.Namespace, device: str,
                work: Callable[[ChangeRunner], Awaitable[T]]) -> T:
    """Open the inventory and a pool, run ``work`` with a ChangeRunner, close both.

    An agent error that ``work`` lets through becomes a message without the agent's method.
    """
    db = open_store(args)
    try:
        store = DeviceStore(db)
        store.get(device)
        pool = _make_pool(store, getattr(args, "accept_new", False))

        async def run() -> T:
            try:
                return await work(ChangeRunner(pool, db=db))
            except AgentCallError as error:
                raise agent_failure(error) from None
            finally:
                await pool.close()

        return asyncio.run(run())
    finally:
        db.close()


PLAN_OP_EXAMPLE = '{"method": "interfaces.update", "params": {"name": "eth0", "mtu": 1400}}'


def read_plan_file(path: Path) -> list[dict[str, Any]]:
    """Read a plan file's operations; each must be an object with "method" and "params"."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise InvalidInput("--file", str(path), f"cannot be read: {error.strerror}") from None
    except ValueError as error:
        raise InvalidInput("--file", str(path), f"is not valid JSON: {error}") from None
    ops = data.get("ops") if isinstance(data, dict) else data
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("--file", str(path),
                           'must hold {"ops": [...]} or a non-empty list of operations')
    for index, op in enumerate(ops):
        check_plan_op(path, index, op)
    return ops


def check_plan_op(path: Path, index: int, op: Any) -> None:
    """Raise InvalidInput naming the file and the entry unless ``op`` is an operation object."""
    if not isinstance(op, dict):
        raise InvalidInput("--file", str(path), f'ops[{index}] must be an object with "method" '
                           f'and "params", such as {PLAN_OP_EXAMPLE}')
    if not isinstance(op.get("method"), str):
        raise InvalidInput("--file", str(path), f'ops[{index}] has no "method" string; name '
                           'an agent method, such as "interfaces.update"')
    if not isinstance(op.get("params"), dict):
        raise InvalidInput("--file", str(path), f'ops[{index}] has no "params" object; give '
                           'the method\'s parameters, such as {"name": "eth0", "mtu": 1400}')


Ops = list[dict[str, Any]]
OpsSource = Ops | Callable[[ChangeRunner], Awaitable[Ops]]


def run_guarded(args: argparse.Namespace, device: str, ops: OpsSource,
                check: Callable[[ChangeRunner], Awaitable[None]] | None = None, *,
                from_options: bool = True) -> int:
    """Plan ``ops``, print the diff, and unless --dry-run apply and confirm them.

    :param ops: the operations, or a coroutine function that reads the device to build them
    :param check: runs before the plan and raises to refuse the change (lockout checks)
    :param from_options: the CLI built ``ops`` from its options, so errors name those
        options; False for a plan file, whose parameter names the user wrote
    """
    as_json = getattr(args, "json", False)

    async def work(runner: ChangeRunner) -> tuple[Plan, Outcome | None]:
        if check is not None:
            await check(runner)
        planned = ops if isinstance(ops, list) else await ops(runner)
        try:
            plan = await runner.plan(device, planned, persist=args.persist,
                                     from_options=from_options)
        except AgentConflict:
            raise
        except AgentCallError as error:
            raise change_failure(device, error, planned, from_options=from_options) from None
        if not as_json:
            print_plan(plan, dry_run=args.dry_run)
        if args.dry_run:
            return plan, None
        confirm = not getattr(args, "no_confirm", False)
        try:
            outcome = await runner.apply(plan, timeout=args.confirm_timeout, confirm=confirm)
        except ChangeConflict as conflict:
            raise conflict_with_command(conflict, device) from None
        return plan, outcome

    plan, outcome = with_runner(args, device, work)
    files = written_files(outcome) if outcome else may_write(plan)
    if as_json:
        print_json({"device": device, "change_id": outcome.change_id if outcome else None,
                    "status": outcome.status if outcome else "planned", "diff": plan.diff,
                    "text": plan.text, "files": files, "warnings": plan.warnings,
                    "outcome": outcome.__dict__ if outcome else None})
    elif outcome is not None:
        for path in files:
            print(f"  wrote: {path}")
        print(outcome_line(outcome))
    if outcome is None or outcome.status in ("confirmed", "pending"):
        return 0
    return 1


def print_plan(plan: Plan, *, dry_run: bool) -> None:
    """Print the diff and the device's warnings, and in a dry run the files it may write."""
    print(plan.text or "no change")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    if dry_run:
        for path in may_write(plan):
            print(f"  may write: {path}")


def may_write(plan: Plan) -> list[str]:
    """Return the configuration files that persisting the plan may write.

    The device also saves each file's previous version as ``.mudmap-prev`` for the rollback;
    those copies are left out because the user never edits them.
    """
    return [path for path in plan.files if not path.endswith(PREVIOUS_SUFFIX)]


def written_files(outcome: Outcome) -> list[str]:
    """Return the files that the change wrote, as the device's change record lists them."""
    if outcome.status not in ("confirmed", "pending"):
        return []
    return list(outcome.record.get("files") or [])


def conflict_with_command(conflict: ChangeConflict, device: str) -> ChangeConflict:
    """Name the mudmap command that confirms the pending change instead of the agent method."""
    pending = conflict.data.get("pending")
    if not pending:
        return conflict
    message = str(conflict).replace(
        "confirm it with changes.confirm",
        f"confirm it with `mudmap changes confirm {device} {pending}`")
    return ChangeConflict(message, conflict.data)


def run_guarded_call(args: argparse.Namespace, device: str, method: str,
                     params: dict[str, Any]) -> int:
    """Run one agent write method as a guarded change; for commands such as ``wg peer add``."""
    return run_guarded(args, device, [{"method": method, "params": params}])


async def delete_ops(runner: ChangeRunner, device: str, name: str) -> Ops:
    """Return the operation that deletes an interface; WireGuard ones go through wg.delete."""
    interface = (await runner.call(device, "interfaces.get", {"name": name}))["interface"]
    # wireguard-go's links are tun devices; wg.delete also stops its process.
    method = "wg.delete" if interface["kind"] == "wireguard" else "interfaces.delete"
    return [{"method": method, "params": {"name": name}}]


def cmd_apply(args: argparse.Namespace) -> int:
    return run_guarded(args, args.device, read_plan_file(args.file), from_options=False)


def cmd_status(args: argparse.Namespace) -> int:
    status = with_runner(args, args.device, lambda runner: runner.status(args.device))
    if args.json:
        print_json(status)
        return 0
    if not status["pending"]:
        print("no pending change")
    for change in status["pending"]:
        print(f"pending {change['id']}: rolls back in {change['remaining']:.0f} s unless "
              "confirmed")
        print("\n".join("  " + line for line in (change["text"] or "").splitlines()))
    for record in status["unreported"]:
        print(f"{record['status'].replace('_', ' ')} {record['id']}: "
              f"{record.get('reason', '')}".rstrip(": "))
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    try:
        outcome = with_runner(args, args.device,
                              lambda runner: runner.confirm(args.device, args.id))
    except ChangeConflict as conflict:
        if conflict.data.get("status") != "confirmed":
            raise
        # Confirming twice is harmless: the change stays as the first confirm left it.
        outcome = Outcome(args.device, args.id, "confirmed", "already confirmed")
        if not args.json:
            print(f"{args.device}: change {args.id} is already confirmed")
            return 0
    if args.json:
        print_json(outcome.__dict__)
    else:
        print(outcome_line(outcome))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    drift = with_runner(args, args.device, lambda runner: runner.drift(args.device, args.name))
    if args.json:
        print_json(drift)
        return 0
    print(f"configuration owner: {drift['owner']}")
    for entry in drift["interfaces"]:
        source = f" ({entry['source']})" if entry["source"] else ""
        print(f"{entry['name']}: {entry['status']}{source}")
        for change in entry["diff"]:
            print(f"    {change['field']}: persisted {json.dumps(change['persisted'])}, "
                  f"runtime {json.dumps(change['runtime'])}")
    return 0


def cmd_wgquick(args: argparse.Namespace) -> int:
    result = with_runner(args, args.device,
                         lambda runner: runner.call(args.device, "wgquick.list"))
    if args.json:
        print_json(result["configs"])
        return 0
    for config in result["configs"]:
        if "error" in config:
            print(f"{config['name']}: invalid: {config['error']}")
            continue
        enabled = "enabled" if config["enabled"] else "not enabled"
        print(f"{config['name']}: {enabled}, addresses {', '.join(config['addresses']) or '-'}, "
              f"listen port {config['listen_port'] or '-'}, {peer_count(len(config['peers']))}")
        for key in config["duplicate_peers"]:
            print(f"    duplicate peer {key}: wg would merge its sections")
    return 0


def peer_count(count: int) -> str:
    return f"{count} peer" if count == 1 else f"{count} peers"
