"""Deliver the agent zipapp to a device, start it, and call it over JSON-RPC 2.0.

The zipapp is uploaded once per version into ``~/.cache/mudmap/agent/`` of the login user,
named by its SHA-256, and the device checks that hash before the file is used. The agent
then runs for as long as the SSH connection (``sudo -n`` when the login user is not root),
and is started again when it exits. Calls carry ids, so several may be in flight at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from mudmap_tui.ssh.connection import DeviceConnection, channel_error, open_with_retry
from mudmap_tui.ssh.errors import (
    AgentProtocolError,
    AgentUnavailable,
    PythonMissing,
    PythonTooOld,
    RemoteDiskError,
    SudoPasswordRequired,
    TimedOut,
    agent_error_from_json,
)
from mudmap_tui.ssh.log import DeviceLogger
from mudmap_tui.ssh.process import run_checked

CACHE_DIR = ".cache/mudmap/agent"
MIN_PYTHON = (3, 9)
DEFAULT_CALL_TIMEOUT = 30.0
SETUP_TIMEOUT = 30.0
# Lines of the agent's stderr kept to explain why it exited.
STDERR_TAIL = 40


@dataclass(frozen=True)
class AgentBundle:
    """The agent zipapp's bytes and their SHA-256 (hex), which names it on the device."""

    data: bytes
    sha256: str

    @classmethod
    def from_bytes(cls, data: bytes) -> AgentBundle:
        return cls(data, hashlib.sha256(data).hexdigest())

    @classmethod
    def from_path(cls, path: Path) -> AgentBundle:
        return cls.from_bytes(path.read_bytes())

    @property
    def filename(self) -> str:
        return f"mudmap-agent-{self.sha256}.pyz"


# Prints "key=value" lines about the device; values never contain spaces.
PROBE = r"""
dir="$HOME/{cache}"
file="$dir/{filename}"
py=$(command -v python3) || {{ echo python=missing; exit 0; }}
echo "python_path=$py"
"$py" -c 'import sys; print("python=%d.%d.%d" % sys.version_info[:3])'
echo "uid=$(id -u)"
if err=$(mkdir -p "$dir" 2>&1); then echo mkdir=ok; else echo "mkdir_error=$err" | tr ' ' _; fi
if [ -f "$file" ]; then
    "$py" -c 'import hashlib, sys
print("cached=" + hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$file"
else
    echo cached=none
fi
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then echo sudo=missing
    elif sudo -n true >/dev/null 2>&1; then echo sudo=ok
    else echo sudo=password
    fi
fi
"""

# Starts the cached zipapp after checking its SHA-256 (sha256sum is far cheaper than a
# python3 start); exits 97 when the file is missing or differs. The touch records the
# start in the file's mtime, which PRUNE reads as its last use.
FAST_START = r"""
file="$HOME/{cache}/{filename}"
[ -f "$file" ] && [ "$(sha256sum < "$file" | cut -c1-64)" = {sha256} ] || exit 97
touch -c "$file" 2>/dev/null
[ "$(id -u)" = 0 ] && exec python3 -I "$file"
exec sudo -n python3 -I "$file"
"""

# Streams stdin into a temporary file and renames it into place, for devices without SFTP.
UPLOAD = (
    'tmp="$HOME/{cache}/.{filename}.$$" && cat > "$tmp" '
    '&& mv -f "$tmp" "$HOME/{cache}/{filename}" || {{ rm -f "$tmp"; exit 1; }}'
)

# Days a zipapp version may go unused before an upload of another version removes it.
# Another controller may still run an older version, so recent ones stay. The agent's
# first start of the new version then removes unpacked copies whose archive is gone.
PRUNE_AFTER_DAYS = 30
# Removes unused versions and upload leftovers. It runs at the end of VERIFY, in the same
# round trip, and its failure only costs disk space, so its output and status are ignored.
PRUNE = (
    'find "$HOME/{cache}" -maxdepth 1 -type f \\( -name "mudmap-agent-*.pyz" '
    '-mtime +{days} -o -name ".mudmap-agent-*.pyz.*" -mtime +1 \\) '
    '! -name "{filename}" -exec rm -f {{}} + >/dev/null 2>&1'
)

NOT_A_FILE = "not-a-regular-file"
VERIFY = (
    'if [ ! -f "$HOME/{cache}/{filename}" ]; then echo ' + NOT_A_FILE + '; else '
    'python3 -c \'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read())'
    '.hexdigest())\' "$HOME/{cache}/{filename}"; fi; status=$?; ' + PRUNE + '; exit $status'
)


@dataclass
class DeviceProbe:
    python: tuple[int, ...] | None
    python_path: str | None
    is_root: bool
    cached_sha256: str | None
    mkdir_error: str | None
    sudo: str | None


def parse_probe(text: str) -> DeviceProbe:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values.setdefault(key.strip(), value.strip())
    python = values.get("python")
    version = None
    if python and python != "missing":
        version = tuple(int(part) for part in python.split(".") if part.isdigit())
    cached = values.get("cached")
    return DeviceProbe(
        python=version,
        python_path=values.get("python_path"),
        is_root=values.get("uid") == "0",
        cached_sha256=None if cached in (None, "none") else cached,
        mkdir_error=values.get("mkdir_error", "").replace("_", " ") or None,
        sudo=values.get("sudo"),
    )


def disk_error(device: str, operation: str, message: str) -> AgentUnavailable:
    """Turn a remote write failure into an error that names the disk problem."""
    lowered = message.lower()
    if "no space left" in lowered or "disk quota" in lowered:
        return RemoteDiskError(device, operation,
                               f"the disk holding ~/{CACHE_DIR} is full ({message.strip()}); "
                               "free some space on the device")
    if "read-only file system" in lowered:
        return RemoteDiskError(device, operation,
                               f"~/{CACHE_DIR} is on a read-only file system "
                               f"({message.strip()}); remount it read-write or give the login "
                               "user a writable home")
    return AgentUnavailable(device, operation, f"cannot write ~/{CACHE_DIR}: {message.strip()}")


class AgentSession:
    """The agent running on one device over that device's pooled SSH connection."""

    def __init__(self, connection: DeviceConnection, bundle: AgentBundle) -> None:
        self.connection = connection
        self.device = connection.device
        self.bundle = bundle
        self.log = DeviceLogger(self.device, "agent")
        self.hello: dict[str, Any] | None = None
        # True when the last start had to upload the zipapp (it was not cached).
        self.uploaded = False
        self.upload_count = 0
        self.start_count = 0
        self._process: asyncssh.SSHClientProcess | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._next_id = 0
        self._start_lock = asyncio.Lock()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        # The connection (by its connect count) on which the zipapp was last checked.
        self._installed_on: int | None = None
        self._start_command = ""
        self._cache: dict[str, tuple[float, Any]] = {}
        self._last_exit = ""
        self._stderr_reader: asyncio.Task[None] | None = None
        connection.on_reconnect.append(self._forget_process)

    @property
    def running(self) -> bool:
        return self._process is not None and self._reader is not None and not self._reader.done()

    async def call(self, method: str, params: dict[str, Any] | None = None, *,
                   timeout: float = DEFAULT_CALL_TIMEOUT) -> Any:
        """Call ``method`` and return its result; raise the error class of its ``data.kind``.

        :raises TimedOut: no response within ``timeout`` seconds
        :raises AgentCallError: the agent returned a JSON-RPC error
        """
        await self.ensure_started()
        return await self._call_running(method, params or {}, timeout)

    async def ensure_started(self) -> dict[str, Any]:
        """Install the agent if needed, start it if it is not running, and return hello."""
        if self.running and self.hello is not None:
            return self.hello
        async with self._start_lock:
            if self.running and self.hello is not None:
                return self.hello
            await self.connection.ensure()
            # A cached start leaves no start command behind, so a restart after the agent
            # died takes the same path: the cached start first, the probe if that fails.
            if self._installed_on != self.connection.connect_count or not self._start_command:
                hello = await self._try_cached_start()
                if hello is not None:
                    return hello
                probe = await self._install()
                self._start_command = self._agent_command(probe)
            await self._start_process(self._start_command)
            self.hello = await self._call_running("hello", {}, SETUP_TIMEOUT)
            self._installed_on = self.connection.connect_count
            self.log.info("agent %s started, python %s",
                          self.hello.get("agent_version"), self.hello.get("python"))
            return self.hello

    async def _try_cached_start(self) -> dict[str, Any] | None:
        """Start the cached zipapp in one round trip; return None when it is not usable.

        This is the common case on a known device. Anything short of a hello (no file, a
        hash mismatch, no python3, sudo wanting a password) falls back to the probe, which
        names the problem or uploads the zipapp.
        """
        command = FAST_START.format(cache=CACHE_DIR, filename=self.bundle.filename,
                                    sha256=self.bundle.sha256)
        try:
            await self._start_process(command)
            self.hello = await self._call_running("hello", {}, SETUP_TIMEOUT)
        except (AgentProtocolError, AgentUnavailable, TimedOut) as error:
            self.log.debug("cached agent did not start (%s); probing the device", error.reason)
            self._forget_process()
            return None
        self._installed_on = self.connection.connect_count
        self.uploaded = False
        self.log.info("agent %s started from the cache", self.hello.get("agent_version"))
        return self.hello

    async def call_cached(self, method: str, max_age: float,
                          params: dict[str, Any] | None = None) -> Any:
        """Call ``method``, or return its result from an earlier call within ``max_age`` s.

        Meant for results that rarely change during a connection, such as ``facts``.
        """
        key = json.dumps([method, params or {}], sort_keys=True)
        now = asyncio.get_running_loop().time()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] <= max_age and self.running:
            return cached[1]
        result = await self.call(method, params)
        self._cache[key] = (now, result)
        return result

    async def _install(self) -> DeviceProbe:
        probe = await self._probe()
        self._check_probe(probe)
        self.uploaded = probe.cached_sha256 != self.bundle.sha256
        if self.uploaded:
            await self._upload()
            await self._verify()
            self.upload_count += 1
        return probe

    async def _probe(self) -> DeviceProbe:
        script = PROBE.format(cache=CACHE_DIR, filename=self.bundle.filename)
        result = await run_checked(self.connection, script, timeout=SETUP_TIMEOUT,
                                   operation="agent probe")
        return parse_probe(result.stdout.decode(errors="replace"))

    def _check_probe(self, probe: DeviceProbe) -> None:
        device = self.device
        if probe.python is None:
            raise PythonMissing(device, "agent start",
                                "python3 is not installed on the device (not on the login "
                                "user's PATH); install python3 3.9 or later")
        if probe.python[:2] < MIN_PYTHON:
            found = ".".join(map(str, probe.python))
            raise PythonTooOld(device, "agent start",
                               f"python3 is {found}, the agent needs 3.9 or later; "
                               "install a newer python3")
        if probe.mkdir_error:
            raise disk_error(device, "agent install", probe.mkdir_error)
        if not probe.is_root and probe.sudo == "password":
            raise SudoPasswordRequired(device, "agent start",
                                       "sudo -n asks the login user for a password; allow "
                                       "passwordless sudo for python3 or log in as root")
        if not probe.is_root and probe.sudo == "missing":
            raise AgentUnavailable(device, "agent start",
                                   "the login user is not root and sudo is not installed; "
                                   "log in as root or install sudo")

    async def _upload(self) -> None:
        self.log.info("uploading agent %s (%d bytes)", self.bundle.sha256[:12],
                      len(self.bundle.data))
        try:
            await self._upload_sftp()
        except (asyncssh.Error, OSError) as error:
            # OpenSSH's sftp-server reports a full disk as a bare "Failure", so the exec
            # upload runs instead; it also covers devices without the SFTP subsystem.
            self.log.info("SFTP upload failed (%s); streaming over exec instead", error)
            await self._upload_exec()

    async def _upload_sftp(self) -> None:
        async with self.connection.channel("agent upload") as conn, \
                conn.start_sftp_client() as sftp:
            home = await sftp.realpath(".")
            target = f"{home}/{CACHE_DIR}/{self.bundle.filename}"
            temp = f"{home}/{CACHE_DIR}/.{self.bundle.filename}.sftp"
            async with sftp.open(temp, "wb") as remote:
                await remote.write(self.bundle.data)
            await sftp.posix_rename(temp, target)

    async def _upload_exec(self) -> None:
        command = UPLOAD.format(cache=CACHE_DIR, filename=self.bundle.filename)
        async with self.connection.channel("agent upload") as conn:
            try:
                result = await asyncio.wait_for(
                    conn.run(command, input=self.bundle.data, encoding=None, check=False),
                    SETUP_TIMEOUT)
            except asyncio.TimeoutError:
                raise TimedOut(self.device, "agent upload", SETUP_TIMEOUT) from None
            except asyncssh.Error as error:
                raise channel_error(self.device, "agent upload", error) from None
        if result.exit_status != 0:
            stderr = result.stderr if isinstance(result.stderr, bytes) else b""
            raise disk_error(self.device, "agent upload", stderr.decode(errors="replace"))

    async def _verify(self) -> None:
        command = VERIFY.format(cache=CACHE_DIR, filename=self.bundle.filename,
                                days=PRUNE_AFTER_DAYS)
        result = await run_checked(self.connection, command, timeout=SETUP_TIMEOUT,
                                   operation="agent verify")
        found = result.stdout.decode(errors="replace").strip()
        if found == NOT_A_FILE:
            path = f"~/{CACHE_DIR}/{self.bundle.filename}"
            raise AgentUnavailable(self.device, "agent verify",
                                   f"the agent cache path {path} is not a regular file (a "
                                   f"directory, say); remove it on the device with "
                                   f"rm -r {path} and retry")
        if found != self.bundle.sha256:
            raise AgentUnavailable(self.device, "agent verify",
                                   f"uploaded agent has SHA-256 {found or '(none)'}, expected "
                                   f"{self.bundle.sha256}; the upload was corrupted, retry")

    def _agent_command(self, probe: DeviceProbe) -> str:
        python = shlex.quote(probe.python_path or "python3")
        path = f'"$HOME"/{CACHE_DIR}/{self.bundle.filename}'
        if probe.is_root:
            return f"exec {python} -I {path}"
        return f"exec sudo -n {python} -I {path}"

    async def _start_process(self, command: str) -> None:
        self._forget_process()
        conn = await self.connection.ensure()
        # The agent's channel is not counted against the channel cap: it stays open for the
        # whole connection, one above the cap and still below sshd's MaxSessions.
        process = await open_with_retry(
            self.device, "agent start",
            lambda: conn.create_process(command, encoding=None, request_pty=False))
        self._process = process
        self._stderr.clear()
        self.start_count += 1
        self._reader = asyncio.create_task(self._read_responses(process))
        self._stderr_reader = asyncio.create_task(self._read_stderr(process))

    def _forget_process(self) -> None:
        if self._process is not None:
            self._process.close()
        self._process = None
        self.hello = None

    async def _call_running(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        process = self._process
        if process is None:
            raise AgentProtocolError(self.device, method, "the agent is not running")
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params,
                   "deadline": timeout}
        try:
            if self._reader is None or self._reader.done():
                raise self._exit_error(self._last_exit or "the agent is not running")
            # A write fails when the agent is exiting; its reader then fails the future.
            with contextlib.suppress(OSError, asyncssh.Error):
                process.stdin.write(json.dumps(request).encode() + b"\n")
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise TimedOut(self.device, f"agent {method}", timeout) from None
        finally:
            self._pending.pop(request_id, None)

    async def _read_responses(self, process: asyncssh.SSHClientProcess) -> None:
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                self._dispatch(line)
        except (asyncssh.Error, OSError) as error:
            self.log.warning("agent channel broke: %s", error)
        finally:
            await self._fail_pending(process)

    def _dispatch(self, line: bytes) -> None:
        try:
            response = json.loads(line)
        except ValueError:
            self.log.warning("agent sent a line that is not JSON (%d bytes)", len(line))
            return
        request_id = response.get("id") if isinstance(response, dict) else None
        entry = self._pending.get(request_id) if isinstance(request_id, int) else None
        if entry is None or entry[1].done():
            return
        method, future = entry
        if "error" in response and isinstance(response["error"], dict):
            future.set_exception(agent_error_from_json(self.device, method, response["error"]))
        else:
            future.set_result(response.get("result"))

    async def _read_stderr(self, process: asyncssh.SSHClientProcess) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            while True:
                line = await process.stderr.readline()
                if not line:
                    return
                self._stderr.append(line.decode(errors="replace").rstrip())

    async def _fail_pending(self, process: asyncssh.SSHClientProcess) -> None:
        with contextlib.suppress(asyncio.TimeoutError, asyncssh.Error):
            await asyncio.wait_for(process.wait_closed(), 2)
        await asyncio.sleep(0)
        reason = self._exit_reason(process)
        self._last_exit = reason
        if self._process is process:
            self._process = None
            self.hello = None
        for _method, future in self._pending.values():
            if not future.done():
                future.set_exception(self._exit_error(reason))

    def _exit_reason(self, process: asyncssh.SSHClientProcess) -> str:
        tail = " | ".join(list(self._stderr)[-5:])
        status = process.exit_status
        return f"the agent exited (status {status})" + (f": {tail}" if tail else "")

    def _exit_error(self, reason: str) -> AgentUnavailable | AgentProtocolError:
        if "password is required" in reason or "a terminal is required" in reason:
            return SudoPasswordRequired(self.device, "agent start",
                                        "sudo -n asks for a password; allow passwordless sudo "
                                        "for python3 or log in as root")
        return AgentProtocolError(self.device, "agent call", reason)

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.stdin.write_eof()
            process.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait_closed(), 2)
        for task in (self._reader, self._stderr_reader):
            if task is not None:
                task.cancel()


async def agent_session(connection: DeviceConnection, bundle: AgentBundle) -> AgentSession:
    """Return the device's agent session, started and past ``hello``."""
    session = connection.agent_session
    if not isinstance(session, AgentSession) or session.bundle.sha256 != bundle.sha256:
        if isinstance(session, AgentSession):
            await session.close()
        session = AgentSession(connection, bundle)
        connection.agent_session = session
    await session.ensure_started()
    return session


@functools.cache
def default_bundle() -> AgentBundle:
    """Return the agent zipapp built from this installation by ``mudmap_tui.agent_build``.

    Built once per process: the build reads and compresses every agent and pyroute2 file.
    """
    from mudmap_tui import agent_build

    data, sha256 = agent_build.build()
    return AgentBundle(data, sha256)
