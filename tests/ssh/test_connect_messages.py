"""Connection failures name the address, the key file and the fix in plain words."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mudmap_tui.ssh.config import SshSettings, format_address
from mudmap_tui.ssh.errors import ConnectFailed, HostKeyUnknown
from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store.models import Device


def closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def connect(device: Device) -> ConnectFailed:
    pool = ConnectionPool([device], settings=SshSettings(config_paths=[], connect_timeout=5),
                          hostkeys=HostKeyStore(Path("/nonexistent/kh"), []))
    try:
        with pytest.raises(ConnectFailed) as caught:
            await pool.connection(device.name)
        return caught.value
    finally:
        await pool.close()


async def test_connect_refused_asks_for_sshd() -> None:
    port = closed_port()
    error = await connect(Device(name="r1", host="127.0.0.1", port=port, user="root"))
    assert f"connection refused by 127.0.0.1:{port}: is sshd running?" in str(error)
    assert "Connect call failed" not in str(error)


async def test_connect_missing_identity_names_file(tmp_path: Path) -> None:
    key = tmp_path / "missing_key"
    error = await connect(Device(name="r1", host="127.0.0.1", port=closed_port(),
                                 user="root", identity_file=str(key)))
    assert f"cannot read identity file {key}" in str(error)
    assert "--identity-file" in str(error)


def test_format_address_brackets_ipv6() -> None:
    assert format_address("fd6d:6d61::b", 22) == "[fd6d:6d61::b]:22"
    assert format_address("10.0.0.1", 22) == "10.0.0.1:22"


def test_host_key_unknown_hint_is_sentence() -> None:
    error = HostKeyUnknown("r1", "connect", "[10.0.0.1]:2222", "SHA256:abc", "ssh-ed25519 AAAA")
    assert "run the command again with --accept-new" in str(error)
    assert "(mudmap: --accept-new)" not in str(error)
