"""Validation of WireGuard method parameters; everything is checked before a backend runs.

The userspace backend applies a set operation line by line and keeps what it applied
before an error, so a rejected value must never get as far as the backend.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, Iterable, List, Optional

from agent import validate
from agent.errors import AgentError, invalid
from agent.wireguard.keys import decode_key
from agent.wireguard.model import Endpoint

MAX_PORT = 65535
MAX_FWMARK = 2**32 - 1
MAX_KEEPALIVE = 65535


def method_params(
    params: Any, required_fields: Iterable[str], optional_fields: Iterable[str]
) -> Dict[str, Any]:
    """Check the params object: required members present, no member the method lacks."""
    params = validate.params_object(params)
    required_fields = list(required_fields)
    validate.only(params, required_fields + list(optional_fields))
    for field in required_fields:
        validate.required(params, field)
    return params


def interface_name(value: Any) -> str:
    return validate.interface_name("name", value)


def integer(field: str, value: Any, low: int, high: int) -> int:
    return validate.integer(field, value, low, high)


def listen_port(value: Any) -> int:
    return integer("listen_port", value, 0, MAX_PORT)


def fwmark(value: Any) -> int:
    return integer("fwmark", value, 0, MAX_FWMARK)


def persistent_keepalive(value: Any) -> int:
    return integer("persistent_keepalive", value, 0, MAX_KEEPALIVE)


def public_key(value: Any) -> bytes:
    return decode_key("public_key", value)


def preshared_key(value: Any) -> bytes:
    return decode_key("preshared_key", value, secret=True)


def private_key(value: Any) -> bytes:
    return decode_key("private_key", value, secret=True)


def endpoint(value: Any) -> Endpoint:
    """Parse ``IPv4:port`` or ``[IPv6]:port``; host names must be resolved by the caller."""
    rule = "must be IPv4:port or [IPv6]:port with a port from 1 to 65535"
    if not isinstance(value, str):
        raise invalid("endpoint", value, rule)
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        version = 6
    else:
        host, sep, port = value.rpartition(":")
        version = 4
    if not sep or not port.isdigit() or not 1 <= int(port) <= MAX_PORT:
        raise invalid("endpoint", value, rule)
    try:
        address = validate.ip_address("endpoint", host)
    except AgentError:
        raise invalid("endpoint", value, rule, "resolve host names before sending") from None
    if address.version != version:
        raise invalid("endpoint", value, rule)
    return str(address), int(port)


def allowed_ips(value: Any) -> List[str]:
    """Normalise a list of CIDRs; host bits are cleared as WireGuard itself does."""
    if not isinstance(value, list):
        raise invalid("allowed_ips", value, "must be a list of CIDRs such as 10.0.0.0/24")
    networks: List[str] = []
    for item in value:
        network = _cidr(item)
        if network not in networks:
            networks.append(network)
    return networks


def _cidr(value: Any) -> str:
    rule = "must be an IPv4 or IPv6 CIDR such as 10.0.0.0/24 or fd00::/64"
    if not isinstance(value, str) or "/" not in value:
        raise invalid("allowed_ips", value, rule)
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise invalid("allowed_ips", value, rule) from None


def optional(params: Dict[str, Any], name: str, check: Any) -> Optional[Any]:
    """Validate params[name] with ``check`` when present; None when absent."""
    if name not in params:
        return None
    return check(params[name])
