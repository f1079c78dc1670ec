"""A bare App that shows one dialog, for Pilot tests at the smallest supported size."""

from __future__ import annotations

import html
import re
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

# The smallest terminal the app supports.
SMALL_TERMINAL = (80, 24)


class DialogApp(App[None]):
    """Push ``dialog`` on mount and record what it dismisses with in ``results``."""

    def __init__(self, dialog: Screen[Any]) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


def text_of(app: App[Any], selector: str) -> str:
    """Return the plain text a Static shows."""
    widget = app.screen.query_one(selector, Static)
    return str(widget.render())


def shown_errors(app: App[Any]) -> dict[str, str]:
    """Map each field with a visible error line to the line's text."""
    errors = {}
    for widget in app.screen.query(".field-error"):
        if widget.display and isinstance(widget, Static):
            errors[(widget.id or "").removeprefix("error-")] = str(widget.render())
    return errors


def screen_text(app: App[Any]) -> str:
    """Return the characters on screen as plain text, from the SVG screenshot's text runs."""
    svg = app.export_screenshot()
    runs = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    return "".join(html.unescape(re.sub(r"<[^>]+>", "", run)) for run in runs).replace("\xa0", " ")
