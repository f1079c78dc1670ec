"""The table of JSON-RPC methods that the agent serves.

Each topic module registers its handlers with :func:`method`; the server imports the topic
modules and dispatches by name. A handler takes the request's ``params`` object (a dict) and
returns a JSON-serialisable result or raises :class:`agent.errors.AgentError`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

Handler = Callable[[Dict[str, Any]], Any]
StateCheck = Callable[[Any, Dict[str, Any]], None]

METHODS: Dict[str, Handler] = {}
# Per write method: a function that validates the params in full without reading or
# changing the system, and one that checks them against a fresh LinkTable
# (agent.links.read_table) without changing anything. Guarded changes run both for every
# operation before they arm their rollback guard.
PARAM_CHECKS: Dict[str, Handler] = {}
STATE_CHECKS: Dict[str, StateCheck] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of JSON-RPC method ``name``."""

    def register(handler: Handler) -> Handler:
        if name in METHODS:
            raise RuntimeError("method %s is registered twice" % name)
        METHODS[name] = handler
        return handler

    return register


def param_check(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the params validator of write method ``name``."""

    def register(check: Handler) -> Handler:
        PARAM_CHECKS[name] = check
        return check

    return register


def state_check(name: str) -> Callable[[StateCheck], StateCheck]:
    """Register the decorated function as the check of method ``name`` against the links."""

    def register(check: StateCheck) -> StateCheck:
        STATE_CHECKS[name] = check
        return check

    return register
