"""Typed errors of the SSH layer; each one names the device and the operation that failed."""

from __future__ import annotations

from typing import Any

from mudmap_tui.errors import MudmapError


class SshError(MudmapError):
    """Base class of SSH and agent errors: ``device`` and ``operation`` name where it happened."""

    # Short machine-readable name used in fleet results and JSON output.
    kind = "ssh_error"

    def __init__(self, device: str, operation: str, reason: str) -> None:
        self.device = device
        self.operation = operation
        self.reason = reason
        super().__init__(f"{device}: {operation} failed: {reason}")


class ConnectFailed(SshError):
    """The TCP connection or the SSH handshake failed (refused, unreachable, reset)."""

    kind = "connect_failed"


class AuthFailed(SshError):
    """The server rejected every key and method offered for the login user."""

    kind = "auth_failed"


class TimedOut(SshError):
    """An operation did not finish within its timeout."""

    kind = "timed_out"

    def __init__(self, device: str, operation: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(device, operation, f"timed out after {timeout:g} s")


class ChannelFailed(SshError):
    """The server refused to open a session channel or the channel broke mid-use."""

    kind = "channel_failed"


class HostKeyUnknown(SshError):
    """The server's host key is in no known_hosts file; accepting it is the caller's choice."""

    kind = "host_key_unknown"

    def __init__(self, device: str, operation: str, host_entry: str, fingerprint: str,
                 public_key: str) -> None:
        self.host_entry = host_entry
        self.fingerprint = fingerprint
        # The key in OpenSSH text form, so a dialog can pass it back to the accept API.
        self.public_key = public_key
        super().__init__(
            device,
            operation,
            f"unknown host key for {host_entry} ({fingerprint}). Check the fingerprint on the "
            "device, then run the command again with --accept-new to record the key",
        )


class HostKeyChanged(SshError):
    """The server's host key differs from the one recorded; always rejected."""

    kind = "host_key_changed"

    def __init__(self, device: str, operation: str, host_entry: str, old: list[str], new: str,
                 hint: str) -> None:
        self.host_entry = host_entry
        self.old = old
        self.new = new
        self.hint = hint
        super().__init__(
            device,
            operation,
            f"HOST KEY CHANGED for {host_entry}: recorded {', '.join(old)}, server sent {new}. "
            f"This may be an attack. If the device was reinstalled, run: {hint}",
        )


class AgentUnavailable(SshError):
    """The agent cannot be installed or started on the device (see the reason)."""

    kind = "agent_unavailable"


class PythonMissing(AgentUnavailable):
    kind = "python_missing"


class PythonTooOld(AgentUnavailable):
    kind = "python_too_old"


class SudoPasswordRequired(AgentUnavailable):
    """``sudo -n`` refused because the login user's sudo rule asks for a password."""

    kind = "sudo_password_required"


class RemoteDiskError(AgentUnavailable):
    """The agent's cache directory is on a read-only or full file system."""

    kind = "remote_disk_error"


class AgentProtocolError(SshError):
    """The agent sent something that is not a valid JSON-RPC 2.0 line, or it exited."""

    kind = "agent_protocol_error"


class AgentCallError(SshError):
    """A JSON-RPC error the agent returned for a call; ``agent_kind`` is its ``data.kind``."""

    kind = "agent_error"
    agent_kind = "failed"

    def __init__(self, device: str, operation: str, message: str, code: int,
                 data: dict[str, Any]) -> None:
        self.code = code
        self.data = data
        self.message = message
        super().__init__(device, operation, message)


class AgentInvalidParams(AgentCallError):
    agent_kind = "invalid_params"


class AgentNotFound(AgentCallError):
    agent_kind = "not_found"


class AgentExists(AgentCallError):
    agent_kind = "exists"


class AgentPermissionDenied(AgentCallError):
    agent_kind = "permission_denied"


class AgentUnsupported(AgentCallError):
    agent_kind = "unsupported"


class AgentConflict(AgentCallError):
    agent_kind = "conflict"


class AgentTimedOut(AgentCallError):
    agent_kind = "timed_out"


class AgentFailed(AgentCallError):
    agent_kind = "failed"


AGENT_ERRORS_BY_KIND: dict[str, type[AgentCallError]] = {
    cls.agent_kind: cls
    for cls in (
        AgentInvalidParams,
        AgentNotFound,
        AgentExists,
        AgentPermissionDenied,
        AgentUnsupported,
        AgentConflict,
        AgentTimedOut,
        AgentFailed,
    )
}


def agent_error_from_json(device: str, method: str, error: dict[str, Any]) -> AgentCallError:
    """Build the exception class that matches a JSON-RPC error object's ``data.kind``."""
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    assert isinstance(data, dict)
    kind = str(data.get("kind", "failed"))
    cls = AGENT_ERRORS_BY_KIND.get(kind, AgentCallError)
    code = error.get("code")
    return cls(device, method, str(error.get("message", "")), code if isinstance(code, int) else 0,
               data)
