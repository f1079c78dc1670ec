"""The WireGuard state and changes that both backends (kernel and userspace) exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

# An endpoint is (IP address text without brackets, UDP port).
Endpoint = Tuple[str, int]

ZERO_KEY = bytes(32)


@dataclass
class Peer:
    public_key: bytes
    preshared_key_set: bool = False
    # The key itself, only for a rollback snapshot (agent/snapshot.py); never put it into a
    # result or a log. repr=False keeps it out of tracebacks and debug output.
    preshared_key: Optional[bytes] = field(default=None, repr=False)
    endpoint: Optional[Endpoint] = None
    persistent_keepalive: int = 0
    allowed_ips: List[str] = field(default_factory=list)
    # Zero seconds means no handshake has completed yet.
    last_handshake_sec: int = 0
    last_handshake_nsec: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0


@dataclass
class Device:
    # None when the interface has no private key configured.
    private_key: Optional[bytes] = None
    public_key: Optional[bytes] = None
    listen_port: int = 0
    fwmark: int = 0
    peers: List[Peer] = field(default_factory=list)


@dataclass
class PeerChange:
    """One peer's part of a set operation; None leaves the setting as it is."""

    public_key: bytes
    remove: bool = False
    # Update an existing peer only; never create it.
    update_only: bool = False
    # ZERO_KEY clears the preshared key.
    preshared_key: Optional[bytes] = None
    endpoint: Optional[Endpoint] = None
    persistent_keepalive: Optional[int] = None
    replace_allowed_ips: bool = False
    allowed_ips: Optional[List[str]] = None


@dataclass
class DeviceChange:
    """A set operation; None leaves the setting as it is, fwmark 0 removes the mark."""

    private_key: Optional[bytes] = None
    listen_port: Optional[int] = None
    fwmark: Optional[int] = None
    peers: List[PeerChange] = field(default_factory=list)


def format_endpoint(endpoint: Endpoint) -> str:
    """Format an endpoint as `wg` shows it: IPv6 addresses in brackets."""
    host, port = endpoint
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)
