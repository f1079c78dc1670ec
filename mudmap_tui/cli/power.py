"""``mudmap reboot`` and ``mudmap shutdown``: confirm, act through the agent, follow the device."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

from mudmap_tui import power
from mudmap_tui.cli.common import positive_seconds, print_json
from mudmap_tui.cli.device_call import add_device_options, run_on_device
from mudmap_tui.device_actions import DeviceLink, audited
from mudmap_tui.errors import MudmapError, UsageError

Subparsers = argparse._SubParsersAction


def register(subparsers: Subparsers) -> None:
    for action, summary in (("reboot", "reboot devices and wait until they answer again"),
                            ("shutdown", "power devices off and confirm they went down")):
        parser = subparsers.add_parser(
            action, help=summary,
            description=f"{summary[0].upper()}{summary[1:]}. Each device's name must be typed "
            "to confirm, unless --yes is given.",
        )
        parser.add_argument("devices", nargs="+", metavar="DEVICE", help="device name")
        parser.add_argument("--yes", action="store_true",
                            help="do not ask; act on every device named")
        # shutdown waits only for the connection to drop, so it has no up timeout.
        if action == "reboot":
            parser.add_argument("--up-timeout", type=positive_seconds, default=power.UP_TIMEOUT,
                                metavar="S",
                                help="seconds to wait for a rebooted device to accept SSH again "
                                "(default %(default)s)")
        add_device_options(parser)
        parser.set_defaults(func=cmd_power, action=action)


def confirm(device: str, action: str) -> bool:
    """Ask the user to type the device's name; anything else declines."""
    if not sys.stdin.isatty():
        raise UsageError(f"cannot ask to confirm the {action} of {device}: stdin is not a "
                         "terminal; add --yes")
    typed = input(f"Type {device} to {action} it: ").strip()
    return typed == device


def cmd_power(args: argparse.Namespace) -> int:
    chosen = [device for device in dict.fromkeys(args.devices)
              if args.yes or confirm(device, args.action)]
    skipped = [device for device in args.devices if device not in chosen]
    for device in skipped:
        print(f"{device}: not confirmed; left running", file=sys.stderr)
    results: list[dict[str, Any]] = []
    # The worst error's status, so a device not found exits 2 as it does in other commands.
    failed_status = 0
    for device in chosen:
        try:
            results.append(_power_one(args, device))
        except MudmapError as error:
            failed_status = max(failed_status, error.exit_status)
            results.append({"device": device, "action": args.action, "error": str(error)})
            print(f"mudmap: {error}", file=sys.stderr)
    if args.json:
        print_json(results)
    else:
        for result in results:
            if "error" not in result:
                print(format_result(result))
    if failed_status:
        return failed_status
    return 1 if skipped else 0


class ExpectedOutage(logging.Filter):
    """Log the device's lost connections as INFO while it reboots or powers off.

    Their warnings ("agent channel broke", "reconnect attempt failed") describe the outage
    the user asked for, so they stay in the log file but not on the terminal.
    """

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "device", None) == self.device and record.levelno == logging.WARNING:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


@contextlib.contextmanager
def expected_outage(device: str) -> Iterator[None]:
    logger = logging.getLogger("mudmap.ssh")
    quiet = ExpectedOutage(device)
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _power_one(args: argparse.Namespace, device: str) -> dict[str, Any]:
    up_timeout = getattr(args, "up_timeout", power.UP_TIMEOUT)

    async def work(link: DeviceLink, db: Database) -> power.PowerResult:
        return await audited(db, f"device.{args.action}", device, {},
                             lambda: power.power_action(link, args.action,
                                                        up_timeout=up_timeout))

    with expected_outage(device):
        result = run_on_device(args, device, work)
    return {"device": device, "action": args.action,
            "went_down_after": round(result.went_down_after, 2),
            "back_after": None if result.back_after is None else round(result.back_after, 2),
            "downtime": None if result.downtime is None else round(result.downtime, 2)}


def format_result(result: dict[str, Any]) -> str:
    if result["action"] == "shutdown":
        return f"{result['device']}: went down {result['went_down_after']:.1f} s after the request"
    return (f"{result['device']}: rebooted; down {result['went_down_after']:.1f} s after the "
            f"request, answering again after {result['downtime']:.1f} s of downtime")
