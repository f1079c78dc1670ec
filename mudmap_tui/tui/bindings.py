"""Textual bindings built from the action table, so keys, help and palette never disagree."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from mudmap_tui import actions


def bindings_for(scope: str) -> list[BindingType]:
    """Return the bindings of every action in ``scope``; each dispatches through the app.

    The binding id is the action id, so a keymap file can remap it, and the action string
    names the app, so read-only mode can hide and reject device changes in one place.
    """
    return [
        Binding(action.key, f"app.run_registered('{action.id}')", action.short,
                show=action.show, id=action.id)
        for action in actions.in_scope(scope)
    ]
