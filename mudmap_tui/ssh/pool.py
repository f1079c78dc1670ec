"""The pool of device connections: one per device, shared by every operation.

Example::

    pool = ConnectionPool(devices, policy=HostKeyPolicy.STRICT)
    connection = await pool.connection("edge1")
    result = await run_remote(connection, "uname -a", timeout=30)
    await pool.close()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

import asyncssh

from mudmap_tui.errors import NotFound
from mudmap_tui.ssh.config import (
    ConnectTarget,
    SshSettings,
    resolve_device,
    resolve_inline_jump,
    split_jump_chain,
)
from mudmap_tui.ssh.connection import (
    MAX_CHANNELS_PER_CONNECTION,
    DeviceConnection,
    HostKeyVerifier,
    open_ssh,
)
from mudmap_tui.ssh.errors import ConnectFailed
from mudmap_tui.ssh.hostkeys import HostKeyPolicy, HostKeyStore
from mudmap_tui.store.models import Device

# sshd drops unauthenticated connections beyond MaxStartups (OpenSSH default 10:30:100:
# random drops start at 10), so at most 8 handshakes run against one server at a time.
MAX_STARTS_PER_SERVER = 8
# Handshakes in flight over all servers; each costs a key exchange on this machine.
MAX_STARTS_TOTAL = 64


def forget_hint(device: str) -> str:
    return f"mudmap device forget-hostkey {device}"


class ConnectionPool:
    """Open, reuse and close the SSH connections to inventory devices.

    :param devices: the inventory, so that a device's ``jump`` can name another device
    :param policy: what to do with an unknown host key
    """

    def __init__(self, devices: Iterable[Device] = (), *, settings: SshSettings | None = None,
                 hostkeys: HostKeyStore | None = None,
                 policy: HostKeyPolicy = HostKeyPolicy.STRICT,
                 max_channels: int = MAX_CHANNELS_PER_CONNECTION,
                 max_starts_per_server: int = MAX_STARTS_PER_SERVER,
                 max_starts_total: int = MAX_STARTS_TOTAL) -> None:
        self.settings = settings or SshSettings()
        self.hostkeys = hostkeys or HostKeyStore()
        self.policy = policy
        self.max_channels = max_channels
        self._devices: dict[str, Device] = {device.name: device for device in devices}
        self._connections: dict[str, DeviceConnection] = {}
        self._starts_per_server: dict[str, asyncio.Semaphore] = {}
        self._max_starts_per_server = max_starts_per_server
        self._starts_total = asyncio.Semaphore(max_starts_total)
        # Called with (device, fingerprint) when accept-new records a key.
        self.on_host_key_added: Callable[[str, str], None] | None = None

    def add_devices(self, devices: Iterable[Device]) -> None:
        for device in devices:
            self._devices[device.name] = device

    def device(self, name: str) -> Device:
        try:
            return self._devices[name]
        except KeyError:
            raise NotFound(f"device {name!r} is not in the inventory; "
                           "list devices with: mudmap device list") from None

    def target(self, name: str) -> ConnectTarget:
        return resolve_device(self.device(name), self.settings)

    def accept_host_key(self, name: str, public_key: str) -> None:
        """Record a host key the user accepted (for example from ``HostKeyUnknown``)."""
        target = self.target(name)
        self.hostkeys.add(target.host, target.port, public_key)

    async def connection(self, name: str) -> DeviceConnection:
        """Return the device's pooled connection, opened and ready for channels."""
        connection = self._connections.get(name)
        if connection is None:
            target = self.target(name)
            connection = self._make_connection(name, target)
            self._connections[name] = connection
        await connection.ensure()
        return connection

    def fresh(self) -> ConnectionPool:
        """Return an empty pool with this pool's inventory, settings and host keys.

        Its connections are new ones, which proves that a device is still reachable after a
        change, where a pooled connection opened earlier might survive on its own.
        """
        return ConnectionPool(self._devices.values(), settings=self.settings,
                              hostkeys=self.hostkeys, policy=self.policy,
                              max_channels=self.max_channels)

    def cached(self, name: str) -> DeviceConnection | None:
        return self._connections.get(name)

    def _make_connection(self, name: str, target: ConnectTarget) -> DeviceConnection:
        async def open_fn(on_lost: Callable[[], None]) -> asyncssh.SSHClientConnection:
            tunnel = await self._tunnel_for(name, target)
            verifier = HostKeyVerifier(name, target, self.hostkeys, self.policy,
                                       forget_hint(name))
            async with self._start_slot(target):
                conn = await open_ssh(target, verifier, name, on_lost, tunnel)
            if verifier.accepted_new and self.on_host_key_added:
                self.on_host_key_added(name, verifier.accepted_new)
            return conn

        return DeviceConnection(name, target, open_fn, self.max_channels)

    async def _tunnel_for(self, name: str, target: ConnectTarget,
                          ) -> asyncssh.SSHClientConnection | None:
        if not target.jump:
            return None
        if target.jump in self._devices:
            if target.jump == name:
                raise ConnectFailed(name, "connect", "the device names itself as its jump host")
            return await (await self.connection(target.jump)).ensure()
        tunnel: asyncssh.SSHClientConnection | None = None
        for hop in split_jump_chain(target.jump):
            hop_connection = await self._hop_connection(hop, tunnel)
            tunnel = hop_connection
        return tunnel

    async def _hop_connection(self, hop: str, tunnel: asyncssh.SSHClientConnection | None,
                              ) -> asyncssh.SSHClientConnection:
        if hop in self._devices:
            return await (await self.connection(hop)).ensure()
        key = f"jump:{hop}"
        connection = self._connections.get(key)
        if connection is None:
            hop_target = resolve_inline_jump(hop, self.settings)

            async def open_fn(on_lost: Callable[[], None]) -> asyncssh.SSHClientConnection:
                verifier = HostKeyVerifier(key, hop_target, self.hostkeys, self.policy,
                                           forget_hint(key))
                async with self._start_slot(hop_target):
                    return await open_ssh(hop_target, verifier, key, on_lost, tunnel)

            connection = DeviceConnection(key, hop_target, open_fn, self.max_channels)
            self._connections[key] = connection
        return await connection.ensure()

    @contextlib.asynccontextmanager
    async def _start_slot(self, target: ConnectTarget) -> AsyncIterator[None]:
        server = self._starts_per_server.setdefault(
            target.address_key, asyncio.Semaphore(self._max_starts_per_server))
        async with self._starts_total, server:
            yield

    async def close(self) -> None:
        """Close every connection, tunnelled ones before the jump hosts they go through."""
        tunnelled = [c for c in self._connections.values() if c.target.jump]
        direct = [c for c in self._connections.values() if not c.target.jump]
        await asyncio.gather(*(c.close() for c in tunnelled), return_exceptions=True)
        await asyncio.gather(*(c.close() for c in direct), return_exceptions=True)
        self._connections.clear()

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

