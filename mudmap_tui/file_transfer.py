"""Copy single files to and from a device over SFTP, replacing the target atomically.

Both directions write a temporary file in the target's directory and rename it over the
target, so a reader sees either the old or the new file, never half of one. The file's
permission bits travel with it. SFTP runs as the login user, so files the login user
cannot read or write are out of reach.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from mudmap_tui.errors import AlreadyExists, InvalidInput
from mudmap_tui.ssh.connection import DeviceConnection
from mudmap_tui.ssh.errors import SshError


@dataclass(frozen=True)
class Transfer:
    """The source, target, size and permission bits of one completed put or get."""

    source: str
    target: str
    size: int
    mode: int


def _sftp_error(device: str, operation: str, path: str, error: Exception) -> SshError:
    reason = getattr(error, "reason", None) or str(error)
    return SshError(device, operation, f"{path}: {reason}")


async def put(
    connection: DeviceConnection, local: Path, remote: str, *, force: bool = False
) -> Transfer:
    """Upload ``local`` to ``remote`` with the local permission bits.

    :raises AlreadyExists: ``remote`` exists and ``force`` is false
    """
    try:
        data = local.read_bytes()
        mode = stat.S_IMODE(local.stat().st_mode)
    except OSError as error:
        raise InvalidInput("local file", str(local), f"cannot be read ({error.strerror})") from None
    async with connection.channel("put") as conn:
        try:
            async with conn.start_sftp_client() as sftp:
                if not force and await sftp.exists(remote):
                    raise AlreadyExists(
                        f"{connection.device}: {remote} exists; add --force to replace it"
                    )
                temp = posixpath.join(
                    posixpath.dirname(remote) or ".",
                    f".{posixpath.basename(remote)}.mudmap-{os.getpid()}",
                )
                try:
                    async with sftp.open(
                        temp, "wb", attrs=asyncssh.SFTPAttrs(permissions=0o600)
                    ) as handle:
                        await handle.write(data)
                    await sftp.chmod(temp, mode)
                    await sftp.posix_rename(temp, remote)
                except BaseException:
                    with contextlib.suppress(asyncssh.SFTPError, OSError):
                        await sftp.remove(temp)
                    raise
        except (asyncssh.SFTPError, asyncssh.Error) as error:
            raise _sftp_error(connection.device, "put", remote, error) from None
    return Transfer(str(local), remote, len(data), mode)


async def get(
    connection: DeviceConnection, remote: str, local: Path, *, force: bool = False
) -> Transfer:
    """Download ``remote`` into ``local`` with the remote permission bits.

    :raises AlreadyExists: ``local`` exists and ``force`` is false
    """
    if local.exists() and not force:
        raise AlreadyExists(f"{local} exists; add --force to replace it")
    if local.is_dir():
        raise InvalidInput("local file", str(local), "is a directory; give a file path")
    async with connection.channel("get") as conn:
        try:
            async with conn.start_sftp_client() as sftp:
                attrs = await sftp.stat(remote)
                async with sftp.open(remote, "rb") as handle:
                    raw = await handle.read()
            data = raw.encode() if isinstance(raw, str) else bytes(raw)
        except (asyncssh.SFTPError, asyncssh.Error) as error:
            raise _sftp_error(connection.device, "get", remote, error) from None
    mode = stat.S_IMODE(attrs.permissions or 0o644)
    write_atomically(local, data, mode)
    return Transfer(remote, str(local), len(data), mode)


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    directory = path.parent if str(path.parent) else Path(".")
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
