"""The lab: real devices in network namespaces, reached over real OpenSSH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mudmap_tui.lab import INNER_DEVICE, Lab, state
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

HOST_PID_NS = os.readlink("/proc/self/ns/pid")


def ssh(lab: Lab, device: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*lab.ssh_argv(device), command], capture_output=True, text=True, timeout=60
    )


def wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def lab_traces(lab_name: str) -> dict[str, list[str]]:
    """Everything a lab could leave behind on the host, by kind."""
    prefix = f"mm{lab_name}"
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True,
                                      text=True).stdout)
    mounts = Path("/proc/mounts").read_text().splitlines()
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    lab_paths_text = (str(lab_paths.data_dir(lab_name)), str(lab_paths.run_dir(lab_name)))
    return {
        "netns": [line for line in netns.splitlines() if line.startswith(f"{prefix}-")],
        "links": [link["ifname"] for link in links if link["ifname"].startswith(prefix)],
        "mounts": [line for line in mounts if any(p in line for p in lab_paths_text)
                   or f"/run/netns/{prefix}-" in line],
        "processes": [line for line in processes.splitlines()
                      if any(p in line for p in lab_paths_text)
                      or f"mudmap_tui.lab.supervisor {lab_name} " in line],
        "files": [p for p in lab_paths_text if os.path.exists(p)],
    }


def test_every_device_answers_openssh_login(lab: Lab) -> None:
    for name in lab.devices:
        result = ssh(lab, name, "hostname")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == name


def test_inner_device_only_through_its_jump_host(lab: Lab) -> None:
    inner = lab.devices[INNER_DEVICE]
    assert inner.jump == "lab1"
    route = json.loads(subprocess.run(["ip", "-j", "route", "get", inner.address],
                                      capture_output=True, text=True).stdout or "[{}]")
    assert route[0].get("dev") != lab.topology.bridge
    result = ssh(lab, INNER_DEVICE, "ip -j addr show dev eth0")
    assert result.returncode == 0, result.stderr
    addresses = {a["local"] for a in json.loads(result.stdout)[0]["addr_info"]}
    assert inner.address in addresses


def test_device_init_is_not_the_hosts_pid_1(lab: Lab) -> None:
    for name in lab.devices:
        init_pid = lab.init_pid(name)
        assert state.pid_namespace_of(init_pid) != HOST_PID_NS
        result = ssh(lab, name, "readlink /proc/1/ns/pid; tr '\\0' ' ' < /proc/1/cmdline")
        namespace, cmdline = result.stdout.splitlines()
        assert namespace != HOST_PID_NS
        assert "init.py" in cmdline


def test_devices_have_private_hostname_and_wireguard_dirs(lab: Lab) -> None:
    lab.run("lab1", ["touch", "/run/wireguard/private-marker", "/etc/wireguard/marker.conf"])
    assert lab.run("lab1", ["ls", "/run/wireguard"]).stdout.split() == ["private-marker"]
    assert "private-marker" not in lab.run("lab2", ["ls", "/run/wireguard"]).stdout
    assert "marker.conf" not in lab.run("lab2", ["ls", "/etc/wireguard"]).stdout
    assert not Path("/etc/wireguard/marker.conf").exists()
    assert lab.run("lab2", ["hostname"]).stdout.strip() == "lab2"
    lab.run("lab1", ["rm", "/run/wireguard/private-marker", "/etc/wireguard/marker.conf"])


def test_devices_have_private_etc(lab: Lab) -> None:
    lab.run("lab2", ["useradd", "--no-create-home", "labonly"])
    try:
        assert "labonly:" in lab.run("lab2", ["cat", "/etc/passwd"]).stdout
        assert "labonly:" not in lab.run("lab1", ["cat", "/etc/passwd"]).stdout
        assert "labonly:" not in Path("/etc/passwd").read_text()
    finally:
        lab.run("lab2", ["userdel", "labonly"])


def test_devices_resolve_names_locally(lab: Lab) -> None:
    resolv = lab.run("lab1", ["cat", "/etc/resolv.conf"]).stdout
    assert "nameserver" not in resolv
    resolved = lab.run("lab1", ["getent", "hosts", "lab1"]).stdout.split()
    assert resolved == ["127.0.1.1", "lab1"]


def test_devices_have_demo_interfaces(lab: Lab) -> None:
    links = {link["ifname"]: link for link in json.loads(lab.run("lab2", ["ip", "-j", "-d",
                                                                         "addr"]).stdout)}
    families = {a["family"] for a in links["svc0"]["addr_info"] if a["scope"] == "global"}
    assert families == {"inet", "inet6"}
    stacked = "eth0.100" if "eth0.100" in links else "mv100"
    assert links[stacked]["link"] == "eth0"


def test_demo_inventory_lists_lab_devices(lab: Lab) -> None:
    db = open_database(lab.inventory_path)
    try:
        devices = {device.name: device for device in DeviceStore(db).list()}
    finally:
        db.close()
    assert set(devices) == set(lab.devices)
    assert devices[INNER_DEVICE].jump == "lab1"
    assert devices["lab1"].host == lab.devices["lab1"].address
    assert devices["lab1"].identity_file == str(lab.client_key)


def test_reboot_inside_device_recreates_it() -> None:
    lab = Lab("tr" + format(os.getpid() % 1296, "x")[:2], 1)
    lab.up()
    try:
        netns_before = state.net_namespace_inode(lab.devices["lab1"].netns)
        init_before = lab.init_pid("lab1")
        mac_before = json.loads(lab.run("lab1", ["ip", "-j", "link", "show", "eth0"]).stdout)
        mac_before = mac_before[0]["address"]
        lab.reboot_from_inside("lab1")
        wait_for(lambda: lab.state("lab1")["state"] == "up"
                 and lab.state("lab1").get("init_pid") != init_before, "lab1 to boot again")
        assert state.net_namespace_inode(lab.devices["lab1"].netns) != netns_before
        links = json.loads(lab.run("lab1", ["ip", "-j", "link"]).stdout)
        # Only the uplink and the link to the inner device survive a reboot, as on hardware
        # where runtime-only interfaces are gone after a restart.
        assert sorted(link["ifname"] for link in links) == ["eth0", "inner0", "lo"]
        eth0 = next(link for link in links if link["ifname"] == "eth0")
        assert eth0["address"] == mac_before
        assert ssh(lab, "lab1", "hostname").stdout.strip() == "lab1"
        assert ssh(lab, INNER_DEVICE, "hostname").stdout.strip() == INNER_DEVICE
    finally:
        lab.down()


def test_power_off_stays_down_until_restart() -> None:
    lab = Lab("tp" + format(os.getpid() % 1296, "x")[:2], 1)
    lab.up()
    try:
        lab.reboot_from_inside("lab1", power_off=True)
        wait_for(lambda: lab.state("lab1")["state"] == "off", "lab1 to power off")
        assert ssh(lab, "lab1", "true").returncode != 0
        lab.restart("lab1")
        assert ssh(lab, "lab1", "hostname").stdout.strip() == "lab1"
    finally:
        lab.down()


def test_up_and_down_twice_leave_nothing_behind() -> None:
    name = "tu" + format(os.getpid() % 1296, "x")[:2]
    empty = {"netns": [], "links": [], "mounts": [], "processes": [], "files": []}
    for _ in range(2):
        lab = Lab(name, 2)
        lab.up()
        traces = lab_traces(name)
        assert len(traces["netns"]) == 3
        assert traces["processes"]
        lab.down()
        assert lab_traces(name) == empty


def test_down_cleans_up_after_crashed_supervisors() -> None:
    name = "tc" + format(os.getpid() % 1296, "x")[:2]
    lab = Lab(name, 1)
    lab.up()
    for device in lab.devices:
        supervisor = lab.state(device)["supervisor_pid"]
        assert isinstance(supervisor, int)
        os.kill(supervisor, 9)
    Lab(name, 1).down()
    assert lab_traces(name) == {"netns": [], "links": [], "mounts": [], "processes": [],
                                "files": []}


def test_down_finds_supervisors_without_state_files() -> None:
    name = "ts" + format(os.getpid() % 1296, "x")[:2]
    lab = Lab(name, 1)
    lab.up()
    # As when another process stopping the same lab removed the files and namespace
    # names mid-way, while the devices kept running.
    shutil.rmtree(lab_paths.run_dir(name))
    for device in lab.devices.values():
        subprocess.run(["ip", "netns", "del", device.netns], check=True)
    Lab(name, 1).down()
    assert lab_traces(name) == {"netns": [], "links": [], "mounts": [], "processes": [],
                                "files": []}
