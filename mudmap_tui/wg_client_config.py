"""A WireGuard client's configuration in wg-quick(8) format, and saving it safely.

The config contains the client's private key. So it is written with mode 0600 from the
moment the file exists, through a temporary file in the same directory, and never over an
existing file unless the caller passes overwrite=True.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mudmap_tui import wg_plan
from mudmap_tui.errors import AlreadyExists, InvalidInput

# Keys of wg-quick's [Interface] section that `wg setconf` does not take (wg-quick strip).
WG_QUICK_ONLY_KEYS = frozenset(
    {"address", "dns", "mtu", "table", "preup", "postup", "predown", "postdown", "saveconfig"}
)
CONFIG_MODE = 0o600


@dataclass
class ClientConfig:
    """The settings a client needs to reach a WireGuard interface on a device."""

    private_key: str
    addresses: Sequence[str]
    server_public_key: str
    endpoint_host: str
    endpoint_port: int
    allowed_ips: Sequence[str]
    dns: Sequence[str] = field(default_factory=list)
    persistent_keepalive: int = 0
    preshared_key: str | None = None

    def __repr__(self) -> str:
        return (
            f"ClientConfig(addresses={list(self.addresses)!r}, "
            f"endpoint={format_endpoint(self.endpoint_host, self.endpoint_port)!r}, "
            "private_key=<hidden>)"
        )


def for_new_peer(
    interface: Mapping[str, Any],
    peer_params: Mapping[str, Any],
    private_key: str,
    endpoint_host: str,
    dns: Sequence[str] = (),
) -> ClientConfig:
    """Build the config of a client just added as a peer of ``interface``.

    ``interface`` is the agent's interfaces.get or wg.get result (see wg_plan.interface_view),
    ``peer_params`` the wg.peer.add params, and ``endpoint_host`` the device's address as
    the client reaches it. The client's addresses are its allowed IPs on the device. Its
    AllowedIPs are the subnets of the interface's addresses (link-local left out), or the
    client's own addresses when the interface has none. The keepalive defaults to 25
    seconds, so a client behind NAT stays reachable.
    """
    view = wg_plan.interface_view(interface)
    addresses = [str(item) for item in peer_params.get("allowed_ips") or ()]
    subnets = []
    for address in view.addresses:
        if address.version == 6 and address.ip.is_link_local:
            continue
        if str(address.network) not in subnets:
            subnets.append(str(address.network))
    if not view.public_key:
        raise InvalidInput("interface", view.name, "has no public key; set a private key first")
    return ClientConfig(
        private_key=private_key,
        addresses=addresses,
        server_public_key=view.public_key,
        endpoint_host=endpoint_host,
        endpoint_port=view.listen_port,
        allowed_ips=subnets or addresses,
        dns=list(dns),
        persistent_keepalive=int(peer_params.get("persistent_keepalive") or 25),
        preshared_key=peer_params.get("preshared_key"),
    )


def format_endpoint(host: str, port: int) -> str:
    """Join host and port as WireGuard's Endpoint takes them: an IPv6 address in brackets."""
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{host}:{port}"
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def render(config: ClientConfig) -> str:
    """Render the client's wg-quick config: [Interface] for the client, [Peer] for the device."""
    lines = ["[Interface]", f"PrivateKey = {config.private_key}"]
    if config.addresses:
        lines.append(f"Address = {', '.join(config.addresses)}")
    if config.dns:
        lines.append(f"DNS = {', '.join(config.dns)}")
    lines += ["", "[Peer]", f"PublicKey = {config.server_public_key}"]
    if config.preshared_key:
        lines.append(f"PresharedKey = {config.preshared_key}")
    lines.append(f"Endpoint = {format_endpoint(config.endpoint_host, config.endpoint_port)}")
    lines.append(f"AllowedIPs = {', '.join(config.allowed_ips)}")
    if config.persistent_keepalive:
        lines.append(f"PersistentKeepalive = {config.persistent_keepalive}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> list[tuple[str, dict[str, str]]]:
    """Parse a wg-quick config into (section, {key: value}) pairs, keys in lowercase.

    Comments (#) and blank lines are skipped. Raises InvalidInput for a line outside a
    section or without "=".
    """
    sections: list[tuple[str, dict[str, str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1], {}))
            continue
        key, sep, value = line.partition("=")
        if not sep or not sections:
            raise InvalidInput(
                "config line", raw, f"line {number} must be Key = Value in a section"
            )
        sections[-1][1][key.strip().lower()] = value.strip()
    return sections


def strip_wg_quick(text: str) -> str:
    """Drop the wg-quick-only keys (Address, DNS, ...) so that `wg setconf` accepts the text."""
    kept = []
    for raw in text.splitlines():
        key = raw.split("=", 1)[0].strip().lower()
        if "=" in raw and key in WG_QUICK_ONLY_KEYS:
            continue
        kept.append(raw)
    return "\n".join(kept) + "\n"


def suggested_file_name(interface: str, peer_label: str) -> str:
    """Name a client config after the interface and the peer, as wg-quick expects *.conf."""
    safe = "".join(char if char.isalnum() or char in "-_." else "-" for char in peer_label)
    return f"{interface}-{safe.strip('-') or 'client'}.conf"


def save(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` with mode 0600; raise AlreadyExists unless ``overwrite``.

    The text goes to a temporary file created 0600 in the same directory, then is linked
    into place (which fails if ``path`` appeared meanwhile) or, with ``overwrite``, renamed
    over it. A reader never sees a partial file, and no other user ever sees the key.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidInput("file", str(path), "is a directory; give a file name such as wg0.conf")
    if not path.parent.is_dir():
        raise InvalidInput("file", str(path), f"folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise AlreadyExists(f"{path} already exists; confirm to overwrite it")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp creates the file with mode 0600; fchmod makes that explicit.
        os.fchmod(descriptor, CONFIG_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _place(Path(temporary), path, overwrite)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _place(temporary: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise AlreadyExists(f"{path} already exists; confirm to overwrite it") from None
