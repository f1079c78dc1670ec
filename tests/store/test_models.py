"""Property tests of the validators for device names, hosts, ports and jumps."""

from __future__ import annotations

import ipaddress
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mudmap_tui.errors import InvalidInput
from mudmap_tui.store.devices import validate_device
from mudmap_tui.store.models import check_host, check_jump, check_name, check_port

NAME_CHARS = string.ascii_letters + string.digits + "-_."
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
# The last label of a DNS name must not be all digits, or it reads as an IPv4 address.
TOP_LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
DNS_NAMES = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(LABEL, max_size=4), TOP_LABEL
)
USERS = st.from_regex(r"[a-z_][a-z0-9_.-]{0,15}", fullmatch=True)
PORTS = st.integers(min_value=1, max_value=65535)


NAME_FIRST_CHARS = string.ascii_letters + string.digits + "_"


@given(st.sampled_from(NAME_FIRST_CHARS), st.text(alphabet=NAME_CHARS, max_size=63))
def test_name_accepts_allowed_characters(first: str, rest: str) -> None:
    assert check_name(first + rest) == first + rest


@pytest.mark.parametrize("name", ["-x", "--help", ".", "..", ".hidden"])
def test_name_rejects_leading_dash_and_dot(name: str) -> None:
    with pytest.raises(ValueError, match="starting with a letter, digit or '_'"):
        check_name(name)


@given(
    st.text(alphabet=NAME_CHARS, max_size=30),
    st.sampled_from(list(" ;|&$`'\"\\/\n\t@:!*")),
    st.text(alphabet=NAME_CHARS, max_size=30),
)
def test_name_rejects_other_characters(head: str, bad: str, tail: str) -> None:
    with pytest.raises(ValueError):
        check_name(head + bad + tail)


@given(st.text(alphabet=NAME_CHARS, min_size=65, max_size=100))
def test_name_rejects_over_64_characters(name: str) -> None:
    with pytest.raises(ValueError):
        check_name(name)


@given(st.ip_addresses())
def test_host_accepts_ip_addresses(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert check_host(str(address)) == str(address)
    assert check_host(f" {address} ") == str(address)


@given(st.ip_addresses(v=6))
def test_host_accepts_bracketed_ipv6(address: ipaddress.IPv6Address) -> None:
    assert check_host(f"[{address}]") == str(address)


@given(DNS_NAMES)
def test_host_accepts_dns_names(name: str) -> None:
    assert check_host(name.upper()) == name
    assert check_host(name + ".") == name


@given(DNS_NAMES, st.sampled_from(list(" ;|&$`'\"/\\@!*_")), DNS_NAMES)
def test_host_rejects_shell_and_space(head: str, bad: str, tail: str) -> None:
    with pytest.raises(ValueError):
        check_host(head + bad + tail)


@given(DNS_NAMES)
def test_host_rejects_leading_hyphen(name: str) -> None:
    # "-oProxyCommand=..." must never reach ssh as a host.
    with pytest.raises(ValueError):
        check_host("-" + name)


@given(st.integers(min_value=256, max_value=10**6), st.integers(0, 255))
def test_host_rejects_bad_dotted_quads(high: int, low: int) -> None:
    with pytest.raises(ValueError):
        check_host(f"10.{low}.{high}.1")


@given(PORTS)
def test_port_accepts_range(port: int) -> None:
    assert check_port(port) == port


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_port_rejects_outside_range(port: int) -> None:
    with pytest.raises(ValueError, match="must be 1 to 65535"):
        check_port(port)


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_device_port_error_one_line(port: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_device({"name": "d", "host": "h.example", "port": port})

    assert str(caught.value) == f"invalid port {port}: must be 1 to 65535"


@given(
    st.one_of(st.none(), USERS),
    st.one_of(DNS_NAMES, st.ip_addresses(v=4).map(str)),
    st.one_of(st.none(), PORTS),
)
def test_jump_accepts_inline_forms(user: str | None, host: str, port: int | None) -> None:
    jump = host
    if user is not None:
        jump = f"{user}@{jump}"
    if port is not None:
        jump = f"{jump}:{port}"

    assert check_jump(jump) == jump


@given(st.ip_addresses(v=6), PORTS)
def test_jump_accepts_bracketed_ipv6(address: ipaddress.IPv6Address, port: int) -> None:
    jump = f"root@[{address}]:{port}"

    assert check_jump(jump) == jump


@given(DNS_NAMES, st.one_of(st.just(0), st.integers(65536, 10**7)))
def test_jump_rejects_port_outside_range(host: str, port: int) -> None:
    with pytest.raises(ValueError, match="must be 1 to 65535"):
        check_jump(f"{host}:{port}")


@given(DNS_NAMES, st.sampled_from([" ", ";", "|", "$(", "`", "\n"]))
def test_jump_rejects_shell_characters(host: str, bad: str) -> None:
    with pytest.raises(ValueError):
        check_jump(f"root@{host}{bad}x")
