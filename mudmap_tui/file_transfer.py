"""Copy single files to and from a device over SFTP, replacing the target atomically.

Both directions write a temporary file in the target's directory and rename it over the
target, so a reader sees either the old or the new file, never half of one. The file's
permission bits travel with it, as ``scp`` without ``-p`` copies them: setuid, setgid and
sticky bits are dropped, and a downloaded file's bits are masked with the local umask. SFTP
runs as the login user, so files the login user cannot read or write are out of reach.
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

from mudmap_tui.errors import AlreadyExists, InvalidInput, UsageError
from mudmap_tui.ssh.connection import DeviceConnection
from mudmap_tui.ssh.errors import SshError


@dataclass(frozen=True)
class Transfer:
    """The source, target, size and permission bits of one completed put or get."""

    source: str
    target: str
    size: int
    mode: int


# Read, write and execute bits for owner, group and others; no setuid, setgid or sticky bit.
PERMISSION_BITS = 0o777


def _sftp_error(device: str, operation: str, path: str, error: Exception) -> SshError:
    reason = getattr(error, "reason", None) or str(error)
    return SshError(device, operation, f"{path}: {reason}")


def _is_directory_error(device: str, remote: str) -> UsageError:
    return UsageError(f"{device}: {remote} is a directory; give the path of a file")


def local_umask() -> int:
    """Return this process's umask; setting it is the only portable way to read it."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


async def _space_error(
    sftp: asyncssh.SFTPClient, device: str, remote: str, size: int
) -> UsageError | None:
    """Return a "no space left" error when the remote file system cannot hold ``size`` bytes.

    SFTP version 3 reports a full disk only as a generic failure, so the free space is read
    back with the ``statvfs@openssh.com`` extension; a server without it gives no answer.
    """
    try:
        vfs = await sftp.statvfs(posixpath.dirname(remote) or "/")
    except (asyncssh.SFTPError, asyncssh.Error):
        return None
    if vfs.bavail * vfs.frsize >= size:
        return None
    return UsageError(f"no space left on {device}'s file system for {remote}; free space "
                      f"there or choose another directory")


async def put(
    connection: DeviceConnection, local: Path, remote: str, *, force: bool = False,
    mode: int | None = None,
) -> Transfer:
    """Upload ``local`` to ``remote`` with ``mode``, by default the local permission bits.

    Without an explicit ``mode`` the setuid, setgid and sticky bits are dropped.

    :raises AlreadyExists: ``remote`` exists and ``force`` is false
    :raises InvalidInput: ``remote`` is not an absolute path
    :raises UsageError: ``remote`` is a directory, or its file system is full
    """
    if not posixpath.isabs(remote):
        raise InvalidInput("remote path", remote,
                           "remote path must be absolute; give a path starting with /")
    try:
        data = local.read_bytes()
        local_mode = local.stat().st_mode
    except OSError as error:
        raise InvalidInput("local file", str(local), f"cannot be read ({error.strerror})") from None
    if mode is None:
        mode = stat.S_IMODE(local_mode) & PERMISSION_BITS
    async with connection.channel("put") as conn:
        try:
            async with conn.start_sftp_client() as sftp:
                if await sftp.isdir(remote):
                    raise _is_directory_error(connection.device, remote)
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
                except asyncssh.SFTPFailure as error:
                    with contextlib.suppress(asyncssh.SFTPError, OSError):
                        await sftp.remove(temp)
                    full = await _space_error(sftp, connection.device, remote, len(data))
                    raise (full or error) from None
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
    """Download ``remote`` into ``local`` with the remote permission bits, less the umask.

    The setuid, setgid and sticky bits are dropped.

    :raises AlreadyExists: ``local`` exists and ``force`` is false
    :raises InvalidInput: ``local`` is a directory or its directory does not exist
    :raises UsageError: ``remote`` is a directory
    """
    if local.exists() and not force:
        raise AlreadyExists(f"{local} exists; add --force to replace it")
    if local.is_dir():
        raise InvalidInput("local file", str(local), "is a directory; give a file path")
    directory = local.parent if str(local.parent) else Path(".")
    if not directory.is_dir():
        raise InvalidInput("local file", str(local),
                           f"directory {directory} does not exist; create it or choose "
                           "another path")
    async with connection.channel("get") as conn:
        try:
            async with conn.start_sftp_client() as sftp:
                attrs = await sftp.stat(remote)
                if stat.S_ISDIR(attrs.permissions or 0):
                    raise _is_directory_error(connection.device, remote)
                async with sftp.open(remote, "rb") as handle:
                    raw = await handle.read()
            data = raw.encode() if isinstance(raw, str) else bytes(raw)
        except (asyncssh.SFTPError, asyncssh.Error) as error:
            raise _sftp_error(connection.device, "get", remote, error) from None
    mode = stat.S_IMODE(attrs.permissions or 0o644) & PERMISSION_BITS & ~local_umask()
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
