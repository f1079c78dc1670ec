"""Capture the runtime state of some interfaces and files, and put it back.

A snapshot entry contains what restoring an interface needs: whether it existed, its index,
kind and kind settings (enough to create it again), MTU, MAC, master, admin state, static
addresses and, for WireGuard, the full configuration including the private key. Snapshots
are written only to root-only directories on the device and never sent to the controller.

Restoring is best effort: every step runs even when an earlier one failed, and the errors
are returned, so one stuck interface does not keep the others from coming back.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import os
import time
from typing import Any, Dict, List, Optional

from agent import netlink
from agent.errors import AgentError
from agent.links import LinkTable, link_kind, open_netlink, read_table
from agent.links_write import create_link, parse_create
from agent.snapshot_routes import capture_routes, restore_routes

log = logging.getLogger(__name__)

Entry = Dict[str, Any]
# Kinds that restore can create again from their recorded settings.
RECREATABLE = ("bridge", "macvlan", "vxlan", "veth", "dummy", "bond", "vlan", "wireguard")


def is_static(address: Dict[str, Any]) -> bool:
    """Tell a configured address from one the kernel or a DHCP or RA client manages.

    IPv6 link-local addresses come from the kernel; addresses with a finite lifetime come
    from DHCP leases or router advertisements (SLAAC), and those clients renew them.
    """
    ip = ipaddress.ip_address(address["address"])
    if ip.version == 6 and ip.is_link_local:
        return False
    return address.get("valid_lifetime") is None


def static_addresses(description: Dict[str, Any]) -> List[str]:
    return sorted(
        "%s/%d" % (ipaddress.ip_address(a["address"]).compressed, a["prefixlen"])
        for a in description["addresses"]
        if is_static(a)
    )


def expand_names(table: LinkTable, names: List[str]) -> List[str]:
    """Add the links a change to ``names`` also affects: ports, stacked links, veth peers.

    Deleting a bridge frees its ports and deleting a parent deletes the macvlans on it, so
    those links are captured too.
    """
    result = list(dict.fromkeys(names))
    position = 0
    while position < len(result):
        link = table.by_name.get(result[position])
        position += 1
        if link is None:
            continue
        index = link["index"]
        for other in table.links:
            other_name = other.get("IFLA_IFNAME")
            related = other.get("IFLA_MASTER") == index or (
                other.get("IFLA_LINK") == index and other.get("IFLA_LINK_NETNSID") is None
            )
            local_peer = link.get("IFLA_LINK_NETNSID") is None
            if link_kind(link) == "veth" and local_peer and link.get("IFLA_LINK") == other["index"]:
                related = True
            if related and other_name not in result:
                result.append(other_name)
    return result


def capture_interface(table: LinkTable, name: str) -> Entry:
    link = table.by_name.get(name)
    if link is None:
        return {"name": name, "exists": False}
    description = table.describe(link)
    entry: Entry = {
        "name": name,
        "exists": True,
        "index": description["index"],
        "kind": description["kind"],
        "mtu": description["mtu"],
        "mac": description["mac"],
        "admin_state": description["admin_state"],
        "master": description["master"],
        "addresses": static_addresses(description),
        "settings": _kind_settings(description),
    }
    if description["kind"] == "wireguard":
        entry["wireguard"] = _wireguard_state(name)
    return entry


def _kind_settings(description: Dict[str, Any]) -> Dict[str, Any]:
    kind = description["kind"]
    details = description.get(kind) or {}
    if kind == "bridge":
        return {"stp": details.get("stp", False)}
    if kind == "macvlan":
        return {"parent": details.get("parent"), "mode": details.get("mode")}
    if kind == "vxlan":
        settings = {key: details.get(key) for key in ("vni", "remote", "group", "local", "port")}
        settings["parent"] = details.get("parent")
        return {key: value for key, value in settings.items() if value is not None}
    if kind == "veth":
        peer = details.get("peer") or {}
        return {"peer": peer.get("name")}
    if kind == "vlan":
        return {
            "parent": details.get("parent"),
            "id": details.get("id"),
            "protocol": details.get("protocol"),
        }
    if kind == "bond":
        return {"mode": details.get("mode"), "miimon": details.get("miimon")}
    return {}


def _wireguard_state(name: str) -> Dict[str, Any]:
    from agent.wireguard import device

    state = device.read(name)
    return {
        "backend": device.backend_of(name),
        "private_key": _b64(state.private_key) if state.private_key else None,
        "listen_port": state.listen_port,
        "fwmark": state.fwmark,
        "peers": [
            {
                "public_key": _b64(peer.public_key),
                "endpoint": list(peer.endpoint) if peer.endpoint else None,
                "allowed_ips": sorted(peer.allowed_ips),
                "persistent_keepalive": peer.persistent_keepalive,
                # Secret like the private key: public_view leaves it out.
                "preshared_key": _b64(peer.preshared_key) if peer.preshared_key else None,
            }
            # wireguard-go lists peers in Go map order, which changes between reads.
            for peer in sorted(state.peers, key=lambda peer: peer.public_key)
        ],
    }


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def capture_file(path: str) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return {"path": path, "exists": False}
    return {"path": path, "exists": True, "mode": mode, "data": _b64(data)}


def capture(names: List[str], files: Optional[List[str]] = None) -> Dict[str, Any]:
    """Capture the named interfaces, the links they affect, and the given files."""
    table = read_table()
    expanded = expand_names(table, names)
    return {
        "taken_at": time.time(),
        "interfaces": [capture_interface(table, name) for name in expanded],
        "routes": capture_routes(table, expanded),
        "files": [capture_file(path) for path in files or []],
    }


def _public_peer(peer: Dict[str, Any]) -> Dict[str, Any]:
    from agent.wireguard.model import format_endpoint

    view = dict(peer)
    endpoint = view.get("endpoint")
    if isinstance(endpoint, list):
        # The snapshot keeps [host, port] for restoring; the diff shows wg's host:port text.
        view["endpoint"] = format_endpoint((endpoint[0], int(endpoint[1])))
    # Whether a key is set, and a fingerprint of it, so adding, removing or rotating one
    # changes the diff and the state hash while the key itself stays on the device.
    key = view.pop("preshared_key", None)
    view["preshared_key_set"] = bool(key)
    view["preshared_key_sha256"] = key_fingerprint(key)
    return view


def key_fingerprint(key: Optional[str]) -> Optional[str]:
    """Return the first 16 hex digits of the SHA-256 of a base64 key's bytes, or None."""
    if not key:
        return None
    try:
        raw = base64.b64decode(key, validate=True)
    except (ValueError, TypeError):
        raw = key.encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def public_view(entry: Entry) -> Entry:
    """Return an entry without secrets, for hashing, diffs and the controller."""
    view = dict(entry)
    view.pop("index", None)
    wireguard = view.get("wireguard")
    if wireguard:
        wireguard = dict(wireguard)
        private = wireguard.pop("private_key", None)
        # A hash of the key, so a key change still changes the state hash.
        wireguard["private_key_sha256"] = (
            hashlib.sha256(private.encode()).hexdigest()[:16] if private else None
        )
        wireguard["peers"] = [_public_peer(peer) for peer in wireguard.get("peers") or []]
        view["wireguard"] = wireguard
    return view


def state_hash(interfaces: List[Entry]) -> str:
    views = sorted((public_view(entry) for entry in interfaces), key=lambda e: e["name"])
    text = json.dumps(views, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# Restoring.


class Restorer:
    """Put a snapshot back, collecting the errors of the steps that failed."""

    def __init__(self, snapshot: Dict[str, Any]) -> None:
        self.entries: List[Entry] = snapshot["interfaces"]
        self.files: List[Dict[str, Any]] = snapshot.get("files", [])
        self.routes: List[Dict[str, Any]] = snapshot.get("routes", [])
        self.errors: List[str] = []

    def run(self) -> List[str]:
        self._step("restore files", self._restore_files)
        self._step("rename back", self._rename_back)
        self._step("remove created interfaces", self._remove_created)
        self._step("create deleted interfaces", self._create_missing)
        for entry in self.entries:
            if entry["exists"]:
                self._step("restore %s" % entry["name"], lambda e=entry: self._settle(e))
        for entry in self.entries:
            if entry["exists"]:
                self._step(
                    "set %s %s" % (entry["name"], entry["admin_state"]),
                    lambda e=entry: self._set_link(e["name"], {"state": e["admin_state"]}),
                )
        # Last, because a route needs its link up and its gateway reachable.
        self._step("restore routes", lambda: self.errors.extend(restore_routes(self.routes)))
        return self.errors

    def _step(self, action: str, function: Any) -> None:
        try:
            function()
        except (AgentError, netlink.NetlinkError, OSError, ValueError, KeyError) as error:
            message = "%s: %s" % (action, getattr(error, "message", None) or error)
            log.error("rollback step failed: %s", message)
            self.errors.append(message)

    def _restore_files(self) -> None:
        for record in self.files:
            path = record["path"]
            if not record["exists"]:
                if os.path.lexists(path):
                    os.unlink(path)
                continue
            write_atomic(path, base64.b64decode(record["data"]), record["mode"])

    def _rename_back(self) -> None:
        table = read_table()
        for entry in self.entries:
            if not entry["exists"] or entry["name"] in table.by_name:
                continue
            link = table.by_index.get(entry["index"])
            if link is None or link.get("IFLA_IFNAME") in self._names():
                continue
            self._set_link(link.get("IFLA_IFNAME"), {"state": "down"})
            self._set_link(link.get("IFLA_IFNAME"), {"ifname": entry["name"]})

    def _names(self) -> List[str]:
        return [entry["name"] for entry in self.entries if entry["exists"]]

    def _remove_created(self) -> None:
        table = read_table()
        for entry in reversed(self.entries):
            if entry["exists"] or entry["name"] not in table.by_name:
                continue
            self._step("delete %s" % entry["name"], lambda n=entry["name"]: _delete(n))

    def _create_missing(self) -> None:
        # Parents and masters first: retry until a pass creates nothing more.
        missing = [entry for entry in self.entries if entry["exists"]]
        while missing:
            table = read_table()
            missing = [entry for entry in missing if entry["name"] not in table.by_name]
            ready = [entry for entry in missing if self._dependencies_present(entry, table)]
            if not ready:
                for entry in missing:
                    self.errors.append(
                        "cannot create %s again: its parent is missing" % entry["name"]
                    )
                return
            for entry in ready:
                self._step("create %s" % entry["name"], lambda e=entry: _create(e))
                missing.remove(entry)

    def _dependencies_present(self, entry: Entry, table: LinkTable) -> bool:
        parent = entry["settings"].get("parent")
        return not parent or parent in table.by_name

    def _settle(self, entry: Entry) -> None:
        table = read_table()
        link = table.get(entry["name"])
        current = table.describe(link)
        settings: Dict[str, Any] = {}
        if current["mtu"] != entry["mtu"]:
            settings["mtu"] = entry["mtu"]
        if entry["mac"] and current["mac"] != entry["mac"] and entry["kind"] != "wireguard":
            settings["address"] = entry["mac"]
        if current["master"] != entry["master"]:
            master = table.by_name.get(entry["master"]) if entry["master"] else None
            settings["master"] = master["index"] if master is not None else 0
        if settings:
            self._set_link(entry["name"], settings)
        self._restore_addresses(entry, current)
        if entry.get("wireguard"):
            restore_wireguard(entry["name"], entry["wireguard"])

    def _restore_addresses(self, entry: Entry, current: Dict[str, Any]) -> None:
        wanted = set(entry["addresses"])
        present = set(static_addresses(current))
        with open_netlink() as ipr:
            index = current["index"]
            for cidr in sorted(present - wanted):
                address = ipaddress.ip_interface(cidr)
                ipr.addr(
                    "del", index=index, address=str(address.ip), prefixlen=address.network.prefixlen
                )
            for cidr in sorted(wanted - present):
                address = ipaddress.ip_interface(cidr)
                ipr.addr(
                    "add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen
                )

    def _set_link(self, name: str, settings: Dict[str, Any]) -> None:
        with open_netlink() as ipr:
            index = ipr.link_lookup(ifname=name)
            if not index:
                raise AgentError("not_found", "interface %s not found" % name)
            ipr.link("set", index=index[0], **settings)


def _delete(name: str) -> None:
    from agent.wireguard import device, uapi

    if uapi.exists(name):
        device.delete(name)
        return
    with open_netlink() as ipr:
        index = ipr.link_lookup(ifname=name)
        if index:
            ipr.link("del", index=index[0])


def _create(entry: Entry) -> None:
    kind = entry["kind"]
    if kind not in RECREATABLE:
        raise AgentError("unsupported", "cannot create a %s interface again" % kind)
    if kind == "wireguard":
        _create_wireguard(entry)
        return
    params = {"kind": kind, "name": entry["name"]}
    for key, value in entry["settings"].items():
        if value is not None:
            params[key] = value
    if kind == "veth" and not params.get("peer"):
        raise AgentError("unsupported", "veth %s has no peer to create it with" % entry["name"])
    spec = parse_create(params)
    with open_netlink() as ipr:
        create_link(ipr, spec)


def _create_wireguard(entry: Entry) -> None:
    from agent.wireguard import device
    from agent.wireguard.model import DeviceChange

    wireguard = entry["wireguard"]
    backend = wireguard.get("backend") or "auto"
    device.create(entry["name"], DeviceChange(), "auto" if backend == "kernel" else backend)


def restore_wireguard(name: str, wanted: Dict[str, Any]) -> None:
    """Make a WireGuard interface's keys, port, mark and peers match ``wanted``."""
    from agent.wireguard import device
    from agent.wireguard.model import ZERO_KEY, DeviceChange, PeerChange

    current = device.read(name)
    change = DeviceChange(listen_port=wanted["listen_port"], fwmark=wanted["fwmark"])
    if wanted.get("private_key"):
        change.private_key = base64.b64decode(wanted["private_key"])
    kept = set()
    for peer in wanted["peers"]:
        public_key = base64.b64decode(peer["public_key"])
        kept.add(public_key)
        endpoint = peer.get("endpoint")
        change.peers.append(
            PeerChange(
                public_key=public_key,
                endpoint=(endpoint[0], int(endpoint[1])) if endpoint else None,
                persistent_keepalive=peer.get("persistent_keepalive") or 0,
                replace_allowed_ips=True,
                allowed_ips=list(peer["allowed_ips"]),
                # ZERO_KEY clears a key the change added to a peer that had none.
                preshared_key=(
                    base64.b64decode(peer["preshared_key"])
                    if peer.get("preshared_key")
                    else ZERO_KEY
                ),
            )
        )
    for peer in current.peers:
        if peer.public_key not in kept:
            change.peers.append(PeerChange(public_key=peer.public_key, remove=True))
    device.apply(name, change)


def write_atomic(path: str, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data``: a temporary file in the same directory, fsync, rename."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, ".%s.mudmap-tmp.%d" % (os.path.basename(path), os.getpid()))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temporary, path)
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
