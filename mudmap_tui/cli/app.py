"""Open the full-screen app from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mudmap_tui import app_log
from mudmap_tui.cli.common import db_path
from mudmap_tui.errors import MudmapError

DEFAULT_REFRESH_INTERVAL = 5.0


def refresh_seconds(text: str) -> float:
    """Parse --refresh: seconds, 0 or more; argparse reports the ValueError's message."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --refresh {text!r}: give seconds, "
                                         "such as 5 or 0.5") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"invalid --refresh {text!r}: must be 0 (off) to "
                                         "3600 seconds")
    return value


def add_app_options(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """Add the options that change how the app runs, for ``mudmap`` and ``demo up --open``.

    On a subcommand the defaults are suppressed, because argparse would otherwise let the
    subcommand's defaults overwrite the same options given before the subcommand.
    """
    read_only_default = argparse.SUPPRESS if subcommand else False
    refresh_default = argparse.SUPPRESS if subcommand else DEFAULT_REFRESH_INTERVAL
    parser.add_argument("--read-only", action="store_true", default=read_only_default,
                        help="open the app without any action that changes a device")
    parser.add_argument("--refresh", type=refresh_seconds, default=refresh_default,
                        metavar="SECONDS",
                        help="seconds between background refreshes of the selected device "
                             f"(default {DEFAULT_REFRESH_INTERVAL:g}; 0 turns them off)")


def open_app(args: argparse.Namespace) -> int:
    # Textual is imported here so that the other commands start without it.
    from mudmap_tui.keymap import load_keymap
    from mudmap_tui.ssh.hostkeys import HostKeyStore
    from mudmap_tui.tui.app import MudmapApp

    try:
        keymap = load_keymap()
    except MudmapError as error:
        print(f"mudmap: {error}", file=sys.stderr)
        return error.exit_status
    hostkeys = None
    if getattr(args, "demo", False) and not getattr(args, "db", None):
        from mudmap_tui.cli.demo import running_lab

        # The demo lab's host keys are known from its start, so the demo opens without
        # asking the user to accept keys of throwaway devices.
        user_files = [running_lab().known_hosts, Path("~/.ssh/known_hosts").expanduser()]
        hostkeys = HostKeyStore(user_files=user_files)
    app = MudmapApp(
        db_path(args),
        read_only=getattr(args, "read_only", False),
        refresh_interval=getattr(args, "refresh", DEFAULT_REFRESH_INTERVAL),
        hostkeys=hostkeys,
        keymap=keymap,
    )
    # The CLI's stderr log handler would print over the screen, even before the app's
    # own handlers are installed and after they are removed.
    with app_log.terminal_handlers_detached():
        app.run()
    return 0
