"""Write methods for interfaces and addresses, through netlink only.

Every handler validates all parameters and checks them against one fresh link dump before it
sends the first change, so a rejected request leaves the device as it was. Nothing here runs
a command or a shell.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from agent import netlink, validate
from agent.errors import AgentError, invalid
from agent.links import (
    LinkTable,
    Message,
    dump,
    interfaces_get,
    link_kind,
    netlink_error,
    open_netlink,
)
from agent.registry import method, param_check, state_check

if TYPE_CHECKING:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

CREATABLE_KINDS = ("dummy", "bridge", "bond", "vlan", "macvlan", "vxlan", "veth", "wireguard")
# Kinds that take ports; enslaving to anything else is a conflict.
MASTER_KINDS = ("bridge", "bond", "team", "vrf")
COMMON_CREATE_FIELDS = ("kind", "name", "mtu", "mac", "state", "master")
KIND_FIELDS = {
    "dummy": (),
    "bridge": ("stp",),
    "bond": ("mode", "miimon"),
    "vlan": ("parent", "id", "protocol"),
    "macvlan": ("parent", "mode"),
    "vxlan": ("vni", "remote", "group", "local", "port", "parent"),
    "veth": ("peer",),
}
VXLAN_DEFAULT_PORT = 4789

log = logging.getLogger(__name__)

# create_many may create and roll back up to 256 links, each a few netlink round trips.
DEADLINES = {"interfaces.create_many": 120.0}


class CreateSpec:
    """A validated interfaces.create request: netlink attributes plus post-create settings."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.attributes: Dict[str, Any] = {"ifname": name, "kind": kind}
        self.parent: Optional[str] = None
        self.peer: Optional[str] = None
        self.mtu: Optional[int] = None
        self.mac: Optional[str] = None
        self.state: Optional[str] = None
        self.master: Optional[str] = None

    def names(self) -> List[str]:
        """Return the names of the links that creating this spec adds."""
        return [self.name] + ([self.peer] if self.peer else [])

    def dependencies(self) -> List[str]:
        return [name for name in (self.parent, self.master) if name]


def _vxlan_fields(spec: CreateSpec, params: Dict[str, Any]) -> None:
    spec.attributes["vxlan_id"] = validate.vni("vni", validate.required(params, "vni"))
    port = params.get("port", VXLAN_DEFAULT_PORT)
    spec.attributes["vxlan_port"] = validate.port("port", port)
    if "remote" in params and "group" in params:
        raise invalid("group", params["group"], "give either remote or group, not both")
    families = set()
    if params.get("remote") is not None:
        remote = validate.ip_address("remote", params["remote"])
        if remote.is_multicast or remote.is_unspecified:
            raise invalid(
                "remote",
                params["remote"],
                "must be a unicast address; use group for a multicast group",
            )
        families.add(remote.version)
        spec.attributes["vxlan_group" if remote.version == 4 else "vxlan_group6"] = str(remote)
    if params.get("group") is not None:
        group = validate.ip_address("group", params["group"])
        if not group.is_multicast:
            raise invalid("group", params["group"], "must be a multicast address")
        if not params.get("parent"):
            raise AgentError("invalid_params", "missing parent: a multicast group needs one",
                             field="parent", missing=True)
        families.add(group.version)
        spec.attributes["vxlan_group" if group.version == 4 else "vxlan_group6"] = str(group)
    if params.get("local") is not None:
        local = validate.ip_address("local", params["local"])
        if local.is_multicast or local.is_unspecified:
            raise invalid("local", params["local"], "must be a unicast address")
        families.add(local.version)
        spec.attributes["vxlan_local" if local.version == 4 else "vxlan_local6"] = str(local)
    if len(families) > 1:
        raise invalid(
            "local",
            params.get("local"),
            "remote or group and local must be of the same address family",
        )


def _kind_fields(spec: CreateSpec, params: Dict[str, Any]) -> None:
    kind = spec.kind
    if kind in ("vlan", "macvlan") or (kind == "vxlan" and params.get("parent") is not None):
        spec.parent = validate.interface_name("parent", validate.required(params, "parent"))
    if kind == "bridge" and "stp" in params:
        spec.attributes["br_stp_state"] = 1 if validate.boolean("stp", params["stp"]) else 0
    elif kind == "bond":
        if "mode" in params:
            spec.attributes["bond_mode"] = validate.bond_mode("mode", params["mode"])[1]
        if "miimon" in params:
            spec.attributes["bond_miimon"] = validate.miimon("miimon", params["miimon"])
    elif kind == "vlan":
        spec.attributes["vlan_id"] = validate.vlan_id("id", validate.required(params, "id"))
        protocol = validate.vlan_protocol("protocol", params.get("protocol", "802.1Q"))
        spec.attributes["vlan_protocol"] = protocol[1]
    elif kind == "macvlan":
        mode = validate.macvlan_mode("mode", params.get("mode", "bridge"))
        spec.attributes["macvlan_mode"] = mode[0]
    elif kind == "vxlan":
        _vxlan_fields(spec, params)
    elif kind == "veth":
        spec.peer = validate.interface_name("peer", validate.required(params, "peer"))
        if spec.peer == spec.name:
            raise invalid("peer", spec.peer, "must differ from name")
        spec.attributes["peer"] = spec.peer


def parse_create(params: Any) -> CreateSpec:
    """Validate an interfaces.create request for any kind except wireguard."""
    params = validate.params_object(params)
    kind = validate.enum("kind", validate.required(params, "kind"), CREATABLE_KINDS)
    validate.only(params, COMMON_CREATE_FIELDS + KIND_FIELDS[kind])
    spec = CreateSpec(kind, validate.interface_name("name", validate.required(params, "name")))
    if params.get("mtu") is not None:
        spec.mtu = validate.mtu("mtu", params["mtu"])
    if params.get("mac") is not None:
        spec.mac = validate.mac_address("mac", params["mac"])
    if params.get("state") is not None:
        spec.state = validate.admin_state("state", params["state"])
    if params.get("master") is not None:
        spec.master = validate.interface_name("master", params["master"])
        if spec.master == spec.name:
            raise invalid("master", spec.master, "an interface cannot be its own master")
    _kind_fields(spec, params)
    return spec


def check_master(
    table: LinkTable,
    name: str,
    master: str,
    pending_kinds: Optional[Dict[str, str]] = None,
    port_kind: Optional[str] = None,
) -> None:
    """Check that ``master`` exists (or is about to) and is a kind that takes ports.

    ``port_kind`` is the kind of ``name``, when known.
    """
    pending_kinds = pending_kinds or {}
    kind = pending_kinds[master] if master in pending_kinds else link_kind(table.get(master))
    if kind == "bridge" and port_kind == "bridge":
        # The kernel's br_add_if() returns ELOOP when the new port is itself a bridge.
        raise invalid(
            "master",
            master,
            "%s is a bridge, and a bridge cannot be a port of another bridge; connect the "
            "two bridges with a veth pair instead, one end a port of each" % name,
        )
    if kind not in MASTER_KINDS:
        raise AgentError(
            "conflict",
            "cannot enslave %s to %s: %s is a %s interface, only a "
            "bridge or a bond takes ports" % (name, master, master, kind),
            name=name,
            master=master,
        )


def check_create(
    table: LinkTable, spec: CreateSpec, pending_kinds: Optional[Dict[str, str]] = None
) -> None:
    """Check a spec against the current links; ``pending_kinds`` are links created first."""
    pending_kinds = pending_kinds or {}
    for name in spec.names():
        if name in table.by_name or name in pending_kinds:
            raise AgentError("exists", "an interface named %s already exists" % name, name=name)
    if spec.parent and spec.parent not in pending_kinds:
        table.get(spec.parent)
    if spec.master:
        check_master(table, spec.name, spec.master, pending_kinds, spec.kind)


def _unsupported_kind(spec: CreateSpec, error: NetlinkError) -> AgentError:
    # EOPNOTSUPP also comes from a parent that cannot carry the kind (a VLAN on loopback).
    message = "cannot create a %s interface: this kernel has no support for link kind %s" % (
        spec.kind,
        spec.kind,
    )
    if spec.parent:
        message += ", or parent %s cannot carry one" % spec.parent
    return AgentError(
        "unsupported", "%s (%s)" % (message, os.strerror(error.code)), kind_name=spec.kind
    )


def create_link(ipr: IPRoute, spec: CreateSpec) -> None:
    """Create the link of a checked spec, then apply its MTU, MAC, master and state."""
    attributes = dict(spec.attributes)
    if spec.parent:
        index = _index(ipr, spec.parent)
        attributes["vxlan_link" if spec.kind == "vxlan" else "link"] = index
    try:
        ipr.link("add", **attributes)
    except netlink.NetlinkError as error:
        if error.code == errno.EOPNOTSUPP:
            raise _unsupported_kind(spec, error) from None
        raise netlink_error(
            error, "cannot create %s interface %s" % (spec.kind, spec.name)
        ) from None
    try:
        settings: Dict[str, Any] = {}
        if spec.mtu is not None:
            settings["mtu"] = spec.mtu
        if spec.mac is not None:
            settings["address"] = spec.mac
        if spec.master is not None:
            settings["master"] = _index(ipr, spec.master)
        if settings:
            _set(ipr, spec.name, settings, "cannot configure new interface %s" % spec.name)
        if spec.state is not None:
            _set(
                ipr, spec.name, {"state": spec.state}, "cannot set %s %s" % (spec.name, spec.state)
            )
    except AgentError:
        _delete_quietly(ipr, spec.name)
        raise


def _index(ipr: IPRoute, name: str) -> int:
    indexes = ipr.link_lookup(ifname=name)
    if not indexes:
        raise AgentError("not_found", "interface %s not found" % name, name=name)
    return int(indexes[0])


def _set(ipr: IPRoute, name: str, settings: Dict[str, Any], action: str) -> None:
    try:
        ipr.link("set", index=_index(ipr, name), **settings)
    except netlink.NetlinkError as error:
        raise netlink_error(error, action) from None


def _delete_quietly(ipr: IPRoute, name: str) -> None:
    try:
        ipr.link("del", index=_index(ipr, name))
    except (AgentError, netlink.NetlinkError) as error:
        log.error("cannot delete %s while rolling back: %s", name, error)


def _describe(name: str) -> Dict[str, Any]:
    table = LinkTable(*dump())
    return table.describe(table.get(name))


def _wireguard_create(params: Dict[str, Any]) -> Any:
    try:
        from agent import wireguard
    except ImportError:
        wireguard = None
    create = getattr(wireguard, "create", None)
    if not callable(create):
        raise AgentError(
            "unsupported",
            "this agent has no WireGuard module, so it cannot create wireguard interfaces",
            kind_name="wireguard",
        )
    return create(params)


@param_check("interfaces.create")
def check_create_params(params: Dict[str, Any]) -> None:
    params = validate.params_object(params)
    if params.get("kind") == "wireguard":
        _wireguard_check("wg.create", params)
        return
    parse_create(params)


@state_check("interfaces.create")
def check_create_state(table: LinkTable, params: Dict[str, Any]) -> None:
    if params.get("kind") == "wireguard":
        if params["name"] in table.by_name:
            raise AgentError("exists", "interface %s already exists" % params["name"])
        return
    check_create(table, parse_create(params))


def _wireguard_check(name: str, params: Dict[str, Any]) -> None:
    from agent.registry import PARAM_CHECKS

    try:
        import agent.wireguard  # noqa: F401  (registers the wg.* checks)
    except ImportError:
        return
    PARAM_CHECKS[name](params)


@method("interfaces.create")
def interfaces_create(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    if params.get("kind") == "wireguard":
        # The WireGuard module validates its own parameters, including name.
        _wireguard_create(params)
        return interfaces_get({"name": params["name"]})
    spec = parse_create(params)
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        check_create(table, spec)
        create_link(ipr, spec)
    return {"interface": _describe(spec.name)}


def order_by_dependency(specs: List[CreateSpec]) -> List[CreateSpec]:
    """Order specs so that each comes after the specs that create its parent and master."""
    creator: Dict[str, CreateSpec] = {}
    for spec in specs:
        for name in spec.names():
            if name in creator:
                raise invalid("interfaces", name, "each name may be created only once")
            creator[name] = spec
    ordered: List[CreateSpec] = []
    placed: Set[int] = set()
    visiting: Set[int] = set()

    def place(spec: CreateSpec) -> None:
        if id(spec) in placed:
            return
        if id(spec) in visiting:
            raise invalid("interfaces", spec.name, "the parents and masters form a cycle")
        visiting.add(id(spec))
        for name in spec.dependencies():
            if name in creator:
                place(creator[name])
        visiting.discard(id(spec))
        placed.add(id(spec))
        ordered.append(spec)

    for spec in specs:
        place(spec)
    return ordered


@method("interfaces.create_many")
def interfaces_create_many(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("interfaces",))
    items = validate.array("interfaces", validate.required(params, "interfaces"), 256)
    specs = []
    for position, item in enumerate(items):
        if isinstance(item, dict) and item.get("kind") == "wireguard":
            raise invalid(
                "interfaces[%d].kind" % position,
                "wireguard",
                "create wireguard interfaces with interfaces.create",
            )
        try:
            specs.append(parse_create(item))
        except AgentError as error:
            error.message = "interfaces[%d]: %s" % (position, error.message)
            error.args = (error.message,)
            raise
    ordered = order_by_dependency(specs)
    pending: Dict[str, str] = {}
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        for spec in ordered:
            check_create(table, spec, pending)
            for name in spec.names():
                pending[name] = spec.kind
        created: List[CreateSpec] = []
        try:
            for spec in ordered:
                create_link(ipr, spec)
                created.append(spec)
        except AgentError as error:
            for spec in reversed(created):
                _delete_quietly(ipr, spec.name)
            error.data["rolled_back"] = [spec.name for spec in reversed(created)]
            raise
    table = LinkTable(*dump())
    return {"interfaces": [table.describe(table.get(spec.name)) for spec in ordered]}


def _update_steps(link: Message, table: LinkTable, params: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Validate an update and list its changes, each with the settings that undo it."""
    name = link.get("IFLA_IFNAME")
    steps = []
    if params.get("new_name") is not None:
        new_name = validate.interface_name("new_name", params["new_name"])
        if new_name != name and new_name in table.by_name:
            raise AgentError(
                "exists", "an interface named %s already exists" % new_name, name=new_name
            )
        steps.append({"do": {"ifname": new_name}, "undo": {"ifname": name}})
    if params.get("mtu") is not None:
        mtu = validate.mtu_for_link(
            "mtu",
            validate.mtu("mtu", params["mtu"]),
            name,
            link.get("IFLA_MIN_MTU"),
            link.get("IFLA_MAX_MTU"),
        )
        steps.append({"do": {"mtu": mtu}, "undo": {"mtu": link.get("IFLA_MTU")}})
    if params.get("mac") is not None:
        mac = validate.mac_address("mac", params["mac"])
        steps.append({"do": {"address": mac}, "undo": {"address": link.get("IFLA_ADDRESS")}})
    if "master" in params:
        steps.append(_master_step(link, table, params["master"]))
    if params.get("state") is not None:
        state = validate.admin_state("state", params["state"])
        old = "up" if link["flags"] & 0x1 else "down"
        steps.append({"do": {"state": state}, "undo": {"state": old}})
    return steps


def _master_step(link: Message, table: LinkTable, master: Any) -> Dict[str, Any]:
    name = link.get("IFLA_IFNAME")
    old = link.get("IFLA_MASTER") or 0
    if master is None:
        return {"do": {"master": 0}, "undo": {"master": old}}
    master = validate.interface_name("master", master)
    if master == name:
        raise invalid("master", master, "an interface cannot be its own master")
    check_master(table, name, master, port_kind=link_kind(link))
    return {"do": {"master": table.get(master)["index"]}, "undo": {"master": old}}


@param_check("interfaces.update")
def parse_update(params: Any) -> str:
    """Validate an interfaces.update request without the links; return the name."""
    params = validate.params_object(params)
    validate.only(params, ("name", "mtu", "state", "mac", "master", "new_name"))
    name = validate.interface_name("name", validate.required(params, "name"))
    if params.get("new_name") is not None:
        validate.interface_name("new_name", params["new_name"])
    if params.get("mtu") is not None:
        validate.mtu("mtu", params["mtu"])
    if params.get("mac") is not None:
        validate.mac_address("mac", params["mac"])
    if params.get("master") is not None:
        validate.interface_name("master", params["master"])
    if params.get("state") is not None:
        validate.admin_state("state", params["state"])
    return name


@state_check("interfaces.update")
def check_update_state(table: LinkTable, params: Dict[str, Any]) -> None:
    _update_steps(table.get(params["name"]), table, params)


@method("interfaces.update")
def interfaces_update(params: Dict[str, Any]) -> Dict[str, Any]:
    name = parse_update(params)
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        link = table.get(name)
        steps = _update_steps(link, table, params)
        _apply_steps(ipr, link["index"], name, steps)
        final_name = params.get("new_name") or name
    interface = _describe(final_name)
    return {"interface": interface, "mtu": interface["mtu"]}


def _apply_steps(ipr: IPRoute, index: int, name: str, steps: List[Dict[str, Any]]) -> None:
    """Apply each change; when one fails, undo the ones before it in reverse order."""
    done: List[Dict[str, Any]] = []
    for step in steps:
        try:
            ipr.link("set", index=index, **step["do"])
        except netlink.NetlinkError as error:
            for applied in reversed(done):
                try:
                    ipr.link("set", index=index, **applied["undo"])
                except netlink.NetlinkError as undo_error:
                    log.error("cannot undo %s on %s: %s", applied["do"], name, undo_error)
            change = ", ".join("%s=%s" % item for item in step["do"].items())
            raise netlink_error(error, "cannot set %s on %s" % (change, name)) from None
        done.append(step)


@param_check("interfaces.delete")
def parse_delete(params: Any) -> str:
    params = validate.params_object(params)
    validate.only(params, ("name",))
    return validate.interface_name("name", validate.required(params, "name"))


@state_check("interfaces.delete")
def check_delete(table: LinkTable, params: Dict[str, Any]) -> None:
    """Reject deleting a missing link, a physical one or the loopback."""
    name = params["name"]
    kind = link_kind(table.get(name))
    if kind in ("physical", "loopback"):
        raise AgentError(
            "invalid_params",
            "%s is a %s interface and cannot be deleted; set it down instead" % (name, kind),
            field="name",
            name=name,
        )


@method("interfaces.delete")
def interfaces_delete(params: Dict[str, Any]) -> Dict[str, Any]:
    name = parse_delete(params)
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        link = table.get(name)
        kind = link_kind(link)
        check_delete(table, {"name": name})
        if kind == "wireguard":
            # wireguard-go serves a userspace interface; deleting only its TUN link would
            # leave the process and its UAPI socket behind.
            _wireguard_delete(name)
            return {"deleted": name}
        try:
            ipr.link("del", index=link["index"])
        except netlink.NetlinkError as error:
            raise netlink_error(error, "cannot delete %s" % name) from None
    return {"deleted": name}


def _wireguard_delete(name: str) -> None:
    from agent import wireguard

    wireguard.delete(name)


def check_ipv6_enabled(name: str, addresses: List[validate.IPInterface]) -> None:
    """Reject IPv6 addresses for a link where IPv6 is off, which the kernel reports as EACCES."""
    if not any(address.version == 6 for address in addresses):
        return
    if not os.path.isdir("/proc/sys/net/ipv6"):
        raise AgentError("unsupported", "this kernel has no IPv6 support, so %s cannot get an "
                         "IPv6 address" % name, name=name)  # fmt: skip
    # /proc/sys/net shows the sysctls of the agent's own network namespace.
    try:
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name, encoding="ascii") as handle:
            disabled = handle.read().strip() == "1"
    except OSError:
        return
    if disabled:
        raise AgentError(
            "conflict",
            "IPv6 is disabled on %s; set net.ipv6.conf.%s.disable_ipv6=0 first" % (name, name),
            name=name,
        )


def _address_keys(table: LinkTable, index: int) -> Dict[Any, Message]:
    """Map each address on a link (ip, prefixlen) to its netlink message."""
    result = {}
    for message in table.addresses.get(index, []):
        local = message.get("IFA_LOCAL") or message.get("IFA_ADDRESS")
        result[(ipaddress.ip_address(local), message["prefixlen"])] = message
    return result


def _find_address(keys: Dict[Any, Message], address: validate.IPInterface) -> Optional[Any]:
    for key in keys:
        if key[0] == address.ip:
            return key
    return None


def _addr(ipr: IPRoute, command: str, index: int, address: validate.IPInterface) -> None:
    ipr.addr(command, index=index, address=str(address.ip), prefixlen=address.network.prefixlen)


def _address_params(params: Any, extra: str) -> Any:
    params = validate.params_object(params)
    validate.only(params, ("name", extra))
    name = validate.interface_name("name", validate.required(params, "name"))
    return params, name


@param_check("addresses.add")
@param_check("addresses.remove")
def parse_address(params: Any) -> Any:
    """Validate an addresses.add or addresses.remove request; return name and address."""
    params, name = _address_params(params, "address")
    return name, validate.cidr_address("address", validate.required(params, "address"))


@state_check("addresses.add")
def check_address_add(table: LinkTable, params: Dict[str, Any]) -> None:
    name, address = parse_address(params)
    index = table.get(name)["index"]
    check_ipv6_enabled(name, [address])
    if _find_address(_address_keys(table, index), address) is not None:
        raise AgentError(
            "exists", "%s already has address %s" % (name, address.ip.compressed), name=name
        )


@state_check("addresses.remove")
def check_address_remove(table: LinkTable, params: Dict[str, Any]) -> None:
    name, address = parse_address(params)
    index = table.get(name)["index"]
    if (address.ip, address.network.prefixlen) not in _address_keys(table, index):
        raise AgentError(
            "not_found",
            "%s has no address %s" % (name, validate.format_interface(address)),
            name=name,
        )


@method("addresses.add")
def addresses_add(params: Dict[str, Any]) -> Dict[str, Any]:
    name, address = parse_address(params)
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        index = table.get(name)["index"]
        check_address_add(table, params)
        try:
            _addr(ipr, "add", index, address)
        except netlink.NetlinkError as error:
            raise netlink_error(error, "cannot add %s to %s" % (address, name)) from None
    return {"interface": _describe(name)}


@method("addresses.remove")
def addresses_remove(params: Dict[str, Any]) -> Dict[str, Any]:
    name, address = parse_address(params)
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        index = table.get(name)["index"]
        check_address_remove(table, params)
        try:
            _addr(ipr, "del", index, address)
        except netlink.NetlinkError as error:
            raise netlink_error(error, "cannot remove %s from %s" % (address, name)) from None
    return {"interface": _describe(name)}


def _replace_targets(params: Dict[str, Any]) -> List[validate.IPInterface]:
    items = validate.array("addresses", validate.required(params, "addresses"))
    requested: List[validate.IPInterface] = []
    for position, item in enumerate(items):
        address = validate.cidr_address("addresses[%d]" % position, item)
        if any(other.ip == address.ip for other in requested):
            raise invalid("addresses[%d]" % position, item, "the address is listed twice")
        requested.append(address)
    return requested


def _is_managed(key: Any) -> bool:
    # The kernel makes IPv6 link-local addresses itself; replace leaves them unless listed.
    return not (key[0].version == 6 and key[0].is_link_local)


@param_check("addresses.replace")
def parse_replace(params: Any) -> Any:
    """Validate an addresses.replace request; return the name and the addresses."""
    params, name = _address_params(params, "addresses")
    return name, _replace_targets(params)


@state_check("addresses.replace")
def check_replace(table: LinkTable, params: Dict[str, Any]) -> None:
    name, requested = parse_replace(params)
    table.get(name)
    check_ipv6_enabled(name, requested)


@method("addresses.replace")
def addresses_replace(params: Dict[str, Any]) -> Dict[str, Any]:
    name, requested = parse_replace(params)
    requested_keys = {(address.ip, address.network.prefixlen): address for address in requested}
    with open_netlink() as ipr:
        table = LinkTable(*dump())
        index = table.get(name)["index"]
        check_ipv6_enabled(name, requested)
        current = _address_keys(table, index)
        added = _add_missing(ipr, index, name, current, requested_keys)
        stale = [key for key in current if key not in requested_keys and _is_managed(key)]
        _remove_stale(ipr, index, name, stale)
        # Removing an IPv4 primary address also removes its secondaries unless the
        # promote_secondaries sysctl is set, so re-add any requested address that went with it.
        after = _address_keys(LinkTable(*dump()), index)
        for key, address in requested_keys.items():
            if key not in after:
                _run_addr(ipr, "add", index, address, name)
    return {
        "interface": _describe(name),
        "added": added,
        "removed": ["%s/%d" % (key[0].compressed, key[1]) for key in stale],
    }


def _run_addr(
    ipr: IPRoute, command: str, index: int, address: validate.IPInterface, name: str
) -> None:
    try:
        _addr(ipr, command, index, address)
    except netlink.NetlinkError as error:
        raise netlink_error(
            error, "cannot %s %s on %s" % (command, validate.format_interface(address), name)
        ) from None


def _add_missing(
    ipr: IPRoute,
    index: int,
    name: str,
    current: Dict[Any, Message],
    requested: Dict[Any, validate.IPInterface],
) -> List[str]:
    added: List[validate.IPInterface] = []
    for key, address in requested.items():
        if key in current:
            continue
        same_ip = _find_address(current, address)
        if same_ip is not None:
            # Same address with another prefix length: the kernel would refuse the add.
            _run_addr(ipr, "del", index, ipaddress.ip_interface(same_ip), name)
        try:
            _run_addr(ipr, "add", index, address, name)
        except AgentError:
            _undo(ipr, index, added)
            raise
        added.append(address)
    return [validate.format_interface(address) for address in added]


def _undo(ipr: IPRoute, index: int, added: List[validate.IPInterface]) -> None:
    for address in reversed(added):
        try:
            _addr(ipr, "del", index, address)
        except netlink.NetlinkError as error:
            log.error("cannot remove %s while rolling back: %s", address, error)


def _remove_stale(ipr: IPRoute, index: int, name: str, stale: List[Any]) -> None:
    # Secondaries first, so removing a primary does not take listed secondaries with it.
    for key in reversed(stale):
        try:
            _addr(ipr, "del", index, ipaddress.ip_interface(key))
        except netlink.NetlinkError as error:
            if error.code != errno.EADDRNOTAVAIL:
                raise netlink_error(
                    error, "cannot remove %s/%d from %s" % (key[0], key[1], name)
                ) from None
