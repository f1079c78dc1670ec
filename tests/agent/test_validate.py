"""Property tests for the agent's parameter validators; no root needed."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent import rtnl_dump, validate
from agent.errors import AgentError

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)


def rejects(check: Callable[[str, Any], Any], value: Any, field: str = "f") -> AgentError:
    with pytest.raises(AgentError) as caught:
        check(field, value)
    error = caught.value
    assert error.kind == "invalid_params"
    assert error.data["field"] == field
    assert repr(value)[:20] in error.message or "items" in error.message
    return error


def agent_accepts_name(name: str) -> bool:
    """The kernel's rule, plus no leading '-', which tools would read as an option."""
    raw = name.encode("utf-8", "surrogatepass")
    return (
        1 <= len(raw) <= 15
        and name not in (".", "..", "all", "default")
        and not name.startswith("-")
        and not any(b <= 0x20 or b in b"/:\x7f\xa0" for b in raw)
    )


@given(st.text(max_size=40))
def test_interface_name_matches_kernel_rule(name: str) -> None:
    if agent_accepts_name(name):
        assert validate.interface_name("name", name) == name
    else:
        rejects(validate.interface_name, name, "name")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=16, max_size=40))
def test_long_interface_name_rejected(name: str) -> None:
    error = rejects(validate.interface_name, name, "name")
    assert "15 bytes" in error.message


@given(ANY_JSON.filter(lambda value: not isinstance(value, str)))
def test_interface_name_rejects_non_strings(value: Any) -> None:
    rejects(validate.interface_name, value)


def test_interface_name_examples() -> None:
    for name in ("eth0", "br-lan", "wg0", "a" * 15, "vlan.10", "é"):
        assert validate.interface_name("name", name) == name
    for name in ("", ".", "..", "a/b", "a:b", "a b", "a\tb", "a" * 16, "à" * 8, "é" * 8,
                 "-x", "--version"):
        rejects(validate.interface_name, name)


def test_interface_name_rejects_reserved() -> None:
    for name in ("all", "default"):
        error = rejects(validate.interface_name, name, "name")
        assert "reserved by the kernel" in error.message
    for name in ("All", "alla", "default0"):
        assert validate.interface_name("name", name) == name


@given(st.ip_addresses(), st.integers(min_value=0, max_value=128))
def test_cidr_address_round_trip(address: Any, prefix: int) -> None:
    text = f"{address}/{prefix}"
    if prefix > address.max_prefixlen or address.is_unspecified or address.is_multicast:
        rejects(validate.cidr_address, text)
        return
    parsed = validate.cidr_address("address", text)
    assert parsed.ip == address
    assert parsed.network.prefixlen == prefix
    # The canonical form is RFC 5952 and parses back to the same value.
    canonical = validate.format_interface(parsed)
    assert canonical == f"{address.compressed}/{prefix}"
    assert validate.cidr_address("address", canonical) == parsed


@given(st.text(max_size=50))
def test_cidr_address_rejects_or_parses(text: str) -> None:
    try:
        parsed = validate.cidr_address("address", text)
    except AgentError as error:
        assert error.kind == "invalid_params"
        return
    host, prefix = text.split("/")
    assert parsed.ip == ipaddress.ip_address(host)
    assert parsed.network.prefixlen == int(prefix)


def test_cidr_address_examples() -> None:
    assert validate.format_interface(validate.cidr_address("a", "2001:DB8:0:0::1/64")) == (
        "2001:db8::1/64"
    )
    assert str(validate.cidr_address("a", "192.0.2.10/24").ip) == "192.0.2.10"
    for text in (
        "192.0.2.1",
        "192.0.2.1/",
        "192.0.2.1/33",
        "192.0.2.1/+8",
        "010.0.0.1/8",
        "192.0.2.1/255.255.255.0",
        "fe80::1%eth0/64",
        " 192.0.2.1/24",
        "0.0.0.0/0",
        "224.0.0.1/4",
        "::/0",
        "2001:db8::1/129",
        "192.0.2.1/24/1",
    ):
        rejects(validate.cidr_address, text)


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_mtu_range(value: int) -> None:
    if 68 <= value <= 65535:
        assert validate.mtu("mtu", value) == value
    else:
        rejects(validate.mtu, value, "mtu")


@given(
    st.integers(min_value=68, max_value=65535),
    st.integers(min_value=0, max_value=9000),
    st.integers(min_value=0, max_value=65535),
)
def test_mtu_for_link_uses_kernel_range(value: int, low: int, high: int) -> None:
    effective_low = low or 68
    effective_high = high or 65535
    if effective_low <= value <= effective_high:
        assert validate.mtu_for_link("mtu", value, "eth0", low, high) == value
    else:
        with pytest.raises(AgentError) as caught:
            validate.mtu_for_link("mtu", value, "eth0", low, high)
        assert "eth0" in caught.value.message


@given(
    st.lists(st.integers(min_value=0, max_value=255), min_size=6, max_size=6),
    st.sampled_from([":", "-"]),
    st.booleans(),
)
def test_mac_address(octets: list[int], separator: str, upper: bool) -> None:
    text = separator.join(f"{octet:02x}" for octet in octets)
    text = text.upper() if upper else text
    if octets[0] & 1 or not any(octets):
        rejects(validate.mac_address, text, "mac")
    else:
        assert validate.mac_address("mac", text) == ":".join(f"{o:02x}" for o in octets)


@given(st.text(max_size=20))
def test_mac_address_random_text(text: str) -> None:
    try:
        result = validate.mac_address("mac", text)
    except AgentError:
        return
    assert result == result.lower()
    assert len(result) == 17


@pytest.mark.parametrize(
    ("check", "low", "high"),
    [
        (validate.vlan_id, 1, 4094),
        (validate.port, 1, 65535),
        (validate.vni, 0, 16777215),
        (validate.miimon, 0, 2**31 - 1),
    ],
)
@given(value=st.integers(min_value=-(2**33), max_value=2**33))
def test_integer_ranges(check: Callable[[str, Any], int], low: int, high: int, value: int) -> None:
    if low <= value <= high:
        assert check("v", value) == value
    else:
        rejects(check, value, "v")


@pytest.mark.parametrize(
    "check", [validate.vlan_id, validate.port, validate.vni, validate.miimon, validate.mtu]
)
@given(value=st.booleans() | st.floats() | st.text() | st.none())
def test_integer_validators_reject_other_types(
    check: Callable[[str, Any], int], value: Any
) -> None:
    rejects(check, value, "v")


@given(st.text(max_size=10))
def test_vlan_protocol(text: str) -> None:
    if text.lower() in ("802.1q", "802.1ad"):
        name, ethertype = validate.vlan_protocol("protocol", text)
        assert ethertype == (0x8100 if name == "802.1Q" else 0x88A8)
    else:
        rejects(validate.vlan_protocol, text, "protocol")


@given(
    st.one_of(
        st.integers(min_value=-3, max_value=10),
        st.text(max_size=14),
        st.sampled_from(validate.BOND_MODES),
    )
)
def test_bond_mode(value: Any) -> None:
    valid_number = isinstance(value, int) and 0 <= value <= 6
    if valid_number or value in validate.BOND_MODES:
        name, number = validate.bond_mode("mode", value)
        assert validate.BOND_MODES[number] == name
        assert value in (name, number)
    else:
        rejects(validate.bond_mode, value, "mode")


@given(ANY_JSON)
def test_boolean(value: Any) -> None:
    if isinstance(value, bool):
        assert validate.boolean("b", value) is value
    else:
        rejects(validate.boolean, value, "b")


@given(ANY_JSON)
def test_enum(value: Any) -> None:
    choices = ("up", "down")
    if value in choices and isinstance(value, str):
        assert validate.enum("state", value, choices) == value
    else:
        rejects(lambda field, v: validate.enum(field, v, choices), value, "state")


@given(ANY_JSON)
def test_ip_address_never_crashes(value: Any) -> None:
    try:
        result = validate.ip_address("remote", value)
    except AgentError as error:
        assert error.data["field"] == "remote"
        return
    assert result == ipaddress.ip_address(value)


def test_only_rejects_unknown_members() -> None:
    validate.only({"name": "x"}, ("name", "mtu"))
    with pytest.raises(AgentError) as caught:
        validate.only({"name": "x", "mtuu": 1}, ("name", "mtu"))
    assert caught.value.data["field"] == "mtuu"


@given(
    st.binary(min_size=16, max_size=16)
    | st.builds(
        lambda words: b"".join(w.to_bytes(2, "big") for w in words),
        st.lists(st.sampled_from([0, 0, 1, 0xFFFF, 0x2001]), min_size=8, max_size=8),
    )
)
def test_dump_ipv6_text_is_rfc5952(raw: bytes) -> None:
    assert rtnl_dump._ip(raw, 0, 16) == ipaddress.IPv6Address(raw).compressed


@given(st.binary(min_size=4, max_size=4))
def test_dump_ipv4_text(raw: bytes) -> None:
    assert rtnl_dump._ip(raw, 0, 4) == str(ipaddress.IPv4Address(raw))


@given(ANY_JSON)
def test_macvlan_mode(value: Any) -> None:
    if isinstance(value, str) and value in validate.MACVLAN_MODES:
        assert validate.macvlan_mode("mode", value) == (value, validate.MACVLAN_MODES[value])
    else:
        rejects(validate.macvlan_mode, value, "mode")


@given(ANY_JSON)
def test_admin_state(value: Any) -> None:
    if value in ("up", "down") and isinstance(value, str):
        assert validate.admin_state("state", value) == value
    else:
        rejects(validate.admin_state, value, "state")


@given(ANY_JSON)
def test_array_and_params_object(value: Any) -> None:
    if isinstance(value, list):
        assert validate.array("items", value) is value
    else:
        rejects(validate.array, value, "items")
    if value is None or isinstance(value, dict):
        assert validate.params_object(value) == (value or {})
    else:
        with pytest.raises(AgentError) as caught:
            validate.params_object(value)
        assert caught.value.data["field"] == "params"


def test_array_length_limit() -> None:
    error = rejects(lambda field, v: validate.array(field, v, max_items=3), [1, 2, 3, 4], "items")
    assert "at most 3" in error.message


@given(ANY_JSON)
def test_string(value: Any) -> None:
    if isinstance(value, str) and 1 <= len(value) <= 8:
        assert validate.string("s", value, max_length=8) == value
    else:
        rejects(lambda field, v: validate.string(field, v, max_length=8), value, "s")


@given(ANY_JSON)
def test_integer(value: Any) -> None:
    in_range = isinstance(value, int) and not isinstance(value, bool) and -5 <= value <= 5
    if in_range:
        assert validate.integer("n", value, -5, 5) == value
    else:
        rejects(lambda field, v: validate.integer(field, v, -5, 5), value, "n")
