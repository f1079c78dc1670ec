"""The ``facts`` method: what the controller shows about a device at a glance."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from typing import Any, Dict, List, Optional

from agent import validate
from agent.links import routes_list
from agent.registry import method

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")


def read_os_release() -> Dict[str, str]:
    """Parse os-release(5): KEY=value lines with shell-style quoting."""
    for path in OS_RELEASE_PATHS:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        fields = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if not sep or line.lstrip().startswith("#"):
                continue
            try:
                words = shlex.split(value)
            except ValueError:
                continue
            fields[key.strip()] = words[0] if words else ""
        return fields
    return {}


def read_meminfo() -> Dict[str, int]:
    """Return /proc/meminfo totals in bytes for the fields the controller shows."""
    names = {"MemTotal": "total", "MemAvailable": "available", "SwapTotal": "swap_total"}
    result: Dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in names:
                    # The kernel prints these in kibibytes ("kB").
                    result[names[key]] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return result


def read_uptime() -> Optional[float]:
    try:
        with open("/proc/uptime", encoding="ascii") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def default_routes() -> List[Dict[str, Any]]:
    """Return the IPv4 and IPv6 default routes of the main table."""
    routes = routes_list({"table": "main"})["routes"]
    return [
        route
        for route in routes
        if route["destination"] in ("0.0.0.0/0", "::/0") and route["type"] == "unicast"
    ]


def _systemd_unit_active(unit: str) -> bool:
    """Ask systemctl whether a unit runs; the unit name is a constant, never user input."""
    if not os.path.isdir("/run/systemd/system"):
        return False
    try:
        result = subprocess.run(
            ["systemctl", "is-active", "--quiet", unit],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _has_files(directory: str, suffix: str) -> bool:
    try:
        return any(name.endswith(suffix) for name in os.listdir(directory))
    except OSError:
        return False


def _ifupdown_configured() -> bool:
    """True when /etc/network/interfaces configures more than the loopback."""
    try:
        # Detection only: a byte that is not UTF-8 must not fail every fact.
        with open("/etc/network/interfaces", encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return False
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] in ("iface", "auto", "allow-hotplug") and words[1] != "lo":
            return True
        if words and words[0] in ("source", "source-directory"):
            return True
    return False


def network_managers() -> Dict[str, Any]:
    """Report which systems own the network configuration; several may be present."""
    found = {
        "systemd_networkd": _systemd_unit_active("systemd-networkd.service"),
        "networkmanager": _systemd_unit_active("NetworkManager.service")
        or os.path.exists("/run/NetworkManager/NetworkManager.pid"),
        "netplan": _has_files("/etc/netplan", ".yaml"),
        "ifupdown": _ifupdown_configured(),
    }
    active = [name for name, present in found.items() if present]
    return {"detected": found, "primary": active[0] if active else "none"}


@method("facts")
def facts(params: Dict[str, Any]) -> Dict[str, Any]:
    validate.only(validate.params_object(params), ())
    uname = os.uname()
    os_release = read_os_release()
    return {
        "hostname": socket.gethostname(),
        "os": {
            "id": os_release.get("ID"),
            "name": os_release.get("NAME"),
            "version_id": os_release.get("VERSION_ID"),
            "pretty_name": os_release.get("PRETTY_NAME"),
        },
        "kernel": {"release": uname.release, "version": uname.version, "machine": uname.machine},
        "uptime": read_uptime(),
        "cpus": os.cpu_count(),
        "memory": read_meminfo(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "default_routes": default_routes(),
        "network_config": network_managers(),
    }
