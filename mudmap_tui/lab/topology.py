"""The lab's shape: device names, namespace and link names, and the address plan."""

from __future__ import annotations

import ipaddress
import re
import zlib
from dataclasses import asdict, dataclass

from mudmap_tui.errors import LabError

LAB_NAME_RE = re.compile(r"^[a-z0-9]{1,4}$")
INNER_DEVICE = "lab-inner"
MAX_SIZE = 200


class InvalidLabSpec(LabError, ValueError):
    """A lab name or size breaks the rules, such as MUDMAP_DEMO_LAB=BAD or ``demo up 0``."""

    exit_status = 2


@dataclass(frozen=True)
class LabDevice:
    """One lab device as planned; its runtime state lives in the supervisor's state file."""

    name: str
    index: int
    netns: str
    # Host side of the uplink veth pair, or None for a device behind another device.
    host_link: str | None
    address: str
    address6: str
    prefixlen: int
    gateway: str
    # The device this one is reachable through, or None when it sits on the lab bridge.
    jump: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Topology:
    """Names and addresses of a lab, all derived from the lab's name and size."""

    lab_name: str
    size: int

    def __post_init__(self) -> None:
        if not LAB_NAME_RE.fullmatch(self.lab_name):
            raise InvalidLabSpec(f"invalid lab name {self.lab_name!r}: use 1 to 4 of a-z and "
                                 "0-9 (the demo lab's name comes from $MUDMAP_DEMO_LAB)")
        if not 1 <= self.size <= MAX_SIZE:
            raise InvalidLabSpec(f"invalid lab size {self.size}: use 1 to {MAX_SIZE} devices")

    @property
    def _octets(self) -> tuple[int, int]:
        # Each lab name maps to its own 10.x.y.0/23, so several labs can run side by side.
        digest = zlib.crc32(self.lab_name.encode())
        return 200 + digest % 50, (digest >> 8) % 127 * 2

    @property
    def uplink_net(self) -> ipaddress.IPv4Network:
        second, third = self._octets
        return ipaddress.IPv4Network(f"10.{second}.{third}.0/24")

    @property
    def inner_net(self) -> ipaddress.IPv4Network:
        second, third = self._octets
        return ipaddress.IPv4Network(f"10.{second}.{third + 1}.0/24")

    @property
    def uplink_net6(self) -> ipaddress.IPv6Network:
        second, third = self._octets
        return ipaddress.IPv6Network(f"fd6d:6d61:{second:02x}{third:02x}::/64")

    @property
    def inner_net6(self) -> ipaddress.IPv6Network:
        second, third = self._octets
        return ipaddress.IPv6Network(f"fd6d:6d61:{second:02x}{third:02x}:1::/64")

    @property
    def prefix(self) -> str:
        return f"mm{self.lab_name}"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def bridge_address(self) -> str:
        return str(self.uplink_net.network_address + 1)

    @property
    def bridge_address6(self) -> str:
        return str(self.uplink_net6.network_address + 1)

    @property
    def inner_link(self) -> str:
        """Name of the first device's link towards the inner device."""
        return "inner0"

    @property
    def inner_gateway(self) -> str:
        return str(self.inner_net.network_address + 1)

    def mac(self, device: LabDevice, port: int = 0) -> str:
        """Return a fixed, locally administered MAC for a device's link.

        A device keeps its MACs across reboots, as hardware does, so that the neighbour
        entries its peers cached stay valid.
        """
        digest = zlib.crc32(self.lab_name.encode())
        octets = (0x02, 0x6D, digest & 0xFF, (digest >> 8) & 0xFF, device.index, port)
        return ":".join(f"{octet:02x}" for octet in octets)

    def netns_name(self, device: str) -> str:
        return f"{self.prefix}-{device}"

    def devices(self) -> list[LabDevice]:
        devices = [self._uplinked(index) for index in range(1, self.size + 1)]
        devices.append(
            LabDevice(
                name=INNER_DEVICE,
                index=0,
                netns=self.netns_name(INNER_DEVICE),
                host_link=None,
                address=str(self.inner_net.network_address + 2),
                address6=str(self.inner_net6.network_address + 2),
                prefixlen=self.inner_net.prefixlen,
                gateway=self.inner_gateway,
                jump="lab1",
            )
        )
        return devices

    def _uplinked(self, index: int) -> LabDevice:
        name = f"lab{index}"
        return LabDevice(
            name=name,
            index=index,
            netns=self.netns_name(name),
            host_link=f"{self.prefix}{index}",
            address=str(self.uplink_net.network_address + 10 + index),
            address6=str(self.uplink_net6.network_address + 10 + index),
            prefixlen=self.uplink_net.prefixlen,
            gateway=self.bridge_address,
        )
