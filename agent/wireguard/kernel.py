"""The kernel WireGuard backend: generic netlink through pyroute2.

A dump of one interface may span several netlink messages when it has many peers or
allowed IPs. The kernel then repeats the last peer's public key at the start of the next
message and continues its allowed IPs there, so :func:`parse_dump` merges such runs.
"""

from __future__ import annotations

import base64
import errno
from typing import Any, Dict, Iterable

from agent import netlink
from agent.errors import AgentError
from agent.wireguard.model import Device, DeviceChange, Peer, PeerChange


def create(name: str) -> None:
    with netlink.ip_route() as ipr:
        try:
            ipr.link("add", ifname=name, kind="wireguard")
        except netlink.NetlinkError as error:
            if error.code == errno.EOPNOTSUPP:
                raise AgentError("unsupported", "kernel has no WireGuard module") from None
            if error.code == errno.EEXIST:
                raise AgentError("exists", "interface %s already exists" % name) from None
            raise _netlink_failure("create", name, error) from None


def delete(name: str) -> None:
    with netlink.ip_route() as ipr:
        try:
            ipr.link("del", ifname=name)
        except netlink.NetlinkError as error:
            raise _netlink_failure("delete", name, error) from None


def _open_wireguard() -> Any:
    try:
        return netlink.wireguard()
    except netlink.NetlinkError as error:
        # Binding fails with ENOENT when the generic netlink family is not registered.
        if error.code == errno.ENOENT:
            raise AgentError("unsupported", "kernel has no WireGuard module") from None
        raise _netlink_failure("open", "the WireGuard netlink family", error) from None


def get(name: str) -> Device:
    with _open_wireguard() as wg:
        try:
            messages = wg.info(name)
        except netlink.NetlinkError as error:
            raise _netlink_failure("read", name, error) from None
    return parse_dump(list(messages))


def set_device(name: str, change: DeviceChange) -> None:
    """Apply a change; pyroute2 sends at most one peer per message, so peers go one by one."""
    device_attrs: Dict[str, Any] = {}
    if change.private_key is not None:
        device_attrs["private_key"] = _b64(change.private_key)
    if change.listen_port is not None:
        device_attrs["listen_port"] = change.listen_port
    if change.fwmark is not None:
        device_attrs["fwmark"] = change.fwmark
    with _open_wireguard() as wg:
        try:
            if device_attrs or not change.peers:
                wg.set(name, **device_attrs)
            for peer in change.peers:
                wg.set(name, peer=peer_request(peer))
        except netlink.NetlinkError as error:
            raise _netlink_failure("change", name, error) from None


def peer_request(peer: PeerChange) -> Dict[str, Any]:
    """Translate a peer change into the peer dict of pyroute2's ``WireGuard.set``."""
    request: Dict[str, Any] = {"public_key": _b64(peer.public_key)}
    if peer.remove:
        request["remove"] = True
        return request
    request["update_only"] = peer.update_only
    request["replace_allowed_ips"] = peer.replace_allowed_ips
    if peer.preshared_key is not None:
        request["preshared_key"] = _b64(peer.preshared_key)
    if peer.endpoint is not None:
        request["endpoint_addr"], request["endpoint_port"] = peer.endpoint
    if peer.persistent_keepalive is not None:
        request["persistent_keepalive"] = peer.persistent_keepalive
    if peer.allowed_ips is not None:
        request["allowed_ips"] = list(peer.allowed_ips)
    return request


def parse_dump(messages: Iterable[Any]) -> Device:
    """Merge the messages of one WG_CMD_GET_DEVICE dump into a Device."""
    device = Device()
    for message in messages:
        _read_device_attrs(device, message)
        for peer_nla in message.get_attr("WGDEVICE_A_PEERS") or []:
            peer = _parse_peer(peer_nla)
            last = device.peers[-1] if device.peers else None
            if last is not None and last.public_key == peer.public_key:
                last.allowed_ips.extend(peer.allowed_ips)
            else:
                device.peers.append(peer)
    return device


def _read_device_attrs(device: Device, message: Any) -> None:
    private = message.get_attr("WGDEVICE_A_PRIVATE_KEY")
    if private is not None:
        device.private_key = _unb64(private)
    public = message.get_attr("WGDEVICE_A_PUBLIC_KEY")
    if public is not None:
        device.public_key = _unb64(public)
    port = message.get_attr("WGDEVICE_A_LISTEN_PORT")
    if port is not None:
        device.listen_port = port
    fwmark = message.get_attr("WGDEVICE_A_FWMARK")
    if fwmark is not None:
        device.fwmark = fwmark


def _parse_peer(peer_nla: Any) -> Peer:
    peer = Peer(public_key=_unb64(peer_nla.get_attr("WGPEER_A_PUBLIC_KEY")))
    preshared = peer_nla.get_attr("WGPEER_A_PRESHARED_KEY")
    peer.preshared_key_set = preshared is not None and any(_unb64(preshared))
    # The kernel returns the key only to root; a snapshot needs it to restore the peer.
    peer.preshared_key = _unb64(preshared) if peer.preshared_key_set else None
    endpoint = peer_nla.get_attr("WGPEER_A_ENDPOINT")
    if endpoint is not None and endpoint.get("addr"):
        peer.endpoint = (endpoint["addr"], endpoint["port"])
    peer.persistent_keepalive = peer_nla.get_attr("WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL") or 0
    handshake = peer_nla.get_attr("WGPEER_A_LAST_HANDSHAKE_TIME")
    if handshake is not None:
        peer.last_handshake_sec = handshake["tv_sec"]
        peer.last_handshake_nsec = handshake["tv_nsec"]
    peer.rx_bytes = peer_nla.get_attr("WGPEER_A_RX_BYTES") or 0
    peer.tx_bytes = peer_nla.get_attr("WGPEER_A_TX_BYTES") or 0
    peer.allowed_ips = [
        allowed["addr"] for allowed in peer_nla.get_attr("WGPEER_A_ALLOWEDIPS") or []
    ]
    return peer


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: Any) -> bytes:
    if isinstance(value, str):
        value = value.encode("ascii")
    return base64.b64decode(value)


def _netlink_failure(action: str, name: str, error: Any) -> AgentError:
    code = getattr(error, "code", 0)
    if code == errno.ENODEV:
        return AgentError("not_found", "WireGuard interface %s not found" % name)
    if code == errno.EPERM:
        return AgentError(
            "permission_denied", "cannot %s %s: the agent needs root" % (action, name)
        )
    if code == errno.EADDRINUSE:
        return AgentError(
            "conflict", "cannot %s %s: listen port in use; choose another" % (action, name)
        )
    return AgentError("failed", "cannot %s %s: %s" % (action, name, error))
