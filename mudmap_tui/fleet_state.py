"""The app's view of each device, and the age of each piece of it.

Plain data and pure functions, so the TUI, the CLI and tests share one meaning of "online",
"unreachable" and of an interface's rate.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mudmap_tui.ssh.errors import (
    AgentUnavailable,
    AuthFailed,
    ConnectFailed,
    HostKeyChanged,
    HostKeyUnknown,
    SshError,
    TimedOut,
)

# The agent protocol this controller speaks; a device running an older one is outdated.
EXPECTED_PROTOCOL_VERSION = 1


class DeviceState(str, enum.Enum):
    """A device's connection state; ``glyph`` and ``word`` show it without colour."""

    NOT_CHECKED = "not_checked"
    CHECKING = "checking"
    ONLINE = "online"
    OFFLINE = "offline"
    UNREACHABLE = "unreachable"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    HOST_KEY_CHANGED = "host_key_changed"
    AGENT_OUTDATED = "agent_outdated"

    @property
    def glyph(self) -> str:
        return _GLYPHS[self]

    @property
    def word(self) -> str:
        return _WORDS[self]


_GLYPHS = {
    DeviceState.NOT_CHECKED: "·",
    DeviceState.CHECKING: "…",
    DeviceState.ONLINE: "●",
    DeviceState.OFFLINE: "○",
    DeviceState.UNREACHABLE: "✕",
    DeviceState.HOST_KEY_UNKNOWN: "?",
    DeviceState.HOST_KEY_CHANGED: "!",
    DeviceState.AGENT_OUTDATED: "↑",
}

_WORDS = {
    DeviceState.NOT_CHECKED: "not checked yet",
    DeviceState.CHECKING: "checking",
    DeviceState.ONLINE: "online",
    DeviceState.OFFLINE: "offline",
    DeviceState.UNREACHABLE: "unreachable",
    DeviceState.HOST_KEY_UNKNOWN: "host key unknown",
    DeviceState.HOST_KEY_CHANGED: "host key changed",
    DeviceState.AGENT_OUTDATED: "agent outdated",
}


def classify_error(error: BaseException) -> tuple[DeviceState, str]:
    """Map an error from a status check to the state it means and a short reason.

    A refused, reset or lost connection means the device ended the connection or its sshd
    is not listening: ``offline``. A timeout or a route error means nothing answers:
    ``unreachable``.
    """
    if isinstance(error, HostKeyUnknown):
        return DeviceState.HOST_KEY_UNKNOWN, f"host key {error.fingerprint} is not trusted yet"
    if isinstance(error, HostKeyChanged):
        return DeviceState.HOST_KEY_CHANGED, error.reason
    if isinstance(error, TimedOut):
        return DeviceState.UNREACHABLE, error.reason
    if isinstance(error, ConnectFailed):
        reason = error.reason.lower()
        answered = any(word in reason for word in ("refused", "reset", "lost"))
        return (DeviceState.OFFLINE if answered else DeviceState.UNREACHABLE), error.reason
    if isinstance(error, AuthFailed | AgentUnavailable | SshError):
        return DeviceState.UNREACHABLE, error.reason
    if isinstance(error, TimeoutError):
        return DeviceState.UNREACHABLE, "timed out"
    if isinstance(error, OSError):
        return DeviceState.UNREACHABLE, error.strerror or str(error)
    return DeviceState.UNREACHABLE, f"{type(error).__name__}: {error}"


def format_age(seconds: float | None) -> str:
    """Return an age as people read it: ``4 s``, ``3 min``, ``2 h``, ``5 d``; ``never``."""
    if seconds is None:
        return "never"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def format_bytes(count: float) -> str:
    """Return a byte count with a binary unit: ``512 B``, ``1.5 KiB``, ``3.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def format_rate(bytes_per_second: float | None) -> str:
    """Return a rate such as ``1.2 KiB/s``, or ``-`` before two samples exist."""
    if bytes_per_second is None:
        return "-"
    return f"{format_bytes(bytes_per_second)}/s"


def counter_rates(previous: Mapping[str, int] | None, previous_at: float | None,
                  current: Mapping[str, int], current_at: float,
                  ) -> tuple[float | None, float | None]:
    """Return (rx, tx) bytes per second between two counter samples.

    None when there is no earlier sample, no time passed, or a counter went backwards
    (the interface was recreated or the counter wrapped), because a rate from those would
    be false.
    """
    if previous is None or previous_at is None or current_at <= previous_at:
        return None, None
    elapsed = current_at - previous_at
    rates: list[float | None] = []
    for key in ("rx_bytes", "tx_bytes"):
        before, after = previous.get(key), current.get(key)
        if before is None or after is None or after < before:
            rates.append(None)
        else:
            rates.append((after - before) / elapsed)
    return rates[0], rates[1]


def age_since(now: float, at: float | None) -> float | None:
    return None if at is None else now - at


@dataclass
class InterfaceRow:
    """One interface as the table shows it, with rates from the last two samples."""

    name: str
    kind: str
    state: str
    mtu: int | None
    mac: str
    addresses: list[str]
    master: str
    rx_rate: float | None = None
    tx_rate: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def interface_row(interface: Mapping[str, Any]) -> InterfaceRow:
    """Build a table row from one ``interfaces.list`` entry."""
    addresses = [f"{a['address']}/{a['prefixlen']}" for a in interface.get("addresses") or []
                 if "address" in a and "prefixlen" in a]
    admin = interface.get("admin_state") or "?"
    oper = interface.get("oper_state") or "?"
    state = admin if admin == oper or admin == "down" else f"{admin} ({oper})"
    return InterfaceRow(
        name=str(interface.get("name", "?")),
        kind=str(interface.get("kind") or "?"),
        state=state,
        mtu=interface.get("mtu"),
        mac=interface.get("mac") or "",
        addresses=addresses,
        master=interface.get("master") or "",
        raw=dict(interface),
    )


@dataclass
class DeviceStatus:
    """The last known state and data of one device; times are Unix seconds."""

    name: str
    state: DeviceState = DeviceState.NOT_CHECKED
    reason: str = ""
    checked_at: float | None = None
    hello: dict[str, Any] | None = None
    facts: dict[str, Any] | None = None
    facts_at: float | None = None
    interfaces: list[InterfaceRow] = field(default_factory=list)
    interfaces_at: float | None = None
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    # Data for the other tabs, keyed by tab name, each with the time it was read.
    extras: dict[str, Any] = field(default_factory=dict)
    extras_at: dict[str, float] = field(default_factory=dict)
    # Details of an unknown host key, so the accept action can show and record it.
    host_key: dict[str, str] | None = None

    def age(self, now: float) -> float | None:
        """Return the seconds since the last status check, None before the first."""
        return age_since(now, self.checked_at)

    @property
    def label(self) -> str:
        """Return the glyph and the word of the state, such as ``● online``."""
        return f"{self.state.glyph} {self.state.word}"


class FleetState:
    """The status of every device in the inventory, updated by background checks."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.devices: dict[str, DeviceStatus] = {name: DeviceStatus(name) for name in names}
        # Set by sync: then only listed devices are kept, so a check that finishes after
        # its device was removed does not bring the device back into the counts.
        self.listed: set[str] | None = None

    def status(self, name: str) -> DeviceStatus:
        """Return the status of ``name``; a device that sync dropped gets a detached one."""
        if self.listed is not None and name not in self.listed:
            return self.devices.get(name) or DeviceStatus(name)
        return self.devices.setdefault(name, DeviceStatus(name))

    def sync(self, names: Iterable[str]) -> None:
        """Keep the statuses of ``names``, add new ones and drop devices no longer listed."""
        listed = list(names)
        self.listed = set(listed)
        self.devices = {name: self.devices.get(name) or DeviceStatus(name) for name in listed}

    def mark_online(self, name: str, at: float, hello: dict[str, Any] | None) -> DeviceStatus:
        status = self.status(name)
        status.hello = hello or status.hello
        status.checked_at = at
        status.host_key = None
        protocol = (hello or {}).get("protocol_version")
        if isinstance(protocol, int) and protocol < EXPECTED_PROTOCOL_VERSION:
            status.state = DeviceState.AGENT_OUTDATED
            status.reason = (f"agent protocol {protocol}, this app needs "
                             f"{EXPECTED_PROTOCOL_VERSION}; reconnect to replace the agent")
        else:
            status.state = DeviceState.ONLINE
            status.reason = ""
        return status

    def mark_failed(self, name: str, at: float, error: BaseException) -> DeviceStatus:
        status = self.status(name)
        status.state, status.reason = classify_error(error)
        status.checked_at = at
        if isinstance(error, HostKeyUnknown):
            status.host_key = {"host": error.host_entry, "fingerprint": error.fingerprint,
                               "public_key": error.public_key}
        return status

    def set_facts(self, name: str, at: float, facts: dict[str, Any]) -> None:
        status = self.status(name)
        status.facts = facts
        status.facts_at = at

    def set_interfaces(self, name: str, at: float, interfaces: list[dict[str, Any]]) -> None:
        """Store a fresh interface list and compute each interface's rates from the last."""
        status = self.status(name)
        previous_at = status.interfaces_at
        rows: list[InterfaceRow] = []
        counters: dict[str, dict[str, int]] = {}
        for interface in interfaces:
            row = interface_row(interface)
            current = interface.get("counters") or {}
            row.rx_rate, row.tx_rate = counter_rates(
                status.counters.get(row.name), previous_at, current, at)
            counters[row.name] = dict(current)
            rows.append(row)
        status.interfaces = rows
        status.interfaces_at = at
        status.counters = counters

    def set_extra(self, name: str, tab: str, at: float, value: Any) -> None:
        status = self.status(name)
        status.extras[tab] = value
        status.extras_at[tab] = at

    def counts(self) -> dict[DeviceState, int]:
        """Return how many devices are in each state, every state listed."""
        totals = {state: 0 for state in DeviceState}
        for status in self.devices.values():
            totals[status.state] += 1
        return totals

    def summary(self) -> str:
        """Return the header's connection summary, such as ``2 online · 1 unreachable``."""
        counts = self.counts()
        parts = [f"{counts[DeviceState.ONLINE]} online",
                 f"{counts[DeviceState.OFFLINE]} offline",
                 f"{counts[DeviceState.UNREACHABLE]} unreachable"]
        others = sum(count for state, count in counts.items() if state not in (
            DeviceState.ONLINE, DeviceState.OFFLINE, DeviceState.UNREACHABLE))
        if others:
            parts.append(f"{others} other")
        return " · ".join(parts)

