"""Build interfaces.create and interfaces.update params from form input.

Every value is checked with the agent's own validators (agent/validate.py, and
agent/wireguard/params.py for WireGuard), so the form rejects exactly what the device
would, before anything is sent. Addresses are not part of either method: they travel under
AFTER_KEY as the params of the addresses.replace call that the caller makes next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent import validate
from agent.errors import invalid
from agent.links_write import parse_create
from agent.wireguard import params as wg_params
from mudmap_tui.form_checks import Collector, FieldErrors, integer_text

CREATABLE_KINDS = ("bridge", "bond", "vlan", "macvlan", "vxlan", "veth", "wireguard", "dummy")
# The form fields that each kind adds to the common ones (name, MTU, state, addresses).
KIND_FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "bridge": ("stp",),
    "bond": ("mode", "miimon"),
    "vlan": ("parent", "id", "protocol"),
    "macvlan": ("parent", "mode"),
    "vxlan": ("vni", "remote", "port", "parent"),
    "veth": ("peer",),
    "wireguard": ("listen_port",),
    "dummy": (),
}
# Kinds whose parent is optional; the others in KIND_FORM_FIELDS with "parent" require one.
OPTIONAL_PARENT_KINDS = ("vxlan",)
# The member of the result that contains follow-up calls as {method: params}. The caller removes
# it before sending the create or update request, then makes each call in order.
AFTER_KEY = "after"
# wg.create takes neither MTU nor state, so for WireGuard they follow as interfaces.update.
WIREGUARD_CREATE_FIELDS = ("kind", "name", "listen_port")


def _text(values: Mapping[str, Any], field: str) -> str:
    value = values.get(field)
    return value.strip() if isinstance(value, str) else ""


def _optional_integer(
    collector: Collector, values: Mapping[str, Any], field: str, check: Any
) -> int | None:
    text = _text(values, field)
    if not text:
        return None
    return collector.check(field, lambda: check(field, integer_text(field, text)))


def parse_addresses(text: str) -> list[str]:
    """Parse comma- or space-separated addresses with prefix (192.0.2.10/24) into RFC 5952 form."""
    addresses = []
    for position, item in enumerate(text.replace(",", " ").split()):
        address = validate.cidr_address("address", item)
        formatted = validate.format_interface(address)
        if formatted in addresses:
            raise invalid("address", item, f"is listed twice (item {position + 1})")
        addresses.append(formatted)
    return addresses


def _common(collector: Collector, values: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    name = collector.check("name", lambda: validate.interface_name("name", _text(values, "name")))
    if name is not None:
        params["name"] = name
    mtu = _optional_integer(collector, values, "mtu", validate.mtu)
    if mtu is not None:
        params["mtu"] = mtu
    state = values.get("state")
    if state:
        params["state"] = collector.check("state", lambda: validate.admin_state("state", state))
    return params


def _kind_params(collector: Collector, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    fields = KIND_FORM_FIELDS[kind]
    if "parent" in fields:
        parent = _text(values, "parent")
        if parent:
            params["parent"] = collector.check(
                "parent", lambda: validate.interface_name("parent", parent)
            )
        elif kind not in OPTIONAL_PARENT_KINDS:
            collector.add("parent", f"missing parent: a {kind} interface needs a parent link")
    if kind == "bridge":
        params["stp"] = bool(values.get("stp"))
    elif kind == "bond":
        _bond(collector, values, params)
    elif kind == "vlan":
        _vlan(collector, values, params)
    elif kind == "macvlan":
        mode = values.get("mode") or "bridge"
        params["mode"] = collector.check("mode", lambda: validate.macvlan_mode("mode", mode)[0])
    elif kind == "vxlan":
        _vxlan(collector, values, params)
    elif kind == "veth":
        peer = _text(values, "peer")
        params["peer"] = collector.check("peer", lambda: validate.interface_name("peer", peer))
    elif kind == "wireguard":
        port = _optional_integer(
            collector, values, "listen_port", lambda _f, v: wg_params.listen_port(v)
        )
        if port is not None:
            params["listen_port"] = port
    return params


def _bond(collector: Collector, values: Mapping[str, Any], params: dict[str, Any]) -> None:
    mode = values.get("mode")
    if mode:
        params["mode"] = collector.check("mode", lambda: validate.bond_mode("mode", mode)[0])
    miimon = _optional_integer(collector, values, "miimon", validate.miimon)
    if miimon is not None:
        params["miimon"] = miimon


def _vlan(collector: Collector, values: Mapping[str, Any], params: dict[str, Any]) -> None:
    text = _text(values, "id")
    if not text:
        collector.add("id", "missing VLAN id: give a number from 1 to 4094")
    else:
        params["id"] = collector.check(
            "id", lambda: validate.vlan_id("id", integer_text("id", text))
        )
    protocol = values.get("protocol") or "802.1Q"
    params["protocol"] = collector.check(
        "protocol", lambda: validate.vlan_protocol("protocol", protocol)[0]
    )


def _vxlan(collector: Collector, values: Mapping[str, Any], params: dict[str, Any]) -> None:
    text = _text(values, "vni")
    if not text:
        collector.add("vni", f"missing VNI: give a number from 0 to {validate.VNI_MAX}")
    else:
        params["vni"] = collector.check(
            "vni", lambda: validate.vni("vni", integer_text("vni", text))
        )
    remote = _text(values, "remote")
    if remote:
        address = collector.check("remote", lambda: validate.ip_address("remote", remote))
        if address is not None and (address.is_multicast or address.is_unspecified):
            collector.add("remote", f"invalid remote {remote!r}: must be a unicast address")
        params["remote"] = str(address) if address is not None else remote
    port = _optional_integer(collector, values, "port", validate.port)
    if port is not None:
        params["port"] = port


def create_params(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Build interfaces.create params for ``kind``; raise FieldErrors naming each bad field.

    The result may carry AFTER_KEY with addresses.replace (and, for WireGuard, the MTU and
    state as interfaces.update), which the caller sends after the create succeeds.
    """
    if kind not in CREATABLE_KINDS:
        raise FieldErrors({"kind": f"invalid kind {kind!r}: use {', '.join(CREATABLE_KINDS)}"})
    collector = Collector()
    params = {"kind": kind, **_common(collector, values), **_kind_params(collector, kind, values)}
    addresses = collector.check("addresses", lambda: parse_addresses(_text(values, "addresses")))
    collector.raise_if_any()
    if kind != "wireguard":
        # The agent's own parser catches rules across fields (a veth peer named like itself).
        collector.check(_agent_field(params), lambda: parse_create(dict(params)))
        collector.raise_if_any()
        return _with_after(params, params["name"], addresses, {})
    update: dict[str, Any] = {key: params.pop(key) for key in ("mtu", "state") if key in params}
    return _with_after(params, params["name"], addresses, update)


def _agent_field(params: Mapping[str, Any]) -> str:
    # parse_create names the field in its error message; the form shows it under "name"
    # unless the cross-field rule concerns the veth peer.
    return "peer" if "peer" in params else "name"


def _with_after(
    params: dict[str, Any], name: str, addresses: list[str] | None, update: dict[str, Any]
) -> dict[str, Any]:
    after: dict[str, Any] = {}
    if update:
        after["interfaces.update"] = {"name": name, **update}
    if addresses:
        after["addresses.replace"] = {"name": name, "addresses": addresses}
    if after:
        params[AFTER_KEY] = after
    return params


def current_addresses(interface: Mapping[str, Any]) -> list[str]:
    """Return an interface's global and site addresses as prefix text, link-local left out."""
    result = []
    for item in interface.get("addresses") or ():
        if item.get("scope") in ("link", "host"):
            continue
        result.append(f"{item['address']}/{item['prefixlen']}")
    return result


def update_params(existing: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Build interfaces.update params with only the changed fields; raise FieldErrors.

    ``existing`` is the agent's interfaces.get result. A changed address list goes under
    AFTER_KEY as addresses.replace for the (possibly new) name. If nothing changed, the
    result is just {"name": ...}.
    """
    if "interface" in existing and isinstance(existing["interface"], Mapping):
        existing = existing["interface"]
    name = str(existing["name"])
    collector = Collector()
    common = _common(collector, values)
    addresses = collector.check("addresses", lambda: parse_addresses(_text(values, "addresses")))
    collector.raise_if_any()
    params: dict[str, Any] = {"name": name}
    if common.get("name") and common["name"] != name:
        params["new_name"] = common["name"]
    if "mtu" in common and common["mtu"] != existing.get("mtu"):
        params["mtu"] = common["mtu"]
    if "state" in common and common["state"] != existing.get("admin_state"):
        params["state"] = common["state"]
    after: dict[str, Any] = {}
    if addresses is not None and sorted(addresses) != sorted(current_addresses(existing)):
        final_name = params.get("new_name", name)
        after["addresses.replace"] = {"name": final_name, "addresses": addresses}
    if after:
        params[AFTER_KEY] = after
    return params
