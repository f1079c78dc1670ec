"""One WireGuard interface over both backends: the kernel module or wireguard-go.

An interface whose UAPI socket exists is served by wireguard-go; any other interface of
link kind ``wireguard`` is the kernel's. New interfaces use the kernel when it has
WireGuard and fall back to wireguard-go otherwise.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from agent import netlink
from agent.errors import AgentError
from agent.wireguard import kernel, keys, uapi
from agent.wireguard.model import Device, DeviceChange, Peer, format_endpoint

BACKENDS = ("kernel", "userspace")


def link_kind(name: str) -> Optional[str]:
    """Return the link kind of interface ``name`` ("" for none), or None when it is absent."""
    with netlink.ip_route() as ipr:
        try:
            (link,) = ipr.link("get", ifname=name)
        except netlink.NetlinkError as error:
            if error.code == errno.ENODEV:
                return None
            raise
    return link.get(("IFLA_LINKINFO", "IFLA_INFO_KIND")) or ""


def backend_of(name: str) -> str:
    """Name the backend serving WireGuard interface ``name``, or raise not_found."""
    kind = link_kind(name)
    # The socket directory may be shared with other network namespaces (``ip netns exec``
    # keeps the host's /run), so a socket counts only with a TUN link of that name here.
    if kind == "tun" and uapi.exists(name):
        return "userspace"
    if kind == "wireguard":
        return "kernel"
    if kind is not None:
        raise AgentError(
            "not_found", "%s is a %s interface, not a WireGuard one" % (name, kind or "device")
        )
    raise AgentError("not_found", "WireGuard interface %s not found" % name)


def userspace_names() -> List[str]:
    """List the interfaces that wireguard-go serves here, by their UAPI sockets."""
    try:
        entries = sorted(os.listdir(uapi.SOCKET_DIR))
    except OSError:
        return []
    names = [entry[: -len(".sock")] for entry in entries if entry.endswith(".sock")]
    return [name for name in names if uapi.exists(name)]


def _module(backend: str) -> Any:
    return uapi if backend == "userspace" else kernel


def read(name: str) -> Device:
    return _module(backend_of(name)).get(name)


def apply(name: str, change: DeviceChange) -> None:
    _module(backend_of(name)).set_device(name, change)


@dataclass
class LinkSettings:
    """Link settings applied after creation; None leaves the kernel's default."""

    mtu: Optional[int] = None
    state: Optional[str] = None


def set_link(name: str, settings: LinkSettings) -> None:
    attributes: Dict[str, Any] = {}
    if settings.mtu is not None:
        attributes["mtu"] = settings.mtu
    if settings.state is not None:
        attributes["state"] = settings.state
    if not attributes:
        return
    with netlink.ip_route() as ipr:
        try:
            ipr.link("set", ifname=name, **attributes)
        except netlink.NetlinkError as error:
            raise AgentError(
                "failed", "cannot set %s on %s: %s" % (", ".join(sorted(attributes)), name, error)
            ) from None


def create(
    name: str, change: DeviceChange, backend: str = "auto", link: Optional[LinkSettings] = None
) -> str:
    """Create interface ``name`` with a private key generated here; return the backend used.

    The change must not carry a private key: the key is generated on the device and leaves
    it only through ``wg.private_key``. When configuring the new interface fails, the
    interface is deleted again, so a failed create leaves nothing behind.
    """
    if link_kind(name) is not None:
        raise AgentError("exists", "interface %s already exists" % name)
    if uapi.exists(name):
        raise AgentError(
            "exists",
            "a wireguard-go socket for %s already exists at %s; choose another name"
            % (name, uapi.socket_path(name)),
        )
    used = _create_link(name, backend)
    change.private_key = keys.generate_private_key()
    try:
        _module(used).set_device(name, change)
        set_link(name, link or LinkSettings())
    except Exception:
        _delete_with(used, name)
        raise
    return used


def _create_link(name: str, backend: str) -> str:
    if backend in ("auto", "kernel"):
        try:
            kernel.create(name)
            return "kernel"
        except AgentError as error:
            if error.kind != "unsupported" or backend == "kernel":
                raise
    uapi.start(name)
    return "userspace"


def delete(name: str) -> None:
    _delete_with(backend_of(name), name)


def _delete_with(backend: str, name: str) -> None:
    if backend == "userspace":
        uapi.stop(name)
        # wireguard-go removes its TUN device on exit; this covers a process that was gone.
        if link_kind(name) == "tun":
            try:
                kernel.delete(name)
            except AgentError as error:
                if error.kind != "not_found":
                    raise
    else:
        kernel.delete(name)


def describe(name: str) -> Dict[str, Any]:
    """Describe WireGuard interface ``name`` for the controller; never includes a secret."""
    backend = backend_of(name)
    device = _module(backend).get(name)
    return describe_device(name, backend, device, time.time())


def describe_device(name: str, backend: str, device: Device, now: float) -> Dict[str, Any]:
    public = device.public_key
    if public is None and device.private_key is not None:
        public = keys.public_key(device.private_key)
    return {
        "name": name,
        "backend": backend,
        "public_key": keys.encode_key(public) if public is not None else None,
        "listen_port": device.listen_port,
        "fwmark": device.fwmark,
        "peers": [describe_peer(peer, now) for peer in device.peers],
    }


def describe_peer(peer: Peer, now: float) -> Dict[str, Any]:
    handshake: Optional[int] = peer.last_handshake_sec or None
    return {
        "public_key": keys.encode_key(peer.public_key),
        "endpoint": format_endpoint(peer.endpoint) if peer.endpoint else None,
        "allowed_ips": list(peer.allowed_ips),
        "preshared_key_set": peer.preshared_key_set,
        "persistent_keepalive": peer.persistent_keepalive,
        # Unix time in seconds, and seconds since then; None before the first handshake.
        "latest_handshake": handshake,
        "latest_handshake_age": max(0, int(now) - handshake) if handshake else None,
        "rx_bytes": peer.rx_bytes,
        "tx_bytes": peer.tx_bytes,
    }


def find_peer(device: Device, public_key: bytes) -> Optional[Peer]:
    for peer in device.peers:
        if peer.public_key == public_key:
            return peer
    return None


def private_key(name: str) -> bytes:
    device = read(name)
    if device.private_key is None:
        raise AgentError("not_found", "WireGuard interface %s has no private key" % name)
    return device.private_key
