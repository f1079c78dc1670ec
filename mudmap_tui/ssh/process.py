"""Run one shell command on a device: no PTY, stdin closed, output capped, killed on timeout.

The command runs under a small POSIX sh wrapper that puts it in its own session (and so its
own process group) with stdin from /dev/null. The wrapper keeps the SSH channel's stdin
open and watches it: when the channel closes (our timeout, a cancel, a dropped connection),
the watcher sees end-of-file and kills the whole process group, so no remote process
outlives the run. Without ``setsid`` on the device, only the command's shell is signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from mudmap_tui.ssh.connection import DeviceConnection, channel_error, open_with_retry
from mudmap_tui.ssh.errors import TimedOut

DEFAULT_OUTPUT_CAP = 1024 * 1024
READ_SIZE = 65536

# $1 is the user's command. dash's kill takes no "--", so the group is written "-PID".
# fd 3 keeps the channel's stdin for the watcher, because sh
# gives background jobs /dev/null as stdin unless it is redirected explicitly.
WRAPPER = r"""
exec 3<&0
if command -v setsid >/dev/null 2>&1; then
    setsid sh -c "$1" </dev/null 3<&- &
else
    sh -c "$1" </dev/null 3<&- &
fi
pid=$!
{
    cat <&3 >/dev/null
    kill -TERM -"$pid" || kill -TERM "$pid"
    sleep 2
    kill -KILL -"$pid" || kill -KILL "$pid"
} >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"""

OutputCallback = Callable[[str, bytes], None]


@dataclass
class CommandResult:
    """The output and exit status of one command on one device."""

    exit_status: int | None
    stdout: bytes
    stderr: bytes
    # True when the output went over the cap and the rest was read and discarded.
    truncated: bool
    output_cap: int
    timed_out: bool
    duration: float
    # Signal name when the remote process died of a signal (sshd's exit-signal).
    exit_signal: str | None = None


def wrap_command(command: str) -> str:
    """Return the shell line that runs ``command`` under the process-group wrapper."""
    return f"exec sh -c {shlex.quote(WRAPPER)} mudmap-run {shlex.quote(command)}"


class _OutputCollector:
    def __init__(self, cap: int, on_output: OutputCallback | None) -> None:
        self.cap = cap
        self.on_output = on_output
        self.kept = {"stdout": bytearray(), "stderr": bytearray()}
        self.total = 0
        self.truncated = False

    def add(self, stream: str, chunk: bytes) -> None:
        room = self.cap - self.total
        if room <= 0:
            self.truncated = True
            return
        if len(chunk) > room:
            chunk = chunk[:room]
            self.truncated = True
        self.total += len(chunk)
        self.kept[stream] += chunk
        if self.on_output is not None:
            self.on_output(stream, chunk)


async def _pump(reader: asyncssh.SSHReader, stream: str, collector: _OutputCollector) -> None:
    while True:
        chunk = await reader.read(READ_SIZE)
        if not chunk:
            return
        collector.add(stream, chunk)


async def run_remote(connection: DeviceConnection, command: str, *, timeout: float,
                     output_cap: int = DEFAULT_OUTPUT_CAP,
                     on_output: OutputCallback | None = None) -> CommandResult:
    """Run ``command`` through the device's login shell and collect its output.

    :param timeout: seconds from the channel opening to the command's exit; the remote
        process group is killed when it passes
    :param output_cap: bytes of stdout plus stderr kept; later output is discarded
    :param on_output: called with ("stdout" or "stderr", bytes) as kept output arrives
    :raises ChannelFailed: the session channel could not be opened or broke
    """
    collector = _OutputCollector(output_cap, on_output)
    started = time.monotonic()
    async with connection.channel("run") as conn:
        process = await open_with_retry(
            connection.device, "run",
            lambda: conn.create_process(wrap_command(command), encoding=None, request_pty=False))
        timed_out = False
        try:
            await asyncio.wait_for(_collect(process, collector), timeout)
        except asyncio.TimeoutError:
            timed_out = True
        except (asyncssh.Error, OSError) as error:
            raise channel_error(connection.device, "run", error) from None
        finally:
            # Closing the channel is what tells the wrapper to kill the process group.
            process.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait_closed(), 5)
    return CommandResult(
        exit_status=None if timed_out else process.exit_status,
        stdout=bytes(collector.kept["stdout"]),
        stderr=bytes(collector.kept["stderr"]),
        truncated=collector.truncated,
        output_cap=output_cap,
        timed_out=timed_out,
        duration=time.monotonic() - started,
        exit_signal=None if timed_out or not process.exit_signal else process.exit_signal[0],
    )


async def _collect(process: asyncssh.SSHClientProcess, collector: _OutputCollector) -> None:
    await asyncio.gather(
        _pump(process.stdout, "stdout", collector),
        _pump(process.stderr, "stderr", collector),
    )
    await process.wait()


async def run_checked(connection: DeviceConnection, command: str, *, timeout: float,
                      operation: str) -> CommandResult:
    """Run a short helper command of ours; a timeout raises instead of returning."""
    result = await run_remote(connection, command, timeout=timeout)
    if result.timed_out:
        raise TimedOut(connection.device, operation, timeout)
    return result
