"""The kernel backend's dump parser, fed real encoded-then-decoded netlink messages.

The kernel splits a large dump across messages and repeats a peer's public key when its
allowed IPs continue in the next message; these messages reproduce that layout.
"""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest
from pyroute2.netlink.generic.wireguard import wgmsg

from agent.wireguard import kernel
from agent.wireguard.model import PeerChange


def key(seed: int) -> bytes:
    return seed.to_bytes(2, "big") * 16


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def allowed_ip(cidr: str) -> dict[str, Any]:
    address, prefix = cidr.split("/")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return {
        "attrs": [
            ["WGALLOWEDIP_A_FAMILY", family],
            ["WGALLOWEDIP_A_IPADDR", socket.inet_pton(family, address)],
            ["WGALLOWEDIP_A_CIDR_MASK", int(prefix)],
        ]
    }


def peer(seed: int, cidrs: list[str], **extra: Any) -> dict[str, Any]:
    attrs: list[list[Any]] = [["WGPEER_A_PUBLIC_KEY", {"value": b64(key(seed))}]]
    for name, value in extra.items():
        attrs.append([name, value])
    attrs.append(["WGPEER_A_ALLOWEDIPS", [allowed_ip(cidr) for cidr in cidrs]])
    return {"attrs": attrs}


def message(peers: list[dict[str, Any]], device_attrs: bool) -> wgmsg:
    sent = wgmsg()
    sent["cmd"] = 0
    sent["version"] = 1
    sent["header"]["type"] = 30
    attrs: list[list[Any]] = [["WGDEVICE_A_IFINDEX", 5], ["WGDEVICE_A_IFNAME", "wg0"]]
    if device_attrs:
        attrs += [
            ["WGDEVICE_A_PRIVATE_KEY", {"value": b64(key(1))}],
            ["WGDEVICE_A_PUBLIC_KEY", {"value": b64(key(2))}],
            ["WGDEVICE_A_LISTEN_PORT", 51820],
            ["WGDEVICE_A_FWMARK", 9],
        ]
    attrs.append(["WGDEVICE_A_PEERS", peers])
    sent["attrs"] = attrs
    sent.encode()
    received = wgmsg(sent.data)
    received.decode()
    return received


def test_dump_merges_peer_split_across_messages() -> None:
    first = message(
        [
            peer(
                10,
                ["10.0.0.0/24"],
                WGPEER_A_ENDPOINT={"addr": "fd00::2", "port": 51821},
                WGPEER_A_PRESHARED_KEY={"value": b64(key(3))},
                WGPEER_A_LAST_HANDSHAKE_TIME={"tv_sec": 1700000000, "tv_nsec": 7},
                WGPEER_A_RX_BYTES=200,
                WGPEER_A_TX_BYTES=100,
                WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL=25,
            ),
            peer(11, ["10.1.0.0/24", "10.1.1.0/24"]),
        ],
        device_attrs=True,
    )
    # The next message continues peer 11's allowed IPs, then starts peer 12.
    second = message(
        [peer(11, ["10.1.2.0/24", "fd01::/64"]), peer(12, ["10.2.0.0/16"])],
        device_attrs=False,
    )

    device = kernel.parse_dump([first, second])

    assert device.private_key == key(1)
    assert device.public_key == key(2)
    assert device.listen_port == 51820
    assert device.fwmark == 9
    assert [p.public_key for p in device.peers] == [key(10), key(11), key(12)]
    assert device.peers[1].allowed_ips == ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24", "fd01::/64"]
    first_peer = device.peers[0]
    assert first_peer.endpoint == ("fd00::2", 51821)
    assert first_peer.preshared_key_set is True
    assert first_peer.last_handshake_sec == 1700000000
    assert (first_peer.rx_bytes, first_peer.tx_bytes) == (200, 100)
    assert first_peer.persistent_keepalive == 25
    assert device.peers[2].preshared_key_set is False
    assert device.peers[2].endpoint is None


def test_dump_of_500_peers_over_many_messages() -> None:
    cidrs = [f"10.{seed // 256}.{seed % 256}.0/24" for seed in range(500)]
    messages = [message([peer(seed, [cidrs[seed]])], False) for seed in range(500)]

    device = kernel.parse_dump(messages)

    assert [p.public_key for p in device.peers] == [key(seed) for seed in range(500)]
    assert [p.allowed_ips for p in device.peers] == [[cidr] for cidr in cidrs]


def test_peer_request_for_pyroute2() -> None:
    change = PeerChange(
        public_key=key(4),
        endpoint=("192.0.2.1", 9),
        allowed_ips=["10.0.0.0/8"],
        replace_allowed_ips=True,
        persistent_keepalive=0,
    )
    request = kernel.peer_request(change)
    assert request == {
        "public_key": b64(key(4)),
        "update_only": False,
        "replace_allowed_ips": True,
        "endpoint_addr": "192.0.2.1",
        "endpoint_port": 9,
        "persistent_keepalive": 0,
        "allowed_ips": ["10.0.0.0/8"],
    }
    assert kernel.peer_request(PeerChange(public_key=key(4), remove=True)) == {
        "public_key": b64(key(4)),
        "remove": True,
    }


def test_missing_module_is_unsupported() -> None:
    from pyroute2.netlink.exceptions import NetlinkError

    from agent.errors import AgentError

    try:
        from pyroute2 import WireGuard

        WireGuard().close()
    except NetlinkError:
        pass
    else:
        pytest.skip("kernel has a WireGuard module")
    with pytest.raises(AgentError) as raised:
        kernel.get("wg0")
    assert raised.value.kind == "unsupported"
    assert raised.value.message == "kernel has no WireGuard module"
