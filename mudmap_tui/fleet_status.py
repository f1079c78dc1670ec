"""The fleet status operation: each device's agent hello, facts and interfaces."""

from __future__ import annotations

import asyncio

from mudmap_tui import fleet
from mudmap_tui.ssh.agent_channel import AgentBundle, agent_session, default_bundle
from mudmap_tui.ssh.pool import ConnectionPool

# Facts (OS, kernel, CPUs, network managers) rarely change while a connection is up, so
# a refresh within this many seconds reuses them. Interfaces are read on every call.
FACTS_MAX_AGE = 60.0


def status_operation(
    pool: ConnectionPool, bundle: AgentBundle | None = None, facts_max_age: float = FACTS_MAX_AGE
) -> fleet.Operation:
    """Build the operation whose value is ``{"hello", "facts", "interfaces"}``.

    ``interfaces`` is the list of interface objects that the agent's interfaces.list returns.
    """

    async def operation(
        name: str,
        deadline: float,
        emit: fleet.EventCallback,
    ) -> fleet.DeviceResult:
        connection = await fleet.connect_within(pool, name, deadline)
        session = await asyncio.wait_for(
            agent_session(connection, bundle or default_bundle()), fleet.remaining(deadline)
        )
        facts, interfaces = await asyncio.wait_for(
            asyncio.gather(
                session.call_cached("facts", facts_max_age), session.call("interfaces.list")
            ),
            fleet.remaining(deadline),
        )
        # interfaces.list returns {"interfaces": [...]}; the value keeps just the list.
        value = {"hello": session.hello, "facts": facts,
                 "interfaces": interfaces.get("interfaces", [])}
        return fleet.DeviceResult(name, fleet.Outcome.OK, value=value)

    return operation
