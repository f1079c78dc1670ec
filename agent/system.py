"""``system.reboot`` and ``system.shutdown``: respond first, then act from a detached child.

The response must reach the controller before the device goes down, so the action runs
in a child process in its own session that waits ``delay`` seconds. That child outlives
the agent and its SSH channel. With systemd as init it runs ``systemctl reboot`` or
``systemctl poweroff``, so services stop cleanly. Without systemd it calls reboot(2). In a
PID namespace other than the initial one, reboot(2) ends that namespace's init instead of
restarting the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Dict, List

from agent import validate
from agent.errors import AgentError, invalid
from agent.registry import method

DEFAULT_DELAY = 1.0
MAX_DELAY = 300.0

# The child's program. It must not import the agent: the zipapp's cache may be replaced
# while it sleeps. argv: action ("reboot" or "poweroff"), delay in seconds.
CHILD_PROGRAM = r"""
import ctypes, os, subprocess, sys, time
action, delay = sys.argv[1], float(sys.argv[2])
time.sleep(delay)
os.sync()
if os.path.isdir("/run/systemd/system"):
    sys.exit(subprocess.call(["systemctl", action]))
# <sys/reboot.h>: RB_AUTOBOOT restarts, RB_POWER_OFF powers off.
command = {"reboot": 0x01234567, "poweroff": 0x4321FEDC}[action]
libc = ctypes.CDLL(None, use_errno=True)
if libc.reboot(command) != 0:
    sys.exit("reboot(2) failed: " + os.strerror(ctypes.get_errno()))
"""


def systemd_running() -> bool:
    """Tell whether systemd is the init system, by the test that sd_booted(3) uses."""
    return os.path.isdir("/run/systemd/system")


def plan(action: str) -> Dict[str, Any]:
    """Describe how ``action`` would be carried out here, without doing it."""
    if systemd_running():
        return {"action": action, "via": "systemctl", "argv": ["systemctl", action]}
    return {"action": action, "via": "reboot(2)", "argv": None}


def child_argv(action: str, delay: float) -> List[str]:
    return [sys.executable, "-I", "-c", CHILD_PROGRAM, action, repr(delay)]


def schedule(action: str, delay: float) -> None:
    if os.geteuid() != 0:
        raise AgentError(
            "permission_denied",
            "%s needs root; start the agent as root or through sudo -n" % action,
        )
    try:
        subprocess.Popen(
            child_argv(action, delay),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            cwd="/",
        )
    except OSError as error:
        raise AgentError("failed", "cannot start the %s helper: %s" % (action, error)) from None


def _handle(action: str, params: Any) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("delay",))
    delay = params.get("delay", DEFAULT_DELAY)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise invalid("delay", delay, "must be a number of seconds")
    if not 0.5 <= delay <= MAX_DELAY:
        raise invalid("delay", delay, "must be from 0.5 to %g seconds" % MAX_DELAY)
    result = plan(action)
    schedule(action, float(delay))
    result["delay"] = float(delay)
    return result


@method("system.reboot")
def reboot(params: Dict[str, Any]) -> Dict[str, Any]:
    """Reboot the device ``delay`` seconds (default 1) after this response."""
    return _handle("reboot", params)


@method("system.shutdown")
def shutdown(params: Dict[str, Any]) -> Dict[str, Any]:
    """Power the device off ``delay`` seconds (default 1) after this response."""
    return _handle("poweroff", params)
