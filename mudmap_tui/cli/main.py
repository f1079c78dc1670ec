"""The ``mudmap`` command: argument parsing and dispatch to the topic modules."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence

from mudmap_tui import __version__
from mudmap_tui.errors import MudmapError
from mudmap_tui.lab.paths import lab_known_hosts

# Each topic module adds its subcommands with register(subparsers) and sets
# ``func`` (args -> exit status) on every leaf parser.
TOPIC_MODULES = ("device", "demo", "fleet", "hostkeys", "onboard", "iface", "wg", "service",
                 "logs", "files", "backup", "power", "audit", "changes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mudmap",
        description="Run a fleet of Linux network devices over SSH.",
    )
    parser.add_argument("--version", action="version", version=f"mudmap {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="inventory database file (default: $MUDMAP_DB, else the user data directory)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the demo lab's inventory instead of your own",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    from mudmap_tui.cli.app import add_app_options

    add_app_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in TOPIC_MODULES:
        module = __import__(f"mudmap_tui.cli.{name}", fromlist=["register"])
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo and args.db:
        parser.error("--demo and --db each choose an inventory: give only one of them")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    with demo_known_hosts(args):
        return dispatch(args)


def dispatch(args: argparse.Namespace) -> int:
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        from mudmap_tui.cli.app import open_app

        return open_app(args)
    try:
        return func(args)
    except MudmapError as error:
        print(f"mudmap: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("mudmap: interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def demo_known_hosts(args: argparse.Namespace) -> Iterator[None]:
    """Point host key checks at the demo lab's known_hosts while a --demo command runs.

    The lab lists its devices' host keys in a file of its own, which goes away with the lab,
    so the demo never adds throwaway keys to the user's file. The variable is restored
    afterwards because tests call main() several times in one process.
    """
    if not args.demo or args.db or "MUDMAP_KNOWN_HOSTS" in os.environ:
        yield
        return
    os.environ["MUDMAP_KNOWN_HOSTS"] = str(lab_known_hosts())
    try:
        yield
    finally:
        del os.environ["MUDMAP_KNOWN_HOSTS"]


if __name__ == "__main__":
    sys.exit(main())
