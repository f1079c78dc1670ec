"""One SSH connection per device: host key checking, error mapping, reconnect, channel cap."""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncssh

from mudmap_tui.ssh.config import ConnectTarget
from mudmap_tui.ssh.errors import (
    AuthFailed,
    ChannelFailed,
    ConnectFailed,
    HostKeyChanged,
    HostKeyUnknown,
    SshError,
    TimedOut,
)
from mudmap_tui.ssh.hostkeys import (
    HostKeyMatch,
    HostKeyPolicy,
    HostKeyStore,
    fingerprint,
    host_entry,
    public_key_text,
)
from mudmap_tui.ssh.log import DeviceLogger

# OpenSSH's sshd allows 10 sessions per connection by default (MaxSessions). Staying below
# it leaves room for the agent's long-lived channel and for sessions that sshd frees late.
MAX_CHANNELS_PER_CONNECTION = 8
# sshd frees a session slot only in its main loop after the channel close exchange, so a
# channel opened right after another one closed can still hit MaxSessions ("no more
# sessions"). Such an open is retried this many times, the delay doubling from the first.
CHANNEL_OPEN_ATTEMPTS = 6
CHANNEL_RETRY_FIRST_DELAY = 0.05
# Attempts after a dropped connection, and the delay before the first retry (doubling).
RECONNECT_ATTEMPTS = 3
RECONNECT_FIRST_DELAY = 0.5


class HostKeyVerifier:
    """Decide on the server's host key during the handshake and remember why it failed.

    asyncssh wraps anything raised inside its host key callback, so the verdict is stored
    here and raised as a typed error once ``asyncssh.connect`` fails.
    """

    def __init__(self, device: str, target: ConnectTarget, store: HostKeyStore,
                 policy: HostKeyPolicy, forget_hint: str) -> None:
        self.device = device
        self.target = target
        self.store = store
        self.policy = policy
        self.forget_hint = forget_hint
        self.known = HostKeyMatch()
        self.rejection: SshError | None = None
        self.accepted_new: str | None = None

    def known_hosts(self, host: str, addr: str, port: int | None) -> tuple[list[Any], ...]:
        self.known = self.store.lookup(self.target.host, addr, self.target.port,
                                       self.target.known_hosts_files)
        return (self.known.host_keys, self.known.ca_keys, self.known.revoked_keys)

    def validate(self, key: asyncssh.SSHKey) -> bool:
        entry = host_entry(self.target.host, self.target.port)
        if self.known.host_keys or self.known.ca_keys:
            old = [fingerprint(known) for known in self.known.host_keys] or ["a CA-signed key"]
            self.rejection = HostKeyChanged(self.device, "connect", entry, old,
                                            fingerprint(key), self._changed_hint())
            return False
        if self.policy is HostKeyPolicy.ACCEPT_NEW:
            self.store.add(self.target.host, self.target.port, key)
            self.accepted_new = fingerprint(key)
            return True
        self.rejection = HostKeyUnknown(self.device, "connect", entry, fingerprint(key),
                                        public_key_text(key))
        return False

    def _changed_hint(self) -> str:
        user_files = [path for path in self.known.sources if path != self.store.path]
        if not user_files:
            return self.forget_hint
        entry = host_entry(self.target.host, self.target.port)
        removals = "; ".join(f"ssh-keygen -R '{entry}' -f {path}" for path in user_files)
        if self.store.path in self.known.sources:
            return f"{self.forget_hint}; {removals}"
        return removals


class _Client(asyncssh.SSHClient):
    def __init__(self, verifier: HostKeyVerifier, on_lost: Callable[[], None]) -> None:
        self._verifier = verifier
        self._on_lost = on_lost

    def validate_host_public_key(self, host: str, addr: str, port: int,
                                 key: asyncssh.SSHKey) -> bool:
        return self._verifier.validate(key)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()


async def open_ssh(target: ConnectTarget, verifier: HostKeyVerifier, device: str,
                   on_lost: Callable[[], None],
                   tunnel: asyncssh.SSHClientConnection | None = None,
                   ) -> asyncssh.SSHClientConnection:
    """Open one SSH connection to ``target``, raising typed errors that name ``device``."""
    options: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "username": target.user,
        "known_hosts": verifier.known_hosts,
        "client_factory": lambda: _Client(verifier, on_lost),
        # Settings from ~/.ssh/config are already merged into ``target``.
        "config": None,
        "connect_timeout": target.connect_timeout,
        "login_timeout": target.login_timeout,
        "keepalive_interval": target.keepalive_interval,
        "keepalive_count_max": target.keepalive_count_max,
        "tunnel": tunnel,
    }
    if target.identity_files:
        options["client_keys"] = list(target.identity_files)
    if target.agent_path:
        options["agent_path"] = target.agent_path
    overall = target.connect_timeout + target.login_timeout
    try:
        return await asyncio.wait_for(asyncssh.connect(**options), overall)
    except asyncssh.HostKeyNotVerifiable as error:
        raise verifier.rejection or ConnectFailed(device, "connect", str(error)) from None
    except asyncssh.PermissionDenied as error:
        raise AuthFailed(device, "connect",
                         f"{target.user}@{target.display_address} rejected every key "
                         f"offered ({error.reason}); check the user, IdentityFile and "
                         "ssh-agent") from None
    except asyncio.TimeoutError:
        raise TimedOut(device, "connect", target.connect_timeout) from None
    except asyncssh.Error as error:
        raise ConnectFailed(device, "connect", f"{target.display_address}: {error.reason}") \
            from None
    except OSError as error:
        raise ConnectFailed(device, "connect", os_error_reason(target, error)) from None


def os_error_reason(target: ConnectTarget, error: OSError) -> str:
    """Say why a connection failed with an OSError, in words that point at the fix."""
    address = target.display_address
    if isinstance(error, ConnectionRefusedError) or error.errno == errno.ECONNREFUSED:
        return f"connection refused by {address}: is sshd running?"
    filename = getattr(error, "filename", None)
    if filename is not None:
        if str(filename) in target.identity_files:
            return (f"cannot read identity file {filename}: {error.strerror}; fix the "
                    "device's identity file (`mudmap device edit --identity-file`) or "
                    "IdentityFile in the SSH config")
        return f"cannot read {filename}: {error.strerror}"
    return f"{address}: {error.strerror or error}"


TunnelFactory = Callable[[], Awaitable["asyncssh.SSHClientConnection | None"]]


class DeviceConnection:
    """A device's single SSH connection, opened on first use and reopened after a drop.

    Every operation on the device borrows a channel through :meth:`channel`, which caps
    concurrent channels at ``max_channels`` so sshd's MaxSessions never rejects one.
    """

    def __init__(self, device: str, target: ConnectTarget,
                 open_fn: Callable[[Callable[[], None]], Awaitable[asyncssh.SSHClientConnection]],
                 max_channels: int = MAX_CHANNELS_PER_CONNECTION) -> None:
        self.device = device
        self.target = target
        self.log = DeviceLogger(device, "connection")
        self._open_fn = open_fn
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(max_channels)
        self._dropped = False
        self.connect_count = 0
        # Objects that live as long as one SSH connection (the agent session) register here.
        self.on_reconnect: list[Callable[[], None]] = []
        # The device's AgentSession once something asked for the agent.
        self.agent_session: Any = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._dropped

    async def ensure(self) -> asyncssh.SSHClientConnection:
        """Return the open connection, connecting or reconnecting first when needed."""
        if self._conn is not None and not self._dropped:
            return self._conn
        async with self._lock:
            if self._conn is not None and not self._dropped:
                return self._conn
            was_dropped = self._conn is not None
            self._conn = None
            for callback in self.on_reconnect:
                callback()
            self._conn = await self._connect_with_retries(was_dropped)
            self._dropped = False
            self.connect_count += 1
            return self._conn

    async def _connect_with_retries(self, was_dropped: bool) -> asyncssh.SSHClientConnection:
        attempts = RECONNECT_ATTEMPTS if was_dropped else 1
        delay = RECONNECT_FIRST_DELAY
        for attempt in range(1, attempts + 1):
            try:
                return await self._open_fn(self._mark_dropped)
            except (ConnectFailed, TimedOut) as error:
                if attempt == attempts:
                    raise
                self.log.warning("reconnect attempt %d of %d failed: %s; retrying in %.1f s",
                                 attempt, attempts, error.reason, delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _mark_dropped(self) -> None:
        if not self._dropped:
            self.log.info("connection to %s:%s closed", self.target.host, self.target.port)
        self._dropped = True

    @contextlib.asynccontextmanager
    async def channel(self, operation: str) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """Hold one of the connection's channel slots while the caller opens a channel."""
        async with self._channels:
            yield await self.ensure()

    async def close(self) -> None:
        if self.agent_session is not None:
            await self.agent_session.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()


T = TypeVar("T")


async def open_with_retry(device: str, operation: str,
                          opener: Callable[[], Awaitable[T]]) -> T:
    """Run ``opener`` (which opens a channel), retrying while sshd refuses the channel."""
    delay = CHANNEL_RETRY_FIRST_DELAY
    for attempt in range(1, CHANNEL_OPEN_ATTEMPTS + 1):
        try:
            return await opener()
        except asyncssh.ChannelOpenError as error:
            if attempt == CHANNEL_OPEN_ATTEMPTS:
                raise channel_error(device, operation, error) from None
            DeviceLogger(device, operation).info(
                "server refused a channel (%s); retry %d in %.2f s", error.reason, attempt, delay)
            await asyncio.sleep(delay)
            delay *= 2
        except asyncssh.Error as error:
            raise channel_error(device, operation, error) from None
    raise AssertionError("unreachable")


def channel_error(device: str, operation: str, error: Exception) -> ChannelFailed:
    """Map an asyncssh channel error to ChannelFailed, keeping the server's reason."""
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    return ChannelFailed(device, operation, reason)
