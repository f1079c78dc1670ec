"""Host-side network plumbing of the lab, done with iproute2's ``ip``."""

from __future__ import annotations

import fcntl
import json
import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mudmap_tui.errors import LabError
from mudmap_tui.lab.topology import INNER_DEVICE, LabDevice, Topology

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["ip", *args]
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def link_exists(name: str, netns: str | None = None) -> bool:
    prefix = ["-n", netns] if netns else []
    return ip(*prefix, "link", "show", "dev", name, check=False).returncode == 0


def netns_exists(netns: str) -> bool:
    return (NETNS_DIR / netns).exists()


def list_netns(prefix: str) -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(path.name for path in NETNS_DIR.iterdir() if path.name.startswith(prefix))


def list_host_links(prefix: str) -> list[str]:
    result = ip("-j", "link", "show", check=False)
    if result.returncode != 0:
        return []
    links = json.loads(result.stdout or "[]")
    return [link["ifname"] for link in links if link["ifname"].startswith(prefix)]


def create_bridge(topology: Topology) -> None:
    """Create the host bridge with the host's address on the lab's uplink network."""
    if not link_exists(topology.bridge):
        ip("link", "add", topology.bridge, "type", "bridge")
    prefix4 = topology.uplink_net.prefixlen
    prefix6 = topology.uplink_net6.prefixlen
    ip("addr", "replace", f"{topology.bridge_address}/{prefix4}", "dev", topology.bridge)
    ip("addr", "replace", f"{topology.bridge_address6}/{prefix6}", "dev", topology.bridge,
       "nodad")
    ip("link", "set", topology.bridge, "up")


def delete_link(name: str) -> None:
    ip("link", "del", name, check=False)


def delete_netns(netns: str) -> None:
    if netns_exists(netns):
        ip("netns", "del", netns, check=False)


def fresh_netns(device: LabDevice) -> None:
    """Create the device's network namespace anew, with only loopback up."""
    delete_netns(device.netns)
    ip("netns", "add", device.netns)
    ip("-n", device.netns, "link", "set", "lo", "up")


def attach_uplink(topology: Topology, device: LabDevice) -> None:
    """Join the device to the host bridge with a veth pair whose device end is ``eth0``."""
    assert device.host_link is not None
    delete_link(device.host_link)
    ip("link", "add", device.host_link, "type", "veth", "peer", "name", "eth0",
       "address", topology.mac(device), "netns", device.netns)
    ip("link", "set", device.host_link, "master", topology.bridge, "up")
    # A device that was powered off long enough may have left a FAILED entry behind.
    for address in (device.address, device.address6):
        ip("neigh", "flush", "to", address, "dev", topology.bridge, check=False)
    configure_eth0(topology, device, prefix6=topology.uplink_net6.prefixlen)


def configure_eth0(topology: Topology, device: LabDevice, prefix6: int) -> None:
    ns = device.netns
    ip("-n", ns, "addr", "add", f"{device.address}/{device.prefixlen}", "dev", "eth0")
    ip("-n", ns, "addr", "add", f"{device.address6}/{prefix6}", "dev", "eth0", "nodad")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "route", "add", "default", "via", device.gateway)


@contextmanager
def inner_link_lock(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "inner-link.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def connect_inner(topology: Topology, run_dir: Path) -> bool:
    """Link the first device to the inner device when both namespaces exist.

    Both devices' supervisors call this after each boot, because either namespace may be
    recreated on its own. Returns whether the link is in place.
    """
    outer = topology.netns_name("lab1")
    inner = next(d for d in topology.devices() if d.name == INNER_DEVICE)
    with inner_link_lock(run_dir):
        if not (netns_exists(outer) and netns_exists(inner.netns)):
            return False
        if link_exists(topology.inner_link, outer):
            return True
        # The kernel destroys a deleted namespace's links asynchronously, so the inner end
        # of the old pair may still exist for a moment after lab1's namespace is gone.
        if link_exists("eth0", inner.netns):
            ip("-n", inner.netns, "link", "del", "eth0", check=False)
        outer_device = next(d for d in topology.devices() if d.name == "lab1")
        ip("-n", outer, "link", "add", topology.inner_link, "address",
           topology.mac(outer_device, port=1), "type", "veth", "peer", "name", "eth0",
           "address", topology.mac(inner), "netns", inner.netns)
        gateway = f"{topology.inner_gateway}/{topology.inner_net.prefixlen}"
        gateway6 = f"{topology.inner_net6.network_address + 1}/{topology.inner_net6.prefixlen}"
        ip("-n", outer, "addr", "add", gateway, "dev", topology.inner_link)
        ip("-n", outer, "addr", "add", gateway6, "dev", topology.inner_link, "nodad")
        ip("-n", outer, "link", "set", topology.inner_link, "up")
        configure_eth0(topology, inner, prefix6=topology.inner_net6.prefixlen)
        return True


def kernel_supports(kind: str) -> bool:
    """Probe whether the running kernel can create links of ``kind``."""
    probe = "mmprobe-kind"
    ip("netns", "add", probe, check=False)
    try:
        extra = ["type", "vlan", "id", "2"] if kind == "vlan" else ["type", kind]
        if kind == "vlan":
            ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1",
               check=False)
            args = ["-n", probe, "link", "add", "link", "p0", "name", "probe0", *extra]
        else:
            args = ["-n", probe, "link", "add", "probe0", *extra]
        return ip(*args, check=False).returncode == 0
    finally:
        ip("netns", "del", probe, check=False)


def add_demo_interfaces(device: LabDevice, has_dummy: bool, has_vlan: bool) -> None:
    """Give a device interfaces worth looking at: a service address link and a VLAN.

    Kernels built without the dummy or 8021q drivers get a port-less bridge and a macvlan
    instead, so the demo still shows a stacked link and a link with IPv4 and IPv6 addresses.
    """
    ns = device.netns
    if has_dummy:
        ip("-n", ns, "link", "add", "svc0", "type", "dummy")
    else:
        ip("-n", ns, "link", "add", "svc0", "type", "bridge")
    index = device.index or 250
    ip("-n", ns, "addr", "add", f"198.51.100.{index}/32", "dev", "svc0")
    ip("-n", ns, "addr", "add", f"2001:db8:100::{index:x}/128", "dev", "svc0", "nodad")
    ip("-n", ns, "link", "set", "svc0", "up")
    if not link_exists("eth0", ns):
        return
    if has_vlan:
        ip("-n", ns, "link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan", "id",
           "100")
        stacked = "eth0.100"
    else:
        ip("-n", ns, "link", "add", "mv100", "link", "eth0", "type", "macvlan", "mode",
           "bridge")
        stacked = "mv100"
    ip("-n", ns, "addr", "add", f"172.30.100.{index}/24", "dev", stacked)
    ip("-n", ns, "link", "set", stacked, "up")
