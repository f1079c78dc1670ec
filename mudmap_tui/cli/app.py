"""Open the full-screen app from the command line."""

from __future__ import annotations

import argparse

from mudmap_tui.cli.common import db_path


def open_app(args: argparse.Namespace) -> int:
    # Textual is imported here so that the other commands start without it.
    from mudmap_tui.tui.app import MudmapApp

    MudmapApp(db_path(args)).run()
    return 0
