"""The UAPI text protocol: parsing ``get`` responses and formatting ``set`` requests."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.wireguard import uapi
from agent.wireguard.model import ZERO_KEY, DeviceChange, PeerChange

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))

GET_RESPONSE = (
    "private_key=" + KEY_A.hex() + "\n"
    "listen_port=51820\n"
    "fwmark=7\n"
    "public_key=" + KEY_B.hex() + "\n"
    "preshared_key=" + ZERO_KEY.hex() + "\n"
    "protocol_version=1\n"
    "endpoint=[fd00::2]:51821\n"
    "last_handshake_time_sec=1700000000\n"
    "last_handshake_time_nsec=5\n"
    "tx_bytes=100\n"
    "rx_bytes=200\n"
    "persistent_keepalive_interval=25\n"
    "allowed_ip=10.0.0.0/24\n"
    "allowed_ip=fd01::/64\n"
    "public_key=" + KEY_A.hex() + "\n"
    "preshared_key=" + KEY_B.hex() + "\n"
    "endpoint=192.0.2.1:9\n"
    "errno=0\n\n"
)


def test_parse_get_reads_device_and_peers() -> None:
    body, code = uapi.split_errno(GET_RESPONSE)
    device = uapi.parse_get(body)

    assert code == 0
    assert device.private_key == KEY_A
    assert device.listen_port == 51820
    assert device.fwmark == 7
    assert [peer.public_key for peer in device.peers] == [KEY_B, KEY_A]
    first, second = device.peers
    assert first.endpoint == ("fd00::2", 51821)
    assert first.preshared_key_set is False
    assert first.allowed_ips == ["10.0.0.0/24", "fd01::/64"]
    assert (first.last_handshake_sec, first.last_handshake_nsec) == (1700000000, 5)
    assert (first.rx_bytes, first.tx_bytes) == (200, 100)
    assert first.persistent_keepalive == 25
    assert second.endpoint == ("192.0.2.1", 9)
    assert second.preshared_key_set is True
    assert second.allowed_ips == []


def test_parse_get_without_private_key() -> None:
    device = uapi.parse_get("listen_port=0\n")
    assert device.private_key is None
    assert device.peers == []


def test_split_errno_reports_code() -> None:
    assert uapi.split_errno("errno=-22\n\n") == ("", -22)


@pytest.mark.parametrize("response", ["errno=0\n", "listen_port=1\n\n", ""])
def test_split_errno_rejects_truncated(response: str) -> None:
    with pytest.raises(uapi.ProtocolError):
        uapi.split_errno(response)


def test_parse_get_rejects_short_key() -> None:
    with pytest.raises(uapi.ProtocolError):
        uapi.parse_get("public_key=0011\n")


def test_format_set_remove_peer() -> None:
    change = DeviceChange(
        peers=[PeerChange(public_key=KEY_A, remove=True, allowed_ips=["1.0.0.0/8"])]
    )
    # A removed peer carries nothing but its key and the remove flag.
    assert uapi.format_set(change) == f"set=1\npublic_key={KEY_A.hex()}\nremove=true\n\n"


def test_format_set_device_fields_first() -> None:
    change = DeviceChange(private_key=KEY_B, listen_port=0, fwmark=0)
    lines = uapi.format_set(change).split("\n")
    assert lines == ["set=1", "private_key=" + KEY_B.hex(), "listen_port=0", "fwmark=0", "", ""]


hosts = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: str(ipaddress.IPv6Address(int(address)))),
)
networks = st.one_of(
    st.builds(
        lambda address, prefix: str(ipaddress.ip_network(f"{address}/{prefix}", strict=False)),
        st.ip_addresses(v=4),
        st.integers(0, 32),
    ),
    st.builds(
        lambda address, prefix: str(ipaddress.ip_network(f"{address}/{prefix}", strict=False)),
        st.ip_addresses(v=6),
        st.integers(0, 128),
    ),
)
peer_changes = st.builds(
    PeerChange,
    public_key=st.binary(min_size=32, max_size=32),
    preshared_key=st.one_of(st.none(), st.binary(min_size=32, max_size=32)),
    endpoint=st.one_of(st.none(), st.tuples(hosts, st.integers(1, 65535))),
    persistent_keepalive=st.integers(0, 65535),
    allowed_ips=st.lists(networks, max_size=5),
)


@given(
    private_key=st.binary(min_size=32, max_size=32).filter(lambda key: key != ZERO_KEY),
    listen_port=st.integers(0, 65535),
    fwmark=st.integers(0, 2**32 - 1),
    peers=st.lists(peer_changes, max_size=4, unique_by=lambda peer: peer.public_key),
)
def test_set_then_get_round_trip(
    private_key: bytes, listen_port: int, fwmark: int, peers: list[PeerChange]
) -> None:
    # A set request, with "set=1" turned into what "get=1" returns, must parse back to the
    # same values: the two directions share the key names and value formats.
    change = DeviceChange(
        private_key=private_key, listen_port=listen_port, fwmark=fwmark, peers=peers
    )
    request = uapi.format_set(change)
    assert request.startswith("set=1\n")
    assert request.endswith("\n\n")
    device = uapi.parse_get(request[len("set=1\n") :])

    assert device.private_key == private_key
    assert device.listen_port == listen_port
    assert device.fwmark == fwmark
    assert len(device.peers) == len(peers)
    for sent, read in zip(peers, device.peers, strict=True):
        assert read.public_key == sent.public_key
        assert read.endpoint == sent.endpoint
        assert read.persistent_keepalive == sent.persistent_keepalive
        assert read.allowed_ips == sent.allowed_ips
        expected_psk = sent.preshared_key is not None and sent.preshared_key != ZERO_KEY
        assert read.preshared_key_set == expected_psk


@given(st.tuples(hosts, st.integers(1, 65535)))
def test_endpoint_round_trip(endpoint: tuple[str, int]) -> None:
    from agent.wireguard.model import format_endpoint

    text = format_endpoint(endpoint)
    assert uapi.parse_endpoint(text) == endpoint
    if ":" in endpoint[0]:
        assert text.startswith("[")
