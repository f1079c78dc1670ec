"""WireGuard through the agent in real network namespaces: tunnels, peers, backends."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from agent.wireguard import keys
from tests.agent.netns_pair import Side, netns_pair, unique_tag
from tests.agent_client import AgentCallError

pytestmark = [pytest.mark.lab, pytest.mark.timeout(180)]

TUNNEL = ("198.19.3.1", "198.19.3.2")
PORT = 51820


@pytest.fixture
def pair() -> Iterator[tuple[Side, Side]]:
    with netns_pair() as sides:
        yield sides


def random_public_key() -> str:
    return keys.encode_key(keys.public_key(keys.generate_private_key()))


def wg_dump(side: Side, name: str) -> list[list[str]]:
    output = side.run("wg", "show", name, "dump").stdout
    return [line.split("\t") for line in output.splitlines()]


def kernel_has_wireguard() -> bool:
    """Probe by creating a WireGuard link in a throwaway namespace."""
    netns = unique_tag() + "-probe"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        added = subprocess.run(
            ["ip", "-n", netns, "link", "add", "wgprobe", "type", "wireguard"],
            capture_output=True,
            check=False,
        )
        return added.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def link_names(side: Side) -> list[str]:
    return [
        line.split()[0].split("@")[0] for line in side.run("ip", "-br", "link").stdout.splitlines()
    ]


def test_tunnel_carries_ping_and_shows_handshake(pair: tuple[Side, Side]) -> None:
    left, right = pair
    names = [unique_tag() + "l", unique_tag() + "r"]
    with left.agent() as left_agent, right.agent() as right_agent:
        agents = (left_agent, right_agent)
        created = [
            agent.call("wg.create", name=name, listen_port=PORT)
            for agent, name in zip(agents, names, strict=True)
        ]
        for index, agent in enumerate(agents):
            other = 1 - index
            agent.call(
                "wg.peer.add",
                name=names[index],
                public_key=created[other]["public_key"],
                endpoint=f"{pair[other].address}:{PORT}",
                allowed_ips=[TUNNEL[other] + "/32"],
            )
            pair[index].run("ip", "addr", "add", TUNNEL[index] + "/24", "dev", names[index])
            pair[index].run("ip", "link", "set", names[index], "up")

        ping = left.run("ping", "-c", "3", "-W", "2", TUNNEL[1], check=False)
        described = left_agent.call("wg.get", name=names[0])
        dump = wg_dump(left, names[0])

        for agent, name in zip(agents, names, strict=True):
            agent.call("wg.delete", name=name)

    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert described["backend"] in ("kernel", "userspace")
    assert described["listen_port"] == PORT
    assert described["public_key"] == created[0]["public_key"]
    assert dump[0][1] == created[0]["public_key"]
    (peer,) = described["peers"]
    assert peer["public_key"] == created[1]["public_key"]
    assert peer["endpoint"] == f"{right.address}:{PORT}"
    assert peer["allowed_ips"] == [TUNNEL[1] + "/32"]
    assert peer["preshared_key_set"] is False
    assert peer["latest_handshake"] is not None
    assert peer["latest_handshake"] == int(dump[1][4])
    assert peer["latest_handshake_age"] >= 0
    assert peer["rx_bytes"] > 0
    assert peer["tx_bytes"] > 0
    assert names[0] not in link_names(left)
    assert not os.path.exists(f"/run/wireguard/{names[0]}.sock")


def test_private_key_only_through_its_method(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    name = unique_tag()
    with left.agent() as agent:
        created = agent.call("wg.create", name=name)
        described = agent.call("wg.get", name=name)
        secret = agent.call("wg.private_key", name=name)["private_key"]
        agent.call("wg.delete", name=name)

    assert "private_key" not in created
    assert "private_key" not in described
    raw = keys.decode_key("private_key", secret)
    assert keys.encode_key(keys.public_key(raw)) == created["public_key"]


def test_peer_add_update_remove(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    name = unique_tag()
    peer_key = random_public_key()
    preshared = base64.b64encode(secrets.token_bytes(32)).decode()
    with left.agent() as agent:
        agent.call("wg.create", name=name)
        added = agent.call(
            "wg.peer.add",
            name=name,
            public_key=peer_key,
            endpoint=f"[fd00::2]:{PORT}",
            allowed_ips=["10.9.0.0/24", "fd09::1/64"],
            preshared_key=preshared,
            persistent_keepalive=25,
        )
        with pytest.raises(AgentCallError) as duplicate:
            agent.call("wg.peer.add", name=name, public_key=peer_key, allowed_ips=[])
        updated = agent.call(
            "wg.peer.update",
            name=name,
            public_key=peer_key,
            allowed_ips=["10.8.0.0/16"],
            preshared_key=None,
        )
        dump_after_update = wg_dump(left, name)
        agent.call("wg.peer.remove", name=name, public_key=peer_key)
        with pytest.raises(AgentCallError) as missing_update:
            agent.call("wg.peer.update", name=name, public_key=peer_key, persistent_keepalive=1)
        with pytest.raises(AgentCallError) as missing_remove:
            agent.call("wg.peer.remove", name=name, public_key=peer_key)
        remaining = agent.call("wg.get", name=name)["peers"]
        agent.call("wg.delete", name=name)

    assert added["endpoint"] == f"[fd00::2]:{PORT}"
    assert added["allowed_ips"] == ["10.9.0.0/24", "fd09::/64"]
    assert added["preshared_key_set"] is True
    assert added["persistent_keepalive"] == 25
    assert duplicate.value.kind == "exists"
    assert updated["allowed_ips"] == ["10.8.0.0/16"]
    assert updated["preshared_key_set"] is False
    assert updated["persistent_keepalive"] == 25
    assert dump_after_update[1][4 - 1] == "10.8.0.0/16"
    assert missing_update.value.kind == "not_found"
    assert missing_remove.value.kind == "not_found"
    assert remaining == []


def test_invalid_peer_leaves_device_unchanged(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    name = unique_tag()
    peer_key = random_public_key()
    with left.agent() as agent:
        agent.call("wg.create", name=name, listen_port=PORT)
        before = wg_dump(left, name)
        rejected = []
        for bad in (
            {"allowed_ips": ["10.0.0.0/24", "10.0.0.300/24"]},
            {"allowed_ips": ["10.0.0.0/24"], "endpoint": "vpn.example:51820"},
            {"allowed_ips": ["10.0.0.0/24"], "persistent_keepalive": 70000},
            {"allowed_ips": ["10.0.0.0/24"], "preshared_key": "short"},
            {"allowed_ips": ["10.0.0.0/24"], "surprise": 1},
        ):
            with pytest.raises(AgentCallError) as error:
                agent.call("wg.peer.add", name=name, public_key=peer_key, **bad)
            rejected.append(error.value.kind)
        with pytest.raises(AgentCallError) as bad_port:
            agent.call("wg.set", name=name, listen_port=-1)
        after = wg_dump(left, name)
        agent.call("wg.delete", name=name)

    assert rejected == ["invalid_params"] * 5
    assert bad_port.value.kind == "invalid_params"
    assert after == before


def test_listen_port_in_use_is_conflict(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    first, second = unique_tag(), unique_tag()
    with left.agent() as agent:
        agent.call("wg.create", name=first, listen_port=PORT)
        agent.call("wg.create", name=second, listen_port=PORT + 1)
        with pytest.raises(AgentCallError) as error:
            agent.call("wg.set", name=second, listen_port=PORT)
        port_after = agent.call("wg.get", name=second)["listen_port"]
        agent.call("wg.delete", name=first)
        agent.call("wg.delete", name=second)

    assert error.value.kind == "conflict"
    assert port_after == PORT + 1


def test_failed_set_keeps_private_key(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    first, second = unique_tag(), unique_tag()
    new_key = keys.encode_key(keys.generate_private_key())
    with left.agent() as agent:
        agent.call("wg.create", name=first, listen_port=PORT)
        public_before = agent.call("wg.create", name=second, listen_port=PORT + 1)["public_key"]
        with pytest.raises(AgentCallError) as error:
            agent.call("wg.set", name=second, private_key=new_key, listen_port=PORT)
        public_after = agent.call("wg.get", name=second)["public_key"]
        agent.call("wg.delete", name=first)
        agent.call("wg.delete", name=second)

    assert error.value.kind == "conflict"
    assert public_after == public_before


def test_misplaced_key_not_echoed(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    secret = keys.encode_key(keys.generate_private_key())
    with left.agent() as agent, pytest.raises(AgentCallError) as error:
        agent.call("wg.create", name=unique_tag(), private_key=secret)

    assert error.value.kind == "invalid_params"
    assert "private_key" in error.value.message
    assert secret not in error.value.message


def test_create_existing_name_is_rejected(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    veth = next(name for name in link_names(left) if name.startswith("h3"))
    with left.agent() as agent, pytest.raises(AgentCallError) as error:
        agent.call("wg.create", name=veth)
    assert error.value.kind == "exists"


def test_get_missing_interface_is_not_found(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    veth = next(name for name in link_names(left) if name.startswith("h3"))
    with left.agent() as agent:
        with pytest.raises(AgentCallError) as missing:
            agent.call("wg.get", name="h3absent")
        with pytest.raises(AgentCallError) as other_kind:
            agent.call("wg.get", name=veth)
    assert missing.value.kind == "not_found"
    assert other_kind.value.kind == "not_found"
    assert f"{veth} is a veth interface" in other_kind.value.message


def test_five_hundred_peers_read_back(pair: tuple[Side, Side], tmp_path) -> None:
    left, _ = pair
    name = unique_tag()
    peers = {random_public_key(): f"10.{n // 250}.{n % 250}.0/24" for n in range(500)}
    config = tmp_path / "peers.conf"
    config.write_text(
        "".join(
            f"[Peer]\nPublicKey = {key}\nAllowedIPs = {cidr}\n\n" for key, cidr in peers.items()
        )
    )
    with left.agent() as agent:
        agent.call("wg.create", name=name)
        # wg(8) writes the peers, so the agent's read is checked against an independent writer.
        left.run("wg", "addconf", name, str(config))
        described = agent.call("wg.get", name=name)
        agent.call("wg.delete", name=name)

    read = {peer["public_key"]: peer["allowed_ips"] for peer in described["peers"]}
    assert len(described["peers"]) == 500
    assert read == {key: [cidr] for key, cidr in peers.items()}


def test_kernel_backend_five_hundred_peers(pair: tuple[Side, Side]) -> None:
    if not kernel_has_wireguard():
        with pair[0].agent() as agent, pytest.raises(AgentCallError) as error:
            agent.call("wg.create", name="h3kernel", backend="kernel")
        assert error.value.kind == "unsupported"
        assert "h3kernel" not in link_names(pair[0])
        pytest.skip("kernel has no WireGuard module")
    left, _ = pair
    name = unique_tag()
    with left.agent() as agent:
        created = agent.call("wg.create", name=name, backend="kernel")
        for n in range(500):
            left.run(
                "wg",
                "set",
                name,
                "peer",
                random_public_key(),
                "allowed-ips",
                f"10.{n // 250}.{n % 250}.0/24,fd00:{n:x}::/64",
            )
        described = agent.call("wg.get", name=name)
        dump = wg_dump(left, name)
        agent.call("wg.delete", name=name)

    assert created["backend"] == "kernel"
    assert len(described["peers"]) == 500
    assert {peer["public_key"] for peer in described["peers"]} == {row[0] for row in dump[1:]}
    assert all(len(peer["allowed_ips"]) == 2 for peer in described["peers"])


def test_interfaces_create_wireguard(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    name = unique_tag()
    with left.agent() as agent:
        created = agent.call(
            "interfaces.create", kind="wireguard", name=name, listen_port=PORT, mtu=1380, state="up"
        )["interface"]
        link = json.loads(left.run("ip", "-j", "link", "show", name).stdout)[0]
        with pytest.raises(AgentCallError) as bad_mtu:
            agent.call("interfaces.create", kind="wireguard", name=name + "x", mtu=20)
        agent.call("wg.delete", name=name)

    assert created["kind"] == "wireguard"
    assert created["wireguard"]["listen_port"] == PORT
    assert link["mtu"] == 1380
    assert "UP" in link["flags"]
    assert bad_mtu.value.kind == "invalid_params"
    assert name + "x" not in link_names(left)


def test_interfaces_delete_stops_wireguard_go(pair: tuple[Side, Side]) -> None:
    left, _ = pair
    name = unique_tag()
    with left.agent() as agent:
        agent.call("interfaces.create", kind="wireguard", name=name, listen_port=PORT)
        socket_listing = left.run("ls", "/run/wireguard").stdout.split()
        deleted = agent.call("interfaces.delete", name=name)
        names_after = link_names(left)
        sockets_after = left.run("ls", "/run/wireguard").stdout.split()

    assert f"{name}.sock" in socket_listing
    assert deleted == {"deleted": name}
    assert name not in names_after
    assert f"{name}.sock" not in sockets_after
