"""Shared plumbing of the CLI commands that act on one device through its agent."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlite_utils import Database

from mudmap_tui.cli.common import open_store, positive_seconds
from mudmap_tui.cli.fleet import _make_pool
from mudmap_tui.device_actions import DeviceLink, audited
from mudmap_tui.store.devices import DeviceStore

T = TypeVar("T")
Work = Callable[[DeviceLink, Database], Awaitable[T]]


def add_device_options(parser: argparse.ArgumentParser, *, json_output: bool = True) -> None:
    """Add --accept-new, --timeout and (for commands that print a result) --json."""
    parser.add_argument("--accept-new", action="store_true",
                        help="record the device's host key if none is known yet; a changed "
                        "key is still rejected")
    parser.add_argument("--timeout", type=positive_seconds, default=60.0, metavar="S",
                        help="seconds to wait for the device's response (default %(default)s)")
    if json_output:
        parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run_on_device(args: argparse.Namespace, device: str, work: Work[T]) -> T:
    """Open the inventory and a connection to ``device``, run ``work``, close both."""
    db = open_store(args)
    try:
        store = DeviceStore(db)
        store.get(device)
        pool = _make_pool(store, getattr(args, "accept_new", False))

        async def run() -> T:
            async with DeviceLink(pool, device) as link:
                return await work(link, db)

        return asyncio.run(run())
    finally:
        db.close()


def call_agent(args: argparse.Namespace, device: str, method: str,
               params: dict[str, Any] | None = None) -> Any:
    """Call one agent method that only reads, and return its result."""
    return run_on_device(
        args, device, lambda link, _db: link.call(method, params, timeout=args.timeout))


def change_with_agent(args: argparse.Namespace, device: str, action: str, method: str,
                      params: dict[str, Any]) -> Any:
    """Call one agent method that changes the device, and record it in the audit log."""

    async def work(link: DeviceLink, db: Database) -> Any:
        return await audited(db, action, device, params,
                             lambda: link.call(method, params, timeout=args.timeout))

    return run_on_device(args, device, work)
