"""The lab's files on the host: its layout, each device's state, and process lookups."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mudmap_tui.lab import paths
from mudmap_tui.lab.topology import LabDevice, Topology

INIT_SOURCE = Path(__file__).with_name("init.py")

# Persisted per device, bind-mounted over the host's directory inside the device.
PERSISTED_DIRS = {
    "/root": "root",
    "/var/cache/mudmap": "var-cache-mudmap",
    # The agent's records of guarded changes, which must outlive a reboot of the device.
    "/var/lib/mudmap": "var-lib-mudmap",
}
# Persisted per device as an overlay on the host's directory, so that the device starts
# with the host's /etc (users, sudo, ifupdown) and keeps its own changes, such as
# /etc/wireguard, /etc/network and /etc/shadow, to itself.
OVERLAY_DIRS = {"/etc": "etc"}


def write_json_atomically(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class LabLayout:
    """The parts of a running lab, saved in its run directory so that ``down`` can undo it."""

    lab_name: str
    size: int
    host_pid_ns: str
    demo_interfaces: bool = True
    kernel_has_dummy: bool = False
    kernel_has_vlan: bool = False

    @property
    def topology(self) -> Topology:
        return Topology(self.lab_name, self.size)

    @property
    def run_dir(self) -> Path:
        return paths.run_dir(self.lab_name)

    @property
    def data_dir(self) -> Path:
        return paths.data_dir(self.lab_name)

    @property
    def init_script(self) -> Path:
        return self.data_dir / "init.py"

    @property
    def client_key(self) -> Path:
        return self.data_dir / "client" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return paths.lab_known_hosts(self.lab_name)

    @property
    def ssh_config(self) -> Path:
        return self.data_dir / "client" / "ssh_config"

    def device_dir(self, name: str) -> Path:
        return self.data_dir / "devices" / name

    def sshd_config(self, name: str) -> Path:
        return self.device_dir(name) / "ssh" / "sshd_config"

    def save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_json_atomically(self.run_dir / "layout.json", self.__dict__)
        shutil.copyfile(INIT_SOURCE, self.init_script)

    @classmethod
    def load(cls, lab_name: str) -> LabLayout:
        with open(paths.run_dir(lab_name) / "layout.json") as handle:
            return cls(**json.load(handle))

    def write_init_config(self, device: LabDevice) -> Path:
        disk = self.device_dir(device.name) / "disk"
        config = {
            "hostname": device.name,
            "host_pid_ns": self.host_pid_ns,
            "binds": {target: str(disk / name) for target, name in PERSISTED_DIRS.items()},
            "overlays": {
                target: {"upper": str(disk / f"{name}-upper"), "work": str(disk / f"{name}-work")}
                for target, name in OVERLAY_DIRS.items()
            },
            "sshd_config": str(self.sshd_config(device.name)),
            "sshd_log": str(self.device_dir(device.name) / "sshd.log"),
        }
        path = self.device_dir(device.name) / "init.json"
        write_json_atomically(path, config)
        return path


def write_device_state(run_dir: Path, device: str, device_state: str, **extra: object) -> None:
    record = {"state": device_state, "since": time.time(), **extra}
    write_json_atomically(run_dir / f"{device}.state.json", record)


def read_device_state(run_dir: Path, device: str) -> dict[str, object]:
    try:
        with open(run_dir / f"{device}.state.json") as handle:
            record: dict[str, object] = json.load(handle)
    except FileNotFoundError:
        return {"state": "absent"}
    supervisor = record.get("supervisor_pid")
    if record.get("state") in ("booting", "up", "rebooting") and not (
        isinstance(supervisor, int) and pid_alive(supervisor)
    ):
        record["state"] = "lost"
    return record


def pid_alive(pid: int) -> bool:
    """Tell whether ``pid`` runs; a zombie counts as gone and is reaped if it is our child."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses and may hold spaces.
    if stat.rpartition(")")[2].split()[0] != "Z":
        return True
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return False


def init_pid_of(unshare_pid: int) -> int | None:
    """Return the host PID of the init that ``unshare --fork`` (pid given) started."""
    try:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def sshd_listening(netns: str) -> bool:
    result = subprocess.run(
        ["nsenter", f"--net=/run/netns/{netns}", "--", "ss", "-Hltn", "sport = :22"],
        capture_output=True,
        text=True,
    )
    return result.returncode == 0 and bool(result.stdout.strip())


# Run inside a device's network namespace: exit 0 when a TCP connect to argv[1]:argv[2]
# succeeds within 2 seconds. A dead sshd refuses at once; the timeout covers a hung one.
_CONNECT_PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()\n"
    "except OSError:\n"
    "    sys.exit(1)\n"
)


def sshd_accepts(netns: str, address: str, port: int = 22) -> bool:
    """Tell whether a TCP connect to ``address``:``port`` succeeds inside the device.

    The connect runs in the device's own network namespace, so it also works for a device
    behind another one, which the host cannot reach.
    """
    result = subprocess.run(
        ["nsenter", f"--net=/run/netns/{netns}", "--", sys.executable, "-c", _CONNECT_PROBE,
         address, str(port)],
        capture_output=True,
    )
    return result.returncode == 0


def host_pid_namespace() -> str:
    return os.readlink("/proc/self/ns/pid")


def pid_namespace_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def net_namespace_inode(netns: str) -> int | None:
    try:
        return os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return None


def pids_in_net_namespaces(inodes: set[int]) -> list[int]:
    """Return the host PIDs of processes whose network namespace is one of ``inodes``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            target = os.readlink(entry / "ns" / "net")
        except OSError:
            continue
        if target.startswith("net:[") and int(target[5:-1]) in inodes:
            found.append(int(entry.name))
    return found
