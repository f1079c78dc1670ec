"""One lab device's supervisor: boots the device, watches its init, acts on its end.

Runs detached from the terminal as ``python -m mudmap_tui.lab.supervisor LAB DEVICE``. The
device's init is PID 1 of its own PID namespace, started through ``unshare --fork``, which
ends with the signal that ended the init. A reboot(2) inside the device ends the init with
SIGHUP, so the supervisor recreates the network namespace with only its uplink and boots
the device again; a power-off ends it with SIGINT, and the device stays down until
``mudmap demo restart``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from mudmap_tui.lab import netsetup, state
from mudmap_tui.lab.topology import INNER_DEVICE, LabDevice, Topology

log = logging.getLogger("mudmap.lab.supervisor")

UNSHARE = [
    "unshare", "--pid", "--fork", "--mount", "--uts", "--mount-proc", "--propagation", "private",
]
INIT_PYTHON = "/usr/bin/python3"
BOOT_TIMEOUT = 30.0
INNER_LINK_WAIT = 15.0


class Supervisor:
    def __init__(self, lab_name: str, device_name: str) -> None:
        self.layout = state.LabLayout.load(lab_name)
        self.topology: Topology = self.layout.topology
        self.device: LabDevice = next(
            d for d in self.topology.devices() if d.name == device_name
        )
        self.init: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.reboot_requested = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_reboot_request)
        boots = 0
        while not self.stopping:
            boots += 1
            try:
                self._boot(first=boots == 1)
            except Exception as error:
                log.exception("%s: boot failed", self.device.name)
                netsetup.delete_netns(self.device.netns)
                self._record("crashed", error=str(error))
                return 1
            status = self._wait_init()
            outcome = self._outcome(status)
            log.info("%s: init ended with status %s (%s)", self.device.name, status, outcome)
            netsetup.delete_netns(self.device.netns)
            if outcome != "reboot":
                self._record(outcome)
                return 0
            self._record("rebooting")
        self._record("stopped")
        return 0

    def _on_stop(self, signum: int, frame: object) -> None:
        self.stopping = True
        if self.init is not None and self.init.poll() is None:
            pid = state.init_pid_of(self.init.pid)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)

    def _on_reboot_request(self, signum: int, frame: object) -> None:
        """Restart the device from outside, as a hardware reset button would."""
        if self.init is not None and self.init.poll() is None:
            pid = state.init_pid_of(self.init.pid)
            if pid is not None:
                self.reboot_requested = True
                os.kill(pid, signal.SIGKILL)

    def _boot(self, first: bool) -> None:
        self._record("booting")
        netsetup.fresh_netns(self.device)
        if self.device.host_link is not None:
            netsetup.attach_uplink(self.topology, self.device)
        if self.device.name in ("lab1", INNER_DEVICE):
            self._connect_inner()
        if first and self.layout.demo_interfaces:
            netsetup.add_demo_interfaces(
                self.device, self.layout.kernel_has_dummy, self.layout.kernel_has_vlan
            )
        config = self.layout.write_init_config(self.device)
        console_path = self.layout.device_dir(self.device.name) / "console.log"
        with open(console_path, "ab") as console:
            self.init = self._spawn_init(config, console)
        init_pid = self._find_init_pid()
        if init_pid is None:
            return
        self._record("booting", init_pid=init_pid)
        if self._wait_sshd():
            self._record("up", init_pid=init_pid)

    def _connect_inner(self) -> None:
        """Link lab1 and lab-inner; the inner device waits a while for lab1 to exist.

        Without lab1 (powered off, say) the inner device boots without its uplink, and
        lab1's next boot adds the link.
        """
        deadline = time.monotonic() + INNER_LINK_WAIT
        while not netsetup.connect_inner(self.topology, self.layout.run_dir):
            if self.device.name != INNER_DEVICE or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def _spawn_init(self, config: Path, console: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.device.netns}", "--", *UNSHARE, "--",
             INIT_PYTHON, "-I", str(self.layout.init_script), str(config)],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=console,
            cwd="/",
        )

    def _find_init_pid(self) -> int | None:
        assert self.init is not None
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline and self.init.poll() is None:
            pid = state.init_pid_of(self.init.pid)
            if pid is not None:
                return pid
            time.sleep(0.02)
        return None

    def _wait_sshd(self) -> bool:
        assert self.init is not None
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline and self.init.poll() is None:
            if state.sshd_listening(self.device.netns):
                return True
            time.sleep(0.05)
        return False

    def _wait_init(self) -> int:
        assert self.init is not None
        while True:
            try:
                return self.init.wait()
            except InterruptedError:
                continue

    def _outcome(self, status: int) -> str:
        if self.stopping:
            return "stopped"
        if self.reboot_requested:
            self.reboot_requested = False
            return "reboot"
        if status == -signal.SIGHUP:
            return "reboot"
        if status == -signal.SIGINT:
            return "off"
        return "crashed"

    def _record(self, device_state: str, init_pid: int | None = None, **extra: object) -> None:
        state.write_device_state(
            self.layout.run_dir, self.device.name, device_state, init_pid=init_pid,
            supervisor_pid=os.getpid(), **extra,
        )


def main(argv: list[str]) -> int:
    lab_name, device_name = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return Supervisor(lab_name, device_name).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

