"""Read a device's status and the data of each tab through the pool and the agent.

Each function takes an explicit timeout, so an unreachable device costs the caller at most
that many seconds and never blocks anything else.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mudmap_tui.ssh.agent_channel import AgentBundle, AgentSession, agent_session, default_bundle
from mudmap_tui.ssh.errors import SshError, TimedOut
from mudmap_tui.ssh.pool import ConnectionPool

log = logging.getLogger("mudmap.device_data")

DEFAULT_TIMEOUT = 10.0
JOURNAL_LINES = 200

# The agent method behind each tab that reads from the device.
TAB_METHODS = {
    "overview": ("facts", {}),
    "interfaces": ("interfaces.list", {}),
    "services": ("services.list", {}),
    "logs": ("journal.tail", {"lines": JOURNAL_LINES}),
}


class DeviceReader:
    """Start agent sessions from one pool and read device data within timeouts."""

    def __init__(self, pool: ConnectionPool, bundle: AgentBundle | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.pool = pool
        self._bundle = bundle
        self.timeout = timeout

    @property
    def bundle(self) -> AgentBundle:
        if self._bundle is None:
            self._bundle = default_bundle()
        return self._bundle

    async def session(self, name: str, timeout: float | None = None) -> AgentSession:
        """Return the device's started agent session; raise TimedOut after ``timeout``."""
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(self._session(name), limit)
        except asyncio.TimeoutError:
            raise TimedOut(name, "connect", limit) from None

    async def _session(self, name: str) -> AgentSession:
        connection = await self.pool.connection(name)
        return await agent_session(connection, self.bundle)

    async def hello(self, name: str) -> dict[str, Any]:
        session = await self.session(name)
        return dict(session.hello or {})

    async def call(self, name: str, method: str, params: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any:
        """Call one agent method on the device, connecting first when needed."""
        limit = self.timeout if timeout is None else timeout
        session = await self.session(name, limit)
        return await session.call(method, params or {}, timeout=limit)

    async def read_tab(self, name: str, tab: str) -> Any:
        """Return the data of ``tab`` for the device, as the agent returns it."""
        if tab == "wireguard":
            return await self.read_wireguard(name)
        if tab == "interfaces":
            return await self.read_interfaces(name)
        method, params = TAB_METHODS[tab]
        return await self.call(name, method, params)

    async def read_interfaces(self, name: str) -> dict[str, Any]:
        """Return ``interfaces.list`` with a ``drift`` key: each interface's drift entry."""
        value = dict(await self.call(name, "interfaces.list"))
        value["drift"] = await self.read_drift(name)
        return value

    async def read_drift(self, name: str) -> dict[str, dict[str, Any]] | None:
        """Return ``changes.drift`` by interface name, or None when the call fails.

        Drift fills only one column, so an agent without it must not fail the whole tab.
        """
        try:
            result = await self.call(name, "changes.drift")
        except SshError as error:
            log.info("%s: reading changes.drift failed: %s", name, error)
            return None
        return {str(entry.get("name")): entry for entry in result.get("interfaces", [])}

    async def read_wireguard(self, name: str) -> dict[str, Any]:
        """Return ``wg.get`` of every WireGuard interface and the device's wg-quick configs.

        ``configs`` is ``wgquick.list``'s list, or None with ``configs_error`` when that call
        fails, so the running interfaces still show.
        """
        listing = await self.call(name, "interfaces.list")
        names = [i["name"] for i in listing.get("interfaces", []) if i.get("kind") == "wireguard"]
        interfaces = [await self.call(name, "wg.get", {"name": wg_name}) for wg_name in names]
        try:
            configs = (await self.call(name, "wgquick.list")).get("configs", [])
        except SshError as error:
            log.info("%s: reading wgquick.list failed: %s", name, error)
            return {"interfaces": interfaces, "configs": None, "configs_error": str(error)}
        return {"interfaces": interfaces, "configs": configs, "configs_error": None}

    async def reconnect(self, name: str) -> None:
        """Drop the device's pooled connection, so the next call opens a new one."""
        connection = self.pool.cached(name)
        if connection is not None:
            await connection.close()
