"""Fault injection against in-process SSH servers: hangs, drops and bad agent output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncssh
import pytest

from mudmap_tui import fleet
from mudmap_tui.ssh.agent_channel import AgentBundle, agent_session
from mudmap_tui.ssh.errors import (
    AgentProtocolError,
    AgentUnsupported,
    ChannelFailed,
    PythonMissing,
    PythonTooOld,
    RemoteDiskError,
    SudoPasswordRequired,
    TimedOut,
)
from mudmap_tui.ssh.process import run_remote
from tests.ssh.fake_server import FakeServer, start_fake_server

pytestmark = pytest.mark.timeout(60)

BUNDLE = AgentBundle.from_bytes(b"not a real zipapp")


async def echo_or_drop(command: str, process: asyncssh.SSHServerProcess) -> None:
    if command == "drop":
        process.channel.get_connection().abort()
        return
    process.stdout.write(command.encode() + b"\n")
    process.exit(0)


@pytest.fixture
async def echo_server(tmp_path: Path) -> AsyncIterator[FakeServer]:
    server = await start_fake_server(tmp_path, echo_or_drop)
    yield server
    await server.close()


async def test_silent_server_times_out_connect() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    listener = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    from mudmap_tui.ssh.config import SshSettings
    from mudmap_tui.ssh.hostkeys import HostKeyStore
    from mudmap_tui.ssh.pool import ConnectionPool
    from mudmap_tui.store.models import Device

    device = Device(name="mute", host="127.0.0.1", port=port, user="root")
    pool = ConnectionPool([device], settings=SshSettings(config_paths=[], connect_timeout=0.5,
                                                          login_timeout=0.5),
                          hostkeys=HostKeyStore(Path("/nonexistent/kh"), []))
    try:
        with pytest.raises(TimedOut) as caught:
            await pool.connection("mute")
        assert caught.value.device == "mute"
        assert caught.value.operation == "connect"
        assert accepted, "the server never saw the connection"
    finally:
        await pool.close()
        listener.close()
        for writer in accepted:
            writer.close()


async def test_dropped_connection_reconnects_on_next_use(echo_server: FakeServer) -> None:
    pool = echo_server.pool()
    try:
        connection = await pool.connection("fake")
        first = await run_remote(connection, "hello", timeout=10)
        assert first.stdout == b"hello\n"
        with pytest.raises(ChannelFailed):
            await run_remote(connection, "drop", timeout=10)
        again = await run_remote(await pool.connection("fake"), "again", timeout=10)
        assert again.stdout == b"again\n"
        assert connection.connect_count == 2
        assert echo_server.connections == 2
    finally:
        await pool.close()


async def test_fleet_reports_drop_as_error(echo_server: FakeServer) -> None:
    pool = echo_server.pool()
    try:
        results = await fleet.run_command(pool, ["fake"], "drop", timeout=10).wait()
        assert results[0].outcome is fleet.Outcome.ERROR
        assert results[0].error_kind == "channel_failed"
    finally:
        await pool.close()


async def test_channel_cap_queues_extra_commands(tmp_path: Path) -> None:
    running = 0
    peak = 0

    async def slow(command: str, process: asyncssh.SSHServerProcess) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        process.stdout.write(b"done\n")
        process.exit(0)

    server = await start_fake_server(tmp_path, slow)
    pool = server.pool()
    try:
        connection = await pool.connection("fake")
        results = await asyncio.gather(*(run_remote(connection, f"c{i}", timeout=30)
                                         for i in range(20)))
        assert all(result.stdout == b"done\n" for result in results)
        assert peak == 8
    finally:
        await pool.close()
        await server.close()


def probe_answer(**values: str) -> bytes:
    defaults = {"python_path": "/usr/bin/python3", "python": "3.11.2", "uid": "0",
                "mkdir": "ok", "cached": BUNDLE.sha256}
    defaults.update(values)
    return "".join(f"{key}={value}\n" for key, value in defaults.items()).encode()


async def start_agent_server(tmp_path: Path, probe: bytes, agent_lines: list[bytes],
                             agent_stderr: bytes = b"", agent_exit: int = 1) -> FakeServer:
    async def handler(command: str, process: asyncssh.SSHServerProcess) -> None:
        if "python_path=" in command:
            process.stdout.write(probe)
            process.exit(0)
            return
        if "agent-" in command and "-I" in command:
            await process.stdin.readline()
            for line in agent_lines:
                process.stdout.write(line)
            process.stderr.write(agent_stderr)
            process.exit(agent_exit)
            return
        process.exit(127)

    return await start_fake_server(tmp_path, handler)


@pytest.mark.parametrize(
    ("probe", "error_class", "words"),
    [
        (probe_answer(python="missing"), PythonMissing, "python3 is not installed"),
        (probe_answer(python="3.8.10"), PythonTooOld, "3.8.10"),
        (probe_answer(mkdir_error="mkdir:_cannot_create_directory:_Read-only_file_system"),
         RemoteDiskError, "read-only"),
        (probe_answer(uid="1000", sudo="password"), SudoPasswordRequired, "password"),
    ],
)
async def test_agent_probe_failures(tmp_path: Path, probe: bytes, error_class: type,
                                    words: str) -> None:
    server = await start_agent_server(tmp_path, probe, [])
    pool = server.pool()
    try:
        with pytest.raises(error_class) as caught:
            await agent_session(await pool.connection("fake"), BUNDLE)
        assert caught.value.device == "fake"
        assert words in str(caught.value)
    finally:
        await pool.close()
        await server.close()


async def test_agent_garbage_then_exit_is_protocol_error(tmp_path: Path) -> None:
    server = await start_agent_server(
        tmp_path, probe_answer(),
        [b"this is not json\n", b'{"jsonrpc": "2.0", "id": 999, "result": 1}\n'],
        agent_stderr=b"Traceback: boom\n")
    pool = server.pool()
    try:
        with pytest.raises(AgentProtocolError) as caught:
            await agent_session(await pool.connection("fake"), BUNDLE)
        assert "boom" in str(caught.value)
        assert "status 1" in str(caught.value)
    finally:
        await pool.close()
        await server.close()


async def test_agent_error_kind_maps_to_class(tmp_path: Path) -> None:
    hello = b'{"jsonrpc": "2.0", "id": 1, "result": {"agent_version": "t"}}\n'
    error = (b'{"jsonrpc": "2.0", "id": 2, "error": {"code": -32004, "message": "no vlan",'
             b' "data": {"kind": "unsupported", "link_kind": "vlan"}}}\n')

    async def handler(command: str, process: asyncssh.SSHServerProcess) -> None:
        if "python_path=" in command:
            process.stdout.write(probe_answer())
            process.exit(0)
            return
        await process.stdin.readline()
        process.stdout.write(hello)
        await process.stdin.readline()
        process.stdout.write(error)
        await process.stdin.readline()

    server = await start_fake_server(tmp_path, handler)
    pool = server.pool()
    try:
        session = await agent_session(await pool.connection("fake"), BUNDLE)
        assert session.hello == {"agent_version": "t"}
        with pytest.raises(AgentUnsupported) as caught:
            await session.call("link.create", {"kind": "vlan"})
        assert caught.value.data["link_kind"] == "vlan"
        assert caught.value.operation == "link.create"
        with pytest.raises(TimedOut):
            await session.call("never.answered", timeout=0.2)
    finally:
        await pool.close()
        await server.close()


def exec_upload_handler(stored: list[bytes], disk_full: bool = False) -> Callable[
        [str, asyncssh.SSHServerProcess], Awaitable[None]]:
    """A device without SFTP: uploads arrive through ``cat > tmp``, verified by hash."""
    import hashlib

    async def handler(command: str, process: asyncssh.SSHServerProcess) -> None:
        if "python_path=" in command:
            process.stdout.write(probe_answer(cached="none"))
            process.exit(0)
        elif "exit 97" in command and not stored:
            process.exit(97)
        elif "cat >" in command:
            data = await process.stdin.read()
            if disk_full:
                process.stderr.write(b"cat: write error: No space left on device\n")
                process.exit(1)
                return
            stored.append(data)
            process.exit(0)
        elif "hashlib.sha256" in command:
            process.stdout.write(hashlib.sha256(stored[-1]).hexdigest().encode() + b"\n")
            process.exit(0)
        else:
            request = json.loads(await process.stdin.readline())
            response = {"jsonrpc": "2.0", "id": request["id"], "result": {"agent_version": "t"}}
            process.stdout.write(json.dumps(response).encode() + b"\n")
            await process.stdin.readline()

    return handler


async def test_agent_streamed_over_exec_without_sftp(tmp_path: Path) -> None:
    stored: list[bytes] = []
    server = await start_fake_server(tmp_path, exec_upload_handler(stored))
    pool = server.pool()
    try:
        session = await agent_session(await pool.connection("fake"), BUNDLE)
        assert session.uploaded is True
        assert stored == [BUNDLE.data]
        assert session.hello == {"agent_version": "t"}
    finally:
        await pool.close()
        await server.close()


async def test_agent_upload_to_full_disk(tmp_path: Path) -> None:
    server = await start_fake_server(tmp_path, exec_upload_handler([], disk_full=True))
    pool = server.pool()
    try:
        with pytest.raises(RemoteDiskError) as caught:
            await agent_session(await pool.connection("fake"), BUNDLE)
        assert "full" in str(caught.value)
        assert caught.value.device == "fake"
    finally:
        await pool.close()
        await server.close()


async def test_connection_starts_capped_per_server(tmp_path: Path) -> None:
    from mudmap_tui.ssh.config import SshSettings
    from mudmap_tui.ssh.pool import MAX_STARTS_PER_SERVER, ConnectionPool

    server = await start_fake_server(tmp_path, echo_or_drop)
    # Twenty inventory names for one sshd, as with aliases of one host.
    devices = [server.device.model_copy(update={"name": f"alias{i}"}) for i in range(20)]
    pool = ConnectionPool(devices, settings=SshSettings(config_paths=[]),
                          hostkeys=server.hostkeys)
    try:
        await asyncio.gather(*(pool.connection(device.name) for device in devices))
        assert server.connections == 20
        assert 1 < server.peak_unauthenticated <= MAX_STARTS_PER_SERVER
    finally:
        await pool.close()
        await server.close()


async def test_reconnect_retries_then_fails(echo_server: FakeServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    from mudmap_tui.ssh.connection import RECONNECT_ATTEMPTS
    from mudmap_tui.ssh.errors import ConnectFailed

    pool = echo_server.pool()
    try:
        connection = await pool.connection("fake")
        with pytest.raises(ChannelFailed):
            await run_remote(connection, "drop", timeout=10)
        await echo_server.close()
        with caplog.at_level("WARNING", logger="mudmap.ssh"), \
                pytest.raises(ConnectFailed) as caught:
            await pool.connection("fake")
        assert caught.value.device == "fake"
        retries = [r for r in caplog.records if "reconnect attempt" in r.getMessage()]
        assert len(retries) == RECONNECT_ATTEMPTS - 1
    finally:
        await pool.close()
