"""The command palette's provider: every allowed action as an "area: verb" command."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual.command import DiscoveryHit, Hit, Hits, Provider

from mudmap_tui import actions

if TYPE_CHECKING:
    from mudmap_tui.tui.app import MudmapApp


class ActionCommands(Provider):
    """Lists the action table; read-only mode leaves out actions that change a device."""

    def _actions(self) -> list[actions.Action]:
        app = cast("MudmapApp", self.app)
        return [action for action in actions.ACTIONS
                if app.action_allowed(action) and action.id != "app.quit"]

    def _help(self, action: actions.Action) -> str:
        app = cast("MudmapApp", self.app)
        # The palette reads help as console markup; keys such as "[" must not be tags.
        return escape(f"{action.description} · key {app.key_of(action)}")

    async def discover(self) -> Hits:
        app = cast("MudmapApp", self.app)
        for action in self._actions():
            yield DiscoveryHit(action.title, partial(app.run_registered, action.id),
                               help=self._help(action))

    async def search(self, query: str) -> Hits:
        app = cast("MudmapApp", self.app)
        matcher = self.matcher(query)
        for action in self._actions():
            score = matcher.match(action.title)
            if score > 0:
                yield Hit(score, matcher.highlight(action.title),
                          partial(app.run_registered, action.id), help=self._help(action))
