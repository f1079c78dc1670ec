"""The filter bar that ``/`` opens over the focused tree or table."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.widgets import Input

if TYPE_CHECKING:
    from mudmap_tui.tui.app import MudmapApp


class FilterBar(Input):
    """Typing narrows the target; Enter keeps the filter, Escape clears it."""

    BINDINGS = [Binding("escape", "cancel", "Clear the filter", id="filter.clear")]

    def action_cancel(self) -> None:
        cast("MudmapApp", self.app).filter_cancelled()
