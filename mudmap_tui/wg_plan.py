"""Planning of WireGuard peers: free addresses, overlapping allowed IPs, request params.

The peer dialog uses this module, and so can the CLI, so it imports without Textual. Values
are checked with the agent's own validators (agent.wireguard.params), so the app and the
device reject exactly the same input.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from agent.errors import AgentError
from agent.wireguard import params as wg_params
from mudmap_tui.errors import InvalidInput

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The member of PeerFormScreen's result that contains the client's private key. The caller
# removes it before sending the params to the agent, which never needs it.
CLIENT_PRIVATE_KEY = "client_private_key"


@dataclass(frozen=True)
class KeyPair:
    """A WireGuard key pair in base64, as `wg genkey` and `wg pubkey` print it."""

    private_key: str
    public_key: str

    def __repr__(self) -> str:
        return f"KeyPair(private_key=<hidden>, public_key={self.public_key!r})"


@dataclass(frozen=True)
class PeerView:
    """One peer of an interface: its public key and allowed IPs as networks."""

    public_key: str
    allowed_ips: tuple[IPNetwork, ...]
    endpoint: str | None = None
    persistent_keepalive: int = 0


@dataclass(frozen=True)
class WireGuardView:
    """The parts of a WireGuard interface that peer planning needs."""

    name: str
    public_key: str | None
    listen_port: int
    addresses: tuple[IPInterface, ...]
    peers: tuple[PeerView, ...]


@dataclass(frozen=True)
class Overlap:
    """An allowed IP of the new peer that overlaps one of another peer's."""

    network: IPNetwork
    other_network: IPNetwork
    other_public_key: str

    def describe(self) -> str:
        peer = f"peer {self.other_public_key[:8]}…"
        if self.network == self.other_network:
            # WireGuard keeps one peer per allowed IP, so saving takes it from the other.
            return f"{self.network} moves from {peer} to this peer; {peer} loses it"
        return (
            f"{self.network} overlaps {self.other_network} of {peer}; WireGuard sends "
            "each packet to the peer with the longest matching prefix"
        )


def generate_key_pair() -> KeyPair:
    """Generate an X25519 key pair for a WireGuard client."""
    private = X25519PrivateKey.generate()
    private_raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return KeyPair(_b64(private_raw), _b64(public_raw))


def public_key_of(private_key: str) -> str:
    """Derive the public key of a base64 private key; raise InvalidInput if it is not one."""
    raw = _agent_check("private_key", private_key, wg_params.private_key)
    public_raw = (
        X25519PrivateKey.from_private_bytes(raw)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    return _b64(public_raw)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def interface_view(interface: Mapping[str, Any]) -> WireGuardView:
    """Read a WireGuard interface from the agent's interfaces.get or wg.get result.

    Accepts ``{"interface": {...}}`` as interfaces.get returns it, the interface object
    itself (its peers under ``wireguard``), or a wg.get result (peers at the top, and
    ``addresses`` added by the caller, because wg.get carries none).
    """
    if "interface" in interface and isinstance(interface["interface"], Mapping):
        interface = interface["interface"]
    wireguard = interface.get("wireguard") or interface
    addresses = tuple(_address(item) for item in interface.get("addresses") or ())
    peers = tuple(peer_view(item) for item in wireguard.get("peers") or ())
    return WireGuardView(
        name=str(interface.get("name") or wireguard.get("name") or ""),
        public_key=wireguard.get("public_key"),
        listen_port=int(wireguard.get("listen_port") or 0),
        addresses=addresses,
        peers=peers,
    )


def _address(item: Any) -> IPInterface:
    if isinstance(item, str):
        return ipaddress.ip_interface(item)
    return ipaddress.ip_interface(f"{item['address']}/{item['prefixlen']}")


def peer_view(item: Mapping[str, Any]) -> PeerView:
    """Read one peer of a wg.get or interfaces.get result."""
    return PeerView(
        public_key=str(item["public_key"]),
        allowed_ips=tuple(
            ipaddress.ip_network(net, strict=False) for net in item.get("allowed_ips") or ()
        ),
        endpoint=item.get("endpoint"),
        persistent_keepalive=int(item.get("persistent_keepalive") or 0),
    )


def usable_range(network: IPNetwork) -> tuple[int, int]:
    """Return the first and last address (as integers) a peer may take in ``network``.

    The network address and the last address are left out. The last address is the IPv4
    broadcast address, or in IPv6 one of the subnet anycast addresses that RFC 2526
    reserves. Point-to-point prefixes (/31, /127) and host prefixes (/32, /128) have no
    such addresses, so every address in them is usable.
    """
    first = int(network.network_address)
    last = int(network.broadcast_address)
    if network.max_prefixlen - network.prefixlen >= 2:
        first += 1
        last -= 1
    return first, last


def next_free_address(
    interface_address: IPInterface, taken: Iterable[IPNetwork | IPAddress]
) -> IPAddress | None:
    """Return the lowest free address in the interface's subnet, or None when it is full.

    An address is free when it is not the interface's own, not the network or broadcast
    address (see usable_range), and inside none of ``taken`` (other peers' allowed IPs).
    Taken networks are skipped whole, so a /64 with a few peers costs a few steps.
    """
    network = interface_address.network
    version = network.version
    first, last = usable_range(network)
    blocked = [ipaddress.ip_network(interface_address.ip)]
    for item in taken:
        net = ipaddress.ip_network(item)
        if net.version == version and net.overlaps(network):
            blocked.append(net)
    spans = sorted((int(net.network_address), int(net.broadcast_address)) for net in blocked)
    candidate = first
    for start, end in spans:
        if candidate > last:
            break
        if end < candidate:
            continue
        if start > candidate:
            break
        candidate = end + 1
    if candidate > last:
        return None
    return ipaddress.ip_address(candidate) if version == 4 else ipaddress.IPv6Address(candidate)


def suggest_allowed_ips(view: WireGuardView) -> list[str]:
    """Suggest one host address per interface subnet for a new peer, such as 10.8.0.2/32.

    Link-local IPv6 addresses are skipped, since a WireGuard peer cannot route them.
    """
    taken = [net for peer in view.peers for net in peer.allowed_ips]
    suggestions = []
    for address in view.addresses:
        if address.version == 6 and address.ip.is_link_local:
            continue
        free = next_free_address(address, taken)
        if free is not None:
            suggestions.append(f"{free}/{free.max_prefixlen}")
    return suggestions


def find_overlaps(
    allowed_ips: Sequence[IPNetwork],
    peers: Iterable[PeerView],
    exclude_public_key: str | None = None,
) -> list[Overlap]:
    """List every pair of the new allowed IPs and another peer's that share an address."""
    overlaps = []
    for peer in peers:
        if peer.public_key == exclude_public_key:
            continue
        for mine in allowed_ips:
            for theirs in peer.allowed_ips:
                if mine.version == theirs.version and mine.overlaps(theirs):
                    overlaps.append(Overlap(mine, theirs, peer.public_key))
    return overlaps


# Field names as messages show them, where replacing "_" with a space is not enough.
FIELD_LABELS = {"allowed_ips": "allowed IPs"}


def _agent_check(field: str, value: Any, check: Any) -> Any:
    """Run an agent validator; turn its AgentError into the app's InvalidInput."""
    try:
        return check(value)
    except AgentError as error:
        rule = error.message.split(": ", 1)[-1]
        raise InvalidInput(FIELD_LABELS.get(field, field.replace("_", " ")), value, rule) from None


def parse_public_key(text: str) -> str:
    key = text.strip()
    _agent_check("public_key", key, wg_params.public_key)
    return key


def parse_allowed_ips(text: str) -> list[str]:
    """Parse comma- or space-separated CIDRs; return them normalised, host bits cleared."""
    items = [item for item in text.replace(",", " ").split() if item]
    if not items:
        raise InvalidInput("allowed IPs", text, "give at least one CIDR such as 10.8.0.2/32")
    for item in items:
        # One item at a time, so the error names the bad CIDR rather than the whole list.
        _agent_check("allowed_ips", item, lambda value: wg_params.allowed_ips([value]))
    return list(wg_params.allowed_ips(items))


def parse_endpoint(text: str) -> str | None:
    """Parse IPv4:port or [IPv6]:port; an empty text means no endpoint."""
    text = text.strip()
    if not text:
        return None
    host, port = _agent_check("endpoint", text, wg_params.endpoint)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_keepalive(text: str) -> int:
    """Parse the persistent keepalive in seconds; empty means 0 (off)."""
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidInput("persistent keepalive", text, "must be a whole number of seconds")
    return int(_agent_check("persistent_keepalive", int(text), wg_params.persistent_keepalive))


def parse_preshared_key(text: str) -> str | None:
    key = text.strip()
    if not key:
        return None
    _agent_check("preshared_key", key, wg_params.preshared_key)
    return key


@dataclass
class PeerInput:
    """A peer as the user entered it, already parsed."""

    public_key: str
    allowed_ips: list[str]
    endpoint: str | None = None
    persistent_keepalive: int = 0
    preshared_key: str | None = None

    def __repr__(self) -> str:
        return (
            f"PeerInput(public_key={self.public_key!r}, allowed_ips={self.allowed_ips!r}, "
            f"endpoint={self.endpoint!r}, persistent_keepalive={self.persistent_keepalive!r}, "
            f"preshared_key={'<hidden>' if self.preshared_key else None})"
        )


def peer_add_params(interface_name: str, peer: PeerInput) -> dict[str, Any]:
    """Build the params of wg.peer.add."""
    params: dict[str, Any] = {
        "name": interface_name,
        "public_key": peer.public_key,
        "allowed_ips": list(peer.allowed_ips),
    }
    if peer.endpoint:
        params["endpoint"] = peer.endpoint
    if peer.persistent_keepalive:
        params["persistent_keepalive"] = peer.persistent_keepalive
    if peer.preshared_key:
        params["preshared_key"] = peer.preshared_key
    return params


def peer_update_params(interface_name: str, existing: PeerView, peer: PeerInput) -> dict[str, Any]:
    """Build the params of wg.peer.update with only the settings that changed.

    A preshared key is set only when the user typed one. The agent never returns the
    current one, so an empty field leaves it as it is.
    """
    params: dict[str, Any] = {"name": interface_name, "public_key": existing.public_key}
    old_ips = [str(net) for net in existing.allowed_ips]
    if sorted(peer.allowed_ips) != sorted(old_ips):
        params["allowed_ips"] = list(peer.allowed_ips)
    if peer.endpoint and peer.endpoint != existing.endpoint:
        params["endpoint"] = peer.endpoint
    if peer.persistent_keepalive != existing.persistent_keepalive:
        params["persistent_keepalive"] = peer.persistent_keepalive
    if peer.preshared_key:
        params["preshared_key"] = peer.preshared_key
    return params
