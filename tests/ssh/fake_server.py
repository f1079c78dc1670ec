"""An in-process asyncssh server for fault injection: hangs, drops and bad output.

It runs no shell. A handler gets the user's command (unwrapped from the process-group
wrapper) and the server process, and responds as a device would, or misbehaves.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from mudmap_tui.ssh.config import SshSettings
from mudmap_tui.ssh.hostkeys import HostKeyPolicy, HostKeyStore
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.models import Device

Handler = Callable[[str, asyncssh.SSHServerProcess], Awaitable[None]]


def user_command(command: str) -> str:
    """Return the command as the caller gave it, without the process-group wrapper."""
    words = shlex.split(command)
    if len(words) >= 5 and words[:3] == ["exec", "sh", "-c"] and words[4] == "mudmap-run":
        return words[5]
    return command


@dataclass
class FakeServer:
    server: asyncssh.SSHAcceptor
    port: int
    device: Device
    hostkeys: HostKeyStore
    connections: int = 0
    # Connections between TCP accept and successful authentication, now and at most.
    unauthenticated: int = 0
    peak_unauthenticated: int = 0

    def pool(self, policy: HostKeyPolicy = HostKeyPolicy.STRICT,
             **settings: float) -> ConnectionPool:
        return ConnectionPool([self.device], settings=SshSettings(config_paths=[], **settings),
                              hostkeys=self.hostkeys, policy=policy)

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_fake_server(tmp_path: Path, handler: Handler) -> FakeServer:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_path = tmp_path / "client_key"
    client_key.write_private_key(str(key_path))
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    fake: FakeServer | None = None

    async def process_factory(process: asyncssh.SSHServerProcess) -> None:
        await handler(user_command(process.command or ""), process)

    class Server(asyncssh.SSHServer):
        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            assert fake is not None
            fake.connections += 1
            fake.unauthenticated += 1
            fake.peak_unauthenticated = max(fake.peak_unauthenticated, fake.unauthenticated)

        def auth_completed(self) -> None:
            assert fake is not None
            fake.unauthenticated -= 1

    server = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[host_key], authorized_client_keys=authorized,
        process_factory=process_factory, encoding=None, server_factory=Server,
    )
    port = server.sockets[0].getsockname()[1]
    hostkeys = HostKeyStore(tmp_path / "known_hosts", [])
    hostkeys.add("127.0.0.1", port, host_key.convert_to_public())
    device = Device(name="fake", host="127.0.0.1", port=port, user="root",
                    identity_file=str(key_path))
    fake = FakeServer(server, port, device, hostkeys)
    return fake
