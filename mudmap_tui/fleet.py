"""Run one operation on many devices at once, with a result and progress events per device.

Each device runs in its own task under a shared concurrency limit and its own deadline, so
a slow or unreachable device never holds back another device's result. Example::

    run = run_command(pool, ["edge1", "edge2"], "uname -a", timeout=30)
    async for event in run.events():
        ...
    results = await run.wait()
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mudmap_tui.errors import InvalidInput, MudmapError
from mudmap_tui.ssh.errors import SshError
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.ssh.process import DEFAULT_OUTPUT_CAP, run_remote

log = logging.getLogger("mudmap.fleet")

DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT = 60.0


class Outcome(str, enum.Enum):
    """Final state of one device's part in a fleet run."""

    OK = "ok"
    # The command ran and exited non-zero (or died of a signal).
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    # The device could not be reached or the operation raised (connect, auth, host key).
    ERROR = "error"
    CANCELLED = "cancelled"


@dataclass
class DeviceResult:
    """One device's result in a fleet run."""

    device: str
    outcome: Outcome
    duration: float = 0.0
    exit_status: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    truncated: bool = False
    output_cap: int = DEFAULT_OUTPUT_CAP
    # A short message and the error class's kind when outcome is ERROR or TIMED_OUT.
    error: str | None = None
    error_kind: str | None = None
    # What a non-command operation returned, such as the agent's facts for ``status``.
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "outcome": self.outcome.value,
            "duration": round(self.duration, 3),
            "exit_status": self.exit_status,
            "stdout": self.stdout.decode(errors="replace"),
            "stderr": self.stderr.decode(errors="replace"),
            "truncated": self.truncated,
            "output_cap": self.output_cap,
            "error": self.error,
            "error_kind": self.error_kind,
            "value": self.value,
        }


@dataclass(frozen=True)
class DeviceStarted:
    device: str


@dataclass(frozen=True)
class OutputReceived:
    device: str
    stream: str
    data: bytes


@dataclass(frozen=True)
class DeviceFinished:
    result: DeviceResult


FleetEvent = DeviceStarted | OutputReceived | DeviceFinished
EventCallback = Callable[[FleetEvent], None]
# An operation gets the device name, its deadline (loop time) and the event sink.
Operation = Callable[[str, float, EventCallback], Awaitable[DeviceResult]]


@dataclass
class FleetRun:
    """A fleet operation in progress: iterate its events, wait for it, or cancel it."""

    devices: list[str]
    started_at: float = field(default_factory=time.time)
    results: dict[str, DeviceResult] = field(default_factory=dict)
    _queue: asyncio.Queue[FleetEvent | None] = field(default_factory=asyncio.Queue)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    _finisher: asyncio.Task[None] | None = None
    _callback: EventCallback | None = None

    def emit(self, event: FleetEvent) -> None:
        self._queue.put_nowait(event)
        if self._callback is not None:
            self._callback(event)

    async def events(self) -> AsyncIterator[FleetEvent]:
        """Yield events as they happen until every device has a result."""
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    async def wait(self) -> list[DeviceResult]:
        """Wait for every device and return the results in the order devices were given."""
        await self._done.wait()
        return [self.results[name] for name in self.devices]

    def cancel(self) -> None:
        """Stop every device still running; each gets a ``cancelled`` result."""
        for task in self._tasks.values():
            task.cancel()


def start(devices: Sequence[str], operation: Operation, *, timeout: float = DEFAULT_TIMEOUT,
          concurrency: int = DEFAULT_CONCURRENCY,
          on_event: EventCallback | None = None) -> FleetRun:
    """Start ``operation`` on every device in the background and return the run.

    :param timeout: seconds per device, counted from the device's start, connecting included
    :param concurrency: devices in progress at once
    :raises InvalidInput: the timeout is not a finite number above 0 or the concurrency is
        below 1, either of which would hang the run or end every device at once
    """
    if not math.isfinite(timeout) or timeout <= 0:
        raise InvalidInput("timeout", timeout, "use a number of seconds above 0")
    if concurrency < 1:
        raise InvalidInput("concurrency", concurrency, "use 1 or more devices at once")
    run = FleetRun(devices=list(dict.fromkeys(devices)), _callback=on_event)
    limit = asyncio.Semaphore(concurrency)
    for name in run.devices:
        run._tasks[name] = asyncio.create_task(_run_device(run, name, operation, timeout, limit))
    run._finisher = asyncio.create_task(_finish_when_done(run))
    return run


async def _finish_when_done(run: FleetRun) -> None:
    await asyncio.gather(*run._tasks.values(), return_exceptions=True)
    run._done.set()
    run._queue.put_nowait(None)


async def _run_device(run: FleetRun, name: str, operation: Operation, timeout: float,
                      limit: asyncio.Semaphore) -> None:
    started = time.monotonic()
    try:
        async with limit:
            started = time.monotonic()
            run.emit(DeviceStarted(name))
            deadline = asyncio.get_running_loop().time() + timeout
            # The operation honours the deadline itself so that it can report partial
            # output; the grace period only guards against an operation that does not.
            result = await asyncio.wait_for(operation(name, deadline, run.emit), timeout + 10)
    except asyncio.CancelledError:
        result = DeviceResult(name, Outcome.CANCELLED, error="cancelled")
    except asyncio.TimeoutError:
        result = DeviceResult(name, Outcome.TIMED_OUT, error=f"timed out after {timeout:g} s",
                              error_kind="timed_out")
    except SshError as error:
        outcome = Outcome.TIMED_OUT if error.kind == "timed_out" else Outcome.ERROR
        result = DeviceResult(name, outcome, error=str(error), error_kind=error.kind)
    except MudmapError as error:
        result = DeviceResult(name, Outcome.ERROR, error=str(error),
                              error_kind=type(error).__name__)
    except Exception as error:  # one device's bug must not cost the others their results
        log.exception("%s: operation raised an unexpected error", name)
        result = DeviceResult(name, Outcome.ERROR, error=f"{type(error).__name__}: {error}",
                              error_kind="internal_error")
    result.duration = time.monotonic() - started
    if result.outcome in (Outcome.ERROR, Outcome.TIMED_OUT):
        log.info("%s: %s after %.1f s: %s", name, result.outcome.value, result.duration,
                 result.error)
    run.results[name] = result
    run.emit(DeviceFinished(result))


def remaining(deadline: float) -> float:
    """Return the seconds left until ``deadline`` (event loop time), at least 0."""
    return max(0.0, deadline - asyncio.get_running_loop().time())


async def connect_within(pool: ConnectionPool, name: str, deadline: float) -> Any:
    """Return the device's pooled connection, or raise TimedOut at the deadline."""
    from mudmap_tui.ssh.errors import TimedOut

    left = remaining(deadline)
    try:
        return await asyncio.wait_for(pool.connection(name), left)
    except asyncio.TimeoutError:
        raise TimedOut(name, "connect", left) from None


def command_operation(pool: ConnectionPool, command: str,
                      output_cap: int = DEFAULT_OUTPUT_CAP) -> Operation:
    """Build the operation that runs a shell command and turns its exit into an outcome."""

    async def operation(name: str, deadline: float, emit: EventCallback) -> DeviceResult:
        connection = await connect_within(pool, name, deadline)
        result = await run_remote(
            connection, command, timeout=remaining(deadline), output_cap=output_cap,
            on_output=lambda stream, data: emit(OutputReceived(name, stream, data)),
        )
        if result.timed_out:
            outcome = Outcome.TIMED_OUT
        elif result.exit_status == 0:
            outcome = Outcome.OK
        else:
            outcome = Outcome.FAILED
        return DeviceResult(
            name, outcome, exit_status=result.exit_status, stdout=result.stdout,
            stderr=result.stderr, truncated=result.truncated, output_cap=output_cap,
            error="timed out; the remote process group was killed" if result.timed_out else None,
            error_kind="timed_out" if result.timed_out else None,
        )

    return operation


def run_command(pool: ConnectionPool, devices: Sequence[str], command: str, *,
                timeout: float = DEFAULT_TIMEOUT, concurrency: int = DEFAULT_CONCURRENCY,
                output_cap: int = DEFAULT_OUTPUT_CAP,
                on_event: EventCallback | None = None) -> FleetRun:
    """Start ``command`` on every device (no PTY, stdin closed) and return the run."""
    if output_cap < 1:
        raise InvalidInput("output cap", output_cap, "use 1 or more bytes")
    return start(devices, command_operation(pool, command, output_cap), timeout=timeout,
                 concurrency=concurrency, on_event=on_event)
