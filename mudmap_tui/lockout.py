"""Find the interfaces that carry a device's SSH session, so a change cannot cut it off unawares.

An interface carries the session when it has the address the inventory connects to, or when
a default route goes through it (the controller may be behind a gateway). Setting such an
interface down, deleting it, lowering its MTU below the protocol minimum, removing its
addresses or enslaving it to a bridge can leave the device unreachable, with no way to send
the command that undoes it. Every change runs under a rollback guard, so even a forced one
comes back; the check spares the user the wait for the rollback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from mudmap_tui.device_actions import DeviceLink
from mudmap_tui.errors import UsageError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The smallest MTU the kernel accepts on any link (ETH_MIN_MTU).
KERNEL_MIN_MTU = 68
# The smallest MTU each IP version must carry: RFC 791 (IPv4) and RFC 8200 (IPv6).
MIN_MTU_BY_VERSION = {4: 576, 6: 1280}
DEFAULT_DESTINATIONS = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class SessionPath:
    """The interfaces that carry the SSH session, each with the reason, and the IP version."""

    carriers: dict[str, str] = field(default_factory=dict)
    ip_version: int = 4

    @property
    def min_mtu(self) -> int:
        return MIN_MTU_BY_VERSION[self.ip_version]


async def resolve_host(host: str) -> set[IPAddress]:
    """Return the addresses ``host`` resolves to, as the SSH connection resolves it."""
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        return set()
    addresses: set[IPAddress] = set()
    for family, *_rest, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.add(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
    return addresses


def _address_of(item: dict[str, Any]) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(item["address"]).split("%")[0])
    except (KeyError, ValueError):
        return None


async def session_path(link: DeviceLink, host: str) -> SessionPath:
    """Read the device's interfaces and routes and find those that carry the session."""
    addresses = await resolve_host(host)
    carriers: dict[str, str] = {}
    for interface in (await link.call("interfaces.list"))["interfaces"]:
        for item in interface.get("addresses", []):
            address = _address_of(item)
            if address is not None and address in addresses:
                carriers[interface["name"]] = f"it has the device's address {address}"
    for route in (await link.call("routes.list"))["routes"]:
        if route.get("destination") in DEFAULT_DESTINATIONS and route.get("dev"):
            carriers.setdefault(route["dev"], "the default route goes through it")
    only_ipv6 = bool(addresses) and all(address.version == 6 for address in addresses)
    return SessionPath(carriers, 6 if only_ipv6 else 4)


def update_risks(path: SessionPath, params: dict[str, Any],
                 removed_addresses: list[str]) -> list[str]:
    """List what in an ``iface set`` change can cut the session, in the user's words."""
    risks = []
    if params.get("state") == "down":
        risks.append("setting it down")
    mtu = params.get("mtu")
    # Below 68 no link takes the value: the plan rejects it with the range, no --force needed.
    if mtu is not None and KERNEL_MIN_MTU <= mtu < path.min_mtu:
        risks.append(f"an MTU of {mtu}, below IPv{path.ip_version}'s minimum {path.min_mtu}")
    if removed_addresses:
        risks.append(f"removing {', '.join(removed_addresses)}")
    if params.get("master"):
        risks.append(f"enslaving it to {params['master']}")
    return risks


def check_change(device: str, name: str, path: SessionPath, risks: list[str]) -> None:
    """Raise UsageError when a risky change targets an interface that carries the session."""
    reason = path.carriers.get(name)
    if reason is None or not risks:
        return
    raise UsageError(
        f"{device}: {name} carries the SSH session ({reason}), so {' and '.join(risks)} can "
        f"cut the device off; add --force to apply it anyway, and the guard rolls it back "
        f"unless a new SSH connection confirms it within --confirm-timeout seconds"
    )


def ops_risks(path: SessionPath, ops: list[dict[str, Any]]) -> dict[str, list[str]]:
    """List, per interface that carries the session, what in ``ops`` can cut it.

    The app's change dialogs use this, so a change made there gets the CLI's check.
    """
    risks: dict[str, list[str]] = {}
    for op in ops:
        params = op.get("params") or {}
        name = str(params.get("name", ""))
        if name not in path.carriers:
            continue
        method = op.get("method")
        if method == "interfaces.update":
            found = update_risks(path, params, [])
        elif method == "addresses.remove":
            found = [f"removing {params.get('address')}"]
        elif method in ("interfaces.delete", "wg.delete"):
            found = ["deleting it"]
        else:
            found = []
        if found:
            risks.setdefault(name, []).extend(found)
    return risks


def risk_text(device: str, path: SessionPath, risks: dict[str, list[str]]) -> str:
    """Describe the risks of :func:`ops_risks` in one sentence per interface."""
    return " ".join(
        f"{name} carries the SSH session to {device} ({path.carriers[name]}), so "
        f"{' and '.join(found)} can cut the device off."
        for name, found in risks.items()
    )
