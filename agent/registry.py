"""The table of JSON-RPC methods that the agent serves.

Each topic module registers its handlers with :func:`method`; the server imports the topic
modules and dispatches by name. A handler takes the request's ``params`` object (a dict) and
returns a JSON-serialisable result or raises :class:`agent.errors.AgentError`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

Handler = Callable[[Dict[str, Any]], Any]

METHODS: Dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of JSON-RPC method ``name``."""

    def register(handler: Handler) -> Handler:
        if name in METHODS:
            raise RuntimeError("method %s is registered twice" % name)
        METHODS[name] = handler
        return handler

    return register
