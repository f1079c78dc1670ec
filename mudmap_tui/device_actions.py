"""Call the agent on one device for a user's command, and audit the commands that change it.

Example::

    async with DeviceLink(pool, "edge1") as link:
        result = await link.call("interfaces.update", {"name": "br0", "mtu": 1400})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlite_utils import Database

from mudmap_tui.errors import MudmapError
from mudmap_tui.ssh.agent_channel import AgentSession, agent_session, default_bundle
from mudmap_tui.ssh.connection import DeviceConnection
from mudmap_tui.ssh.errors import AgentCallError, TimedOut
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store import audit

T = TypeVar("T")

# The user's next step for each agent error kind, appended to the agent's message.
FIXES_BY_KIND = {
    "invalid_params": "correct the value and run the command again",
    "not_found": "check the name, for example with `mudmap iface list {device}`",
    "exists": "choose another name, or change or delete the existing one",
    "permission_denied": "log in as root, or give the login user passwordless sudo",
    "unsupported": "the device lacks what this needs (see the message)",
    "conflict": "change the device's state first (see the message), then retry",
    "timed_out": "the change may still complete; read the state back before retrying",
    "failed": "see the message; the agent's log on the device has details",
}


class DeviceCommandFailed(MudmapError):
    """A command on a device failed; exit status 2 for invalid input, 1 for the rest."""

    def __init__(self, device: str, message: str, kind: str, exit_status: int = 1) -> None:
        self.device = device
        self.kind = kind
        self.exit_status = exit_status
        super().__init__(message)


# Placeholders for the value of an option named in a "missing" error.
OPTION_METAVARS = {"parent": "NAME", "peer": "NAME", "master": "NAME", "name": "NAME"}


def _fix(error: AgentCallError, kind: str, params: dict[str, Any] | None) -> str:
    """Return the user's next step for an agent error on one method."""
    if kind == "invalid_params" and error.data.get("missing"):
        field = str(error.data.get("field", ""))
        metavar = OPTION_METAVARS.get(field, "VALUE")
        return f"give --{field.replace('_', '-')} {metavar}"
    if kind == "not_found" and error.operation.startswith("wg."):
        interface = (params or {}).get("name") or "IFACE"
        return (f"check the interface and the peer's key with "
                f"`mudmap wg show {error.device} {interface}`")
    if kind == "exists" and error.operation == "addresses.add":
        return "choose another address, or remove the existing one first"
    return FIXES_BY_KIND.get(kind, FIXES_BY_KIND["failed"]).format(device=error.device)


def agent_failure(
    error: AgentCallError, params: dict[str, Any] | None = None
) -> DeviceCommandFailed:
    """Turn an agent error into one line naming the device, the value and the fix.

    ``params`` are the call's parameters, which some fixes name (the WireGuard interface).
    """
    kind = (
        error.agent_kind
        if type(error) is not AgentCallError
        else str(error.data.get("kind", "failed"))
    )
    message = f"{error.device}: {error.operation} failed: {error.message}; "
    message += _fix(error, kind, params)
    status = 2 if kind == "invalid_params" else 1
    return DeviceCommandFailed(error.device, message, kind, status)


class DeviceLink:
    """One device's pooled connection and, on first use, its agent session."""

    def __init__(self, pool: ConnectionPool, device: str) -> None:
        self.pool = pool
        self.device = device
        self._session: AgentSession | None = None

    async def connection(self) -> DeviceConnection:
        return await self.pool.connection(self.device)

    async def session(self) -> AgentSession:
        if self._session is None or not self._session.running:
            self._session = await agent_session(await self.connection(), default_bundle())
        return self._session

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 60.0,
        change: bool = False,
    ) -> Any:
        """Call an agent method; an agent error becomes DeviceCommandFailed.

        With ``change`` a timeout says that the change may have been applied, because the
        request was sent and only the response is missing.
        """
        session = await self.session()
        try:
            return await session.call(method, params or {}, timeout=timeout)
        except AgentCallError as error:
            raise agent_failure(error, params) from None
        except TimedOut as error:
            if not change:
                raise
            raise DeviceCommandFailed(
                self.device,
                f"{error}; the change may have been applied and cut the connection: check "
                f"the device (console, or `mudmap iface list {self.device}` once it answers) "
                "before retrying",
                "timed_out",
            ) from None

    async def __aenter__(self) -> DeviceLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pool.close()


async def audited(
    db: Database, action: str, device: str, params: dict[str, Any], work: Callable[[], Awaitable[T]]
) -> T:
    """Run ``work`` and record an audit entry with its outcome, also when it raises.

    ``params`` pass through the audit log's redaction, which replaces secret-named keys.
    """
    try:
        result = await work()
    except MudmapError as error:
        audit.record(db, action, device=device, params=params, result="error", detail=str(error))
        raise
    audit.record(db, action, device=device, params=params, result="ok")
    return result
