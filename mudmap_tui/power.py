"""Reboot or power off a device through its agent, and watch it go down and come back.

The agent responds to ``system.reboot`` before it acts. The controller then waits until the
device's SSH connection drops (the device went down) and, for a reboot, until a new
connection succeeds (the device is back). The downtime is measured between those two.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from mudmap_tui.device_actions import DeviceLink
from mudmap_tui.ssh.errors import SshError, TimedOut

# Seconds a device may take to drop its connection after the agent's response, and to
# accept SSH again after that. Physical machines with slow firmware need minutes.
DOWN_TIMEOUT = 120.0
UP_TIMEOUT = 600.0
POLL_INTERVAL = 0.2
# Seconds between the agent's response and the action, so the response reaches us first.
ACTION_DELAY = 1.0


@dataclass
class PowerResult:
    """The timeline of one reboot or shutdown, in seconds from the request."""

    device: str
    action: str
    went_down_after: float
    back_after: float | None = None

    @property
    def downtime(self) -> float | None:
        if self.back_after is None:
            return None
        return self.back_after - self.went_down_after


async def wait_down(link: DeviceLink, timeout: float = DOWN_TIMEOUT) -> None:
    """Wait until the device's SSH connection is closed by the device."""
    connection = await link.connection()
    deadline = time.monotonic() + timeout
    while connection.connected:
        if time.monotonic() > deadline:
            raise TimedOut(link.device, "wait for shutdown", timeout)
        await asyncio.sleep(POLL_INTERVAL)


async def wait_up(link: DeviceLink, timeout: float = UP_TIMEOUT) -> None:
    """Reconnect until the device answers SSH again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await link.connection()
            return
        except SshError:
            if time.monotonic() > deadline:
                raise TimedOut(link.device, "wait for reboot", timeout) from None
            await asyncio.sleep(POLL_INTERVAL * 5)


async def power_action(
    link: DeviceLink,
    action: str,
    *,
    down_timeout: float = DOWN_TIMEOUT,
    up_timeout: float = UP_TIMEOUT,
) -> PowerResult:
    """Ask the agent to reboot or shut down the device, then follow it down (and up).

    :param action: "reboot" or "shutdown"
    """
    method = "system.reboot" if action == "reboot" else "system.shutdown"
    started = time.monotonic()
    await link.call(method, {"delay": ACTION_DELAY})
    await wait_down(link, down_timeout)
    result = PowerResult(link.device, action, time.monotonic() - started)
    if action == "reboot":
        await wait_up(link, up_timeout)
        result.back_after = time.monotonic() - started
    return result
