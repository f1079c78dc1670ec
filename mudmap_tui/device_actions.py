"""Call the agent on one device for a user's command, and audit the commands that change it.

Example::

    async with DeviceLink(pool, "edge1") as link:
        result = await link.call("interfaces.update", {"name": "br0", "mtu": 1400})
"""

from __future__ import annotations

import re
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

# The user's next step for each agent error kind, appended to the agent's message. An
# unsupported feature has no generic step: the agent's message names what is missing.
FIXES_BY_KIND = {
    "invalid_params": "correct the value and run the command again",
    "not_found": "check the name, for example with `mudmap iface list {device}`",
    "exists": "choose another name, or change or delete the existing one",
    "permission_denied": "log in as root, or give the login user passwordless sudo",
    "unsupported": "",
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

# Agent parameters that the CLI sets through an option of another name.
OPTION_NAMES = {
    "new_name": "--rename",
    "allowed_ips": "--allowed-ips",
    "persistent_keepalive": "--keepalive",
    "listen_port": "--listen-port",
    "preshared_key": "--preshared-key-file",
    "id": "--id",
    "mtu": "--mtu",
    "public_key": "PUBLIC_KEY",
    "lines": "-n/--lines",
    "file": "--file",
}
_INVALID_FIELD_RE = re.compile(r"\binvalid ({}) ".format("|".join(OPTION_NAMES)))
_UNKNOWN_PARAMETER_RE = re.compile(r"^unknown parameter '(\w+)'")
_OP_FIELD_RE = re.compile(r"\bops\[\d+\]\.params\.")


def option_name(field: str) -> str:
    """Return the CLI option that sets the agent parameter ``field``."""
    return OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def command_wording(message: str, device: str, params: dict[str, Any] | None) -> str:
    """Replace the agent methods that a message recommends with the mudmap commands."""
    interface = (params or {}).get("name") or "IFACE"
    replacements = {
        "use wg.peer.update": f"use `mudmap wg peer set {device} {interface} KEY`",
        "services.* needs systemd": "`mudmap service` needs systemd",
    }
    for agent_words, cli_words in replacements.items():
        message = message.replace(agent_words, cli_words)
    return message


def option_wording(message: str, params: dict[str, Any] | None) -> str:
    """Name the CLI's options instead of the agent's parameters in a message.

    Only for operations that the CLI built from its options: in a plan file the user wrote
    the agent's parameter names, so there they stay.
    """
    params = params or {}
    unknown = _UNKNOWN_PARAMETER_RE.match(message)
    if unknown and params.get("kind"):
        option = option_name(unknown.group(1))
        if unknown.group(1) == "listen_port":
            return f"{option} applies only to --kind wireguard"
        return f"{option} does not apply to --kind {params['kind']}"
    message = _OP_FIELD_RE.sub("", message)
    return _INVALID_FIELD_RE.sub(lambda match: f"invalid {OPTION_NAMES[match.group(1)]} ",
                                 message)


def next_step(kind: str, operation: str, message: str, device: str,
              params: dict[str, Any] | None, data: dict[str, Any]) -> str:
    """Return the user's next step for an agent error on one method, or "" if there is none."""
    params = params or {}
    interface = params.get("name") or "IFACE"
    if kind == "invalid_params" and data.get("missing"):
        field = str(data.get("field", "")).rsplit(".", 1)[-1]
        return f"give {option_name(field)} {OPTION_METAVARS.get(field, 'VALUE')}"
    if kind == "not_found":
        return _not_found_step(operation, message, device, interface)
    if kind == "exists" and operation == "addresses.add":
        return "choose another address, or remove the existing one first"
    if kind == "exists" and operation == "wg.peer.add":
        # The message already names the command that changes the existing peer.
        return ""
    return FIXES_BY_KIND.get(kind, FIXES_BY_KIND["failed"]).format(device=device)


def _not_found_step(operation: str, message: str, device: str, interface: str) -> str:
    if operation.startswith("wg.") and message.startswith("peer "):
        return f"check the interface and the peer's key with `mudmap wg show {device} {interface}`"
    if operation == "journal.tail":
        return f"list the files it can read with `mudmap logs {device} --list-files`"
    if operation.startswith("services."):
        return f"check the unit's name, for example with `mudmap service list {device}`"
    if operation == "addresses.remove":
        return f"check the addresses with `mudmap iface show {device} {interface}`"
    return FIXES_BY_KIND["not_found"].format(device=device)


def join_step(message: str, step: str) -> str:
    """Append the next step to a message, when there is one."""
    return f"{message}; {step}" if step else message


def agent_failure(
    error: AgentCallError, params: dict[str, Any] | None = None
) -> DeviceCommandFailed:
    """Turn an agent error into one line naming the device, the value and the fix.

    ``params`` are the call's parameters, which some fixes name (the WireGuard interface).
    The agent's method stays out of the line: the user gave a mudmap command, not a method.
    """
    kind = (
        error.agent_kind
        if type(error) is not AgentCallError
        else str(error.data.get("kind", "failed"))
    )
    step = next_step(kind, error.operation, error.message, error.device, params, error.data)
    # Direct calls are built from the command's options, so errors name those options.
    text = option_wording(command_wording(error.message, error.device, params), None)
    message = f"{error.device}: " + join_step(text, step)
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

        With ``change`` a timeout reports that the change may have been applied, because the
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
