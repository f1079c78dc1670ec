"""Start, stop, inspect and enter a lab of real Linux devices on one machine."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mudmap_tui.errors import LabError
from mudmap_tui.lab import checks, keys, netsetup, paths, state
from mudmap_tui.lab.topology import INNER_DEVICE, LabDevice, Topology

log = logging.getLogger(__name__)

DEVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
UP_TIMEOUT = 60.0

# reboot(2) commands from <linux/reboot.h>. In a child PID namespace the kernel turns them
# into the end of that namespace's init: SIGHUP for RESTART, SIGINT for POWER_OFF.
GUARDED_REBOOT = """
import ctypes, os, sys
command, host_namespace = sys.argv[1], sys.argv[2]
if os.readlink('/proc/self/ns/pid') == host_namespace:
    sys.exit('refusing: this process is in the host PID namespace')
code = {'reboot': 0x01234567, 'poweroff': 0x4321FEDC}[command]
libc = ctypes.CDLL(None, use_errno=True)
libc.sync()
libc.reboot(code)
sys.exit('reboot(2) failed with errno %d' % ctypes.get_errno())
"""
STOP_TIMEOUT = 15.0


class Lab:
    """A lab of ``size`` devices on the lab bridge plus one device behind the first.

    Several labs with different names run side by side: each name has its own namespaces,
    links, addresses and directories.
    """

    def __init__(self, name: str = paths.DEMO_LAB_NAME, size: int = 3,
                 demo_interfaces: bool = True) -> None:
        self.topology = Topology(name, size)
        self.name = name
        self.size = size
        self.demo_interfaces = demo_interfaces
        self.layout = state.LabLayout(
            lab_name=name, size=size, host_pid_ns=state.host_pid_namespace(),
            demo_interfaces=demo_interfaces,
        )

    # -- what the lab is made of

    @property
    def devices(self) -> dict[str, LabDevice]:
        return {device.name: device for device in self.topology.devices()}

    @property
    def ssh_config(self) -> Path:
        return self.layout.ssh_config

    @property
    def client_key(self) -> Path:
        return self.layout.client_key

    @property
    def known_hosts(self) -> Path:
        return self.layout.known_hosts

    @property
    def inventory_path(self) -> Path:
        return paths.inventory_path(self.name)

    def ssh_argv(self, device: str) -> list[str]:
        """Return the OpenSSH command prefix that logs into ``device`` as root."""
        return ["ssh", "-F", str(self.ssh_config), device]

    # -- lifecycle

    def up(self) -> None:
        """Start every device and wait until each one's sshd accepts connections; idempotent."""
        checks.require_lab_support()
        if self._all_up():
            return
        self.down()
        self._check_addresses_free()
        self.layout.kernel_has_dummy = netsetup.kernel_supports("dummy")
        self.layout.kernel_has_vlan = netsetup.kernel_supports("vlan")
        self.layout.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.layout.save()
        keys.write_client_files(self.layout, self.topology)
        netsetup.create_bridge(self.topology)
        for device in self.topology.devices():
            self._start_supervisor(device.name)
        for device in self.topology.devices():
            self._wait_state(device.name, "up")
            self.check_isolated(device.name)
        self._write_inventory()

    def down(self) -> None:
        """Remove every namespace, link, process and file of this lab, even after a crash."""
        run_dir = paths.run_dir(self.name)
        prefix = self.topology.prefix
        supervisors = _supervisor_pids(run_dir)
        for pid in supervisors:
            _signal(pid, signal.SIGTERM)
        _wait_gone(supervisors, STOP_TIMEOUT)
        namespaces = netsetup.list_netns(f"{prefix}-")
        inodes = {inode for ns in namespaces if (inode := state.net_namespace_inode(ns))}
        for pid in [*supervisors, *state.pids_in_net_namespaces(inodes)]:
            _signal(pid, signal.SIGKILL)
        for netns in namespaces:
            netsetup.delete_netns(netns)
        for link in netsetup.list_host_links(prefix):
            netsetup.delete_link(link)
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(paths.data_dir(self.name), ignore_errors=True)

    def restart(self, device: str) -> None:
        """Reboot a running device, or power on one that is off; wait until it is up."""
        self._require_device(device)
        record = self.state(device)
        supervisor = record.get("supervisor_pid")
        requested = time.time()
        if record["state"] in ("up", "booting") and isinstance(supervisor, int):
            _signal(supervisor, signal.SIGUSR1)
        else:
            self._start_supervisor(device)
        self._wait_state(device, "up", since=requested)

    def state(self, device: str) -> dict[str, object]:
        return state.read_device_state(paths.run_dir(self.name), device)

    def status(self) -> dict[str, dict[str, object]]:
        return {name: self.state(name) for name in self.devices}

    # -- inside a device

    def init_pid(self, device: str) -> int:
        record = self.state(device)
        pid = record.get("init_pid")
        if record["state"] != "up" or not isinstance(pid, int):
            raise LabError(f"lab device {device} is not up (state: {record['state']})")
        return pid

    def check_isolated(self, device: str) -> None:
        """Raise unless the device's init runs in a PID namespace other than the host's.

        A reboot or power-off inside a device is only safe under this condition: in the
        host's PID namespace it would restart the whole machine.
        """
        pid = self.init_pid(device)
        namespace = state.pid_namespace_of(pid)
        if namespace is None or namespace == state.host_pid_namespace():
            raise LabError(f"lab device {device} shares the host's PID namespace; refusing")

    def run(self, device: str, argv: Sequence[str], input: str | bytes | None = None,
            check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the device's network, mount, UTS and PID namespaces."""
        command = ["nsenter", "-t", str(self.init_pid(device)), "-n", "-m", "-u", "-p",
                   "--wd=/", "--", *argv]
        env = {"PATH": DEVICE_PATH, "HOME": "/root", "LANG": "C.UTF-8",
               "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1"}
        text_input = input.decode() if isinstance(input, bytes) else input
        result = subprocess.run(command, input=text_input, capture_output=True, text=True,
                                env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise LabError(
                f"{' '.join(argv)} failed on lab device {device} with status "
                f"{result.returncode}: {result.stderr.strip()}"
            )
        return result

    def reboot_from_inside(self, device: str, power_off: bool = False) -> None:
        """Call reboot(2) from a process inside the device, as ``reboot`` there would.

        The calling process checks its own PID namespace against the host's first, so the
        call can only ever end the device's init, never restart the machine.
        """
        self.check_isolated(device)
        command = "poweroff" if power_off else "reboot"
        result = self.run(device, ["/usr/bin/python3", "-I", "-c", GUARDED_REBOOT, command,
                                   state.host_pid_namespace()], check=False)
        # On success the kernel kills every process of the device, this one included, so
        # nsenter exits 0 or by that signal. The script itself only ever exits with 1.
        if result.returncode > 0 and result.returncode != 128 + signal.SIGKILL:
            raise LabError(
                f"{command} inside lab device {device} failed with status "
                f"{result.returncode}: {result.stderr.strip()}"
            )

    def stop_sshd(self, device: str) -> None:
        self.run(device, ["pkill", "-x", "sshd"], check=False)

    def start_sshd(self, device: str) -> None:
        """Start sshd again after :meth:`stop_sshd`; the device's init adopts it."""
        self.run(device, ["/usr/sbin/sshd", "-f", str(self.layout.sshd_config(device))])
        netns = self.devices[device].netns
        deadline = time.monotonic() + UP_TIMEOUT
        while not state.sshd_listening(netns):
            if time.monotonic() > deadline:
                raise LabError(f"sshd on lab device {device} did not start listening")
            time.sleep(0.05)

    # -- helpers

    def _all_up(self) -> bool:
        try:
            layout = state.LabLayout.load(self.name)
        except (OSError, ValueError, TypeError):
            return False
        return layout.size == self.size and all(
            self.state(name)["state"] == "up" for name in self.devices
        )

    def _check_addresses_free(self) -> None:
        routes = json.loads(netsetup.ip("-j", "route", "show").stdout or "[]")
        ours = {str(self.topology.uplink_net), str(self.topology.inner_net)}
        for route in routes:
            if route.get("dst") in ours:
                raise LabError(
                    f"the lab network {route['dst']} is already routed via "
                    f"{route.get('dev')}; run 'mudmap demo down' or choose another lab name"
                )

    def _start_supervisor(self, device: str) -> None:
        log_path = self.layout.device_dir(device) / "supervisor.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            subprocess.Popen(
                [sys.executable, "-m", "mudmap_tui.lab.supervisor", self.name, device],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                start_new_session=True, cwd="/",
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            )

    def _wait_state(self, device: str, wanted: str, since: float = 0.0) -> None:
        deadline = time.monotonic() + UP_TIMEOUT
        while time.monotonic() < deadline:
            record = self.state(device)
            recorded_at = record.get("since")
            current = isinstance(recorded_at, float) and recorded_at >= since
            if current and record["state"] == wanted:
                return
            if current and record["state"] in ("crashed", "lost", "off"):
                break
            time.sleep(0.05)
        console = self.layout.device_dir(device) / "console.log"
        tail = console.read_text(errors="replace")[-2000:] if console.exists() else ""
        now = self.state(device)["state"]
        raise LabError(
            f"lab device {device} did not reach state {wanted!r} (now {now!r}); "
            f"console log {console}:\n{tail}"
        )

    def _require_device(self, device: str) -> None:
        if device not in self.devices:
            names = ", ".join(self.devices)
            raise LabError(f"no lab device named {device!r}; the lab has {names}")

    def _write_inventory(self) -> None:
        from mudmap_tui.lab.inventory import write_lab_inventory

        write_lab_inventory(self)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _supervisor_pids(run_dir: Path) -> list[int]:
    """Return the live supervisors of the lab whose run directory is ``run_dir``.

    Besides the PIDs in the state files, the process table is searched, because a
    supervisor can outlive its state file, as when two processes raced to start and stop
    the same lab.
    """
    lab_name = run_dir.name
    pids = set()
    for path in sorted(run_dir.glob("*.state.json")) if run_dir.is_dir() else []:
        record = state.read_device_state(run_dir, path.name.removesuffix(".state.json"))
        pid = record.get("supervisor_pid")
        if isinstance(pid, int) and _is_supervisor(pid, lab_name):
            pids.add(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_supervisor(int(entry.name), lab_name):
            pids.add(int(entry.name))
    return sorted(pids)


def _is_supervisor(pid: int, lab_name: str) -> bool:
    """Check the command line too, because a recorded PID may belong to a new process."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return False
    # The command line is: python -m mudmap_tui.lab.supervisor LAB DEVICE.
    return b"mudmap_tui.lab.supervisor" in argv and argv[-2:-1] == [lab_name.encode()]


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(state.pid_alive(pid) for pid in pids):
        time.sleep(0.05)


__all__ = ["INNER_DEVICE", "Lab", "LabDevice"]
