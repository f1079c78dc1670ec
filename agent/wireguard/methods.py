"""The JSON-RPC methods ``wg.*``: parameters are validated here, in full, before any change."""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

from agent import validate
from agent.errors import AgentError
from agent.registry import method, param_check, state_check
from agent.wireguard import device, keys, params
from agent.wireguard.model import ZERO_KEY, Device, DeviceChange, PeerChange

log = logging.getLogger(__name__)

# Starting wireguard-go and waiting for its socket can take a few seconds on a slow device.
DEADLINES = {"wg.create": 30.0, "wg.delete": 30.0}

_CREATE_FIELDS = ("listen_port", "fwmark", "backend", "kind", "mtu", "state")
_BACKEND_CHOICES = ("auto", *device.BACKENDS)


@param_check("wg.create")
def parse_create(request: Dict[str, Any]) -> Tuple[str, str, DeviceChange, device.LinkSettings]:
    """Validate a wg.create request; return the name, backend, change and link settings."""
    request = params.method_params(request, ["name"], _CREATE_FIELDS)
    name = params.interface_name(request["name"])
    if "kind" in request and request["kind"] != "wireguard":
        raise _not_wireguard(request["kind"])
    backend = validate.enum("backend", request.get("backend", "auto"), _BACKEND_CHOICES)
    change = DeviceChange(
        listen_port=params.optional(request, "listen_port", params.listen_port),
        fwmark=params.optional(request, "fwmark", params.fwmark),
    )
    mtu = validate.mtu("mtu", request["mtu"]) if request.get("mtu") is not None else None
    state = request.get("state")
    if state is not None:
        state = validate.admin_state("state", state)
    return name, backend, change, device.LinkSettings(mtu=mtu, state=state)


@state_check("wg.create")
def check_create_state(table: Any, request: Dict[str, Any]) -> None:
    if request["name"] in table.by_name:
        raise AgentError("exists", "interface %s already exists" % request["name"])


@method("wg.create")
def create(request: Dict[str, Any]) -> Dict[str, Any]:
    """Create a WireGuard interface; also the target of ``interfaces.create kind=wireguard``."""
    name, backend, change, link = parse_create(request)
    device.create(name, change, backend, link)
    return device.describe(name)


def _not_wireguard(kind: Any) -> AgentError:
    return AgentError("invalid_params", "kind %r is not wireguard" % (kind,), field="kind")


@method("wg.get")
def get(request: Dict[str, Any]) -> Dict[str, Any]:
    request = params.method_params(request, ["name"], ())
    return device.describe(params.interface_name(request["name"]))


@param_check("wg.set")
def parse_set(request: Dict[str, Any]) -> Tuple[str, DeviceChange]:
    request = params.method_params(request, ["name"], ("listen_port", "fwmark", "private_key"))
    name = params.interface_name(request["name"])
    change = DeviceChange(
        private_key=params.optional(request, "private_key", params.private_key),
        listen_port=params.optional(request, "listen_port", params.listen_port),
        fwmark=params.optional(request, "fwmark", params.fwmark),
    )
    return name, change


@state_check("wg.set")
@state_check("wg.delete")
def check_interface_state(table: Any, request: Dict[str, Any]) -> None:
    device.backend_of(request["name"])


@method("wg.set")
def set_(request: Dict[str, Any]) -> Dict[str, Any]:
    """Change the listen port, fwmark or private key; absent members stay as they are."""
    name, change = parse_set(request)
    before = device.read(name)
    try:
        device.apply(name, change)
    except AgentError:
        _restore_settings(name, before)
        raise
    return device.describe(name)


def _restore_settings(name: str, before: Device) -> None:
    """Put back the private key, listen port and fwmark after a failed set.

    wireguard-go applies a set line by line, so a listen port that is already in use leaves
    the lines before it applied (a new private key among them) and the interface listening
    on no port at all unless the old settings are restored.
    """
    restore = DeviceChange(
        private_key=before.private_key, listen_port=before.listen_port, fwmark=before.fwmark
    )
    try:
        device.apply(name, restore)
    except AgentError as error:
        log.warning("could not restore the settings of %s after a failed set: %s", name, error)


@param_check("wg.delete")
def parse_name_only(request: Dict[str, Any]) -> str:
    request = params.method_params(request, ["name"], ())
    return params.interface_name(request["name"])


@method("wg.delete")
def delete(request: Dict[str, Any]) -> Dict[str, Any]:
    name = parse_name_only(request)
    device.delete(name)
    return {"name": name, "deleted": True}


@method("wg.private_key")
def private_key(request: Dict[str, Any]) -> Dict[str, Any]:
    """Return the interface's private key: the only method that lets a secret off the device."""
    request = params.method_params(request, ["name"], ())
    name = params.interface_name(request["name"])
    return {"name": name, "private_key": keys.encode_key(device.private_key(name))}


_PEER_FIELDS = ("endpoint", "allowed_ips", "preshared_key", "persistent_keepalive")


def _peer_change(request: Dict[str, Any], public_key: bytes) -> PeerChange:
    change = PeerChange(public_key=public_key)
    change.endpoint = params.optional(request, "endpoint", params.endpoint)
    change.persistent_keepalive = params.optional(
        request, "persistent_keepalive", params.persistent_keepalive
    )
    if "preshared_key" in request:
        # null clears the preshared key; WireGuard treats an all-zero key as none.
        value = request["preshared_key"]
        change.preshared_key = ZERO_KEY if value is None else params.preshared_key(value)
    change.allowed_ips = params.optional(request, "allowed_ips", params.allowed_ips)
    return change


def _peer_result(name: str, public_key: bytes) -> Dict[str, Any]:
    for peer in device.describe(name)["peers"]:
        if peer["public_key"] == keys.encode_key(public_key):
            return peer
    raise AgentError("failed", "peer %s vanished from %s" % (keys.encode_key(public_key), name))


@param_check("wg.peer.add")
def parse_peer_add(request: Dict[str, Any]) -> Tuple[str, bytes, PeerChange]:
    request = params.method_params(request, ["name", "public_key", "allowed_ips"], _PEER_FIELDS)
    name = params.interface_name(request["name"])
    public_key = params.public_key(request["public_key"])
    change = _peer_change(request, public_key)
    change.replace_allowed_ips = True
    return name, public_key, change


@state_check("wg.peer.add")
def check_peer_add(table: Any, request: Dict[str, Any]) -> None:
    """Reject a peer that exists already or that is the interface's own public key."""
    name, public_key, _change = parse_peer_add(request)
    current = device.read(name)
    if device.find_peer(current, public_key) is not None:
        raise AgentError(
            "exists",
            "peer %s already exists on %s; use wg.peer.update" % (request["public_key"], name),
        )
    if public_key == _own_public_key(current):
        # The kernel module and wireguard-go both ignore such a peer without an error.
        raise AgentError(
            "invalid_params",
            "invalid public_key %s: that is %s's own public key; give the public key of the "
            "other end of the tunnel" % (request["public_key"], name),
            field="public_key",
        )


def _own_public_key(current: Device) -> Optional[bytes]:
    if current.public_key is not None:
        return current.public_key
    if current.private_key is not None:
        return keys.public_key(current.private_key)
    return None


@method("wg.peer.add")
def peer_add(request: Dict[str, Any]) -> Dict[str, Any]:
    name, public_key, change = parse_peer_add(request)
    check_peer_add(None, request)
    device.apply(name, DeviceChange(peers=[change]))
    return _peer_result(name, public_key)


@param_check("wg.peer.update")
def parse_peer_update(request: Dict[str, Any]) -> Tuple[str, bytes, PeerChange]:
    """Validate a wg.peer.update; ``allowed_ips``, when given, replaces the whole list."""
    request = params.method_params(request, ["name", "public_key"], _PEER_FIELDS)
    name = params.interface_name(request["name"])
    public_key = params.public_key(request["public_key"])
    change = _peer_change(request, public_key)
    change.update_only = True
    change.replace_allowed_ips = change.allowed_ips is not None
    return name, public_key, change


@state_check("wg.peer.update")
@state_check("wg.peer.remove")
def check_peer_present(table: Any, request: Dict[str, Any]) -> None:
    name = params.interface_name(request["name"])
    _require_peer(name, params.public_key(request["public_key"]), request["public_key"])


@method("wg.peer.update")
def peer_update(request: Dict[str, Any]) -> Dict[str, Any]:
    """Change an existing peer; ``allowed_ips``, when given, replaces the whole list."""
    name, public_key, change = parse_peer_update(request)
    _require_peer(name, public_key, request["public_key"])
    device.apply(name, DeviceChange(peers=[change]))
    return _peer_result(name, public_key)


@param_check("wg.peer.remove")
def parse_peer_remove(request: Dict[str, Any]) -> Tuple[str, bytes]:
    request = params.method_params(request, ["name", "public_key"], ())
    return params.interface_name(request["name"]), params.public_key(request["public_key"])


@method("wg.peer.remove")
def peer_remove(request: Dict[str, Any]) -> Dict[str, Any]:
    name, public_key = parse_peer_remove(request)
    _require_peer(name, public_key, request["public_key"])
    device.apply(name, DeviceChange(peers=[PeerChange(public_key=public_key, remove=True)]))
    return {"name": name, "public_key": request["public_key"], "removed": True}


def _require_peer(name: str, public_key: bytes, text: str) -> None:
    if device.find_peer(device.read(name), public_key) is None:
        raise AgentError("not_found", "peer %s not found on %s" % (text, name))
