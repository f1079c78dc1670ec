"""Run the real ``mudmap`` command against lab devices, with a private inventory and data dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mudmap_tui.lab import Lab
from mudmap_tui.store.db import open_database
from mudmap_tui.store.devices import DeviceStore
from mudmap_tui.store.models import Device

MUDMAP = str(Path(sys.executable).with_name("mudmap"))


class LabCli:
    """``mudmap`` with its own inventory of the lab's devices, known_hosts and data dir."""

    def __init__(self, lab: Lab, root: Path) -> None:
        self.lab = lab
        self.root = root
        self.db_path = root / "inventory.db"
        self.data_home = root / "data"
        self.data_dir = self.data_home / "mudmap"
        self.data_dir.mkdir(parents=True, mode=0o700)
        # The lab's host keys, so no test needs --accept-new.
        shutil.copy(lab.known_hosts, self.data_dir / "known_hosts")
        db = open_database(self.db_path)
        try:
            store = DeviceStore(db)
            for device in sorted(lab.devices.values(), key=lambda d: d.jump is not None):
                store.add(Device(name=device.name, host=device.address, user="root",
                                 identity_file=str(lab.client_key), jump=device.jump))
        finally:
            db.close()

    @property
    def env(self) -> dict[str, str]:
        # MUDMAP_KNOWN_HOSTS is set explicitly because an in-process `mudmap --demo` in
        # another test sets it in this process's environment.
        return {**os.environ, "MUDMAP_DB": str(self.db_path),
                "XDG_DATA_HOME": str(self.data_home),
                "MUDMAP_KNOWN_HOSTS": str(self.data_dir / "known_hosts")}

    def run(self, *args: str, input: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        # An empty stdin rather than the inherited one, so no command ever finds a terminal.
        return subprocess.run([MUDMAP, *args], capture_output=True, text=True,
                              input="" if input is None else input,
                              env=self.env, timeout=timeout, cwd=str(self.root))

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run and require exit status 0; return stdout."""
        result = self.run(*args, input=input)
        assert result.returncode == 0, f"mudmap {' '.join(args)}: {result.stderr}{result.stdout}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def audit(self, device: str | None = None) -> list[dict[str, Any]]:
        args = ["audit", "--limit", "500", "--json"]
        if device:
            args += ["--device", device]
        return json.loads(self.ok(*args))

    def database_bytes(self) -> bytes:
        """Return the bytes of the inventory file and its WAL and shared-memory files."""
        files = sorted(self.root.glob(self.db_path.name + "*"))
        return b"".join(path.read_bytes() for path in files)

    def device(self, name: str) -> Device:
        db = open_database(self.db_path)
        try:
            return DeviceStore(db).get(name)
        finally:
            db.close()


def add_hosts_entry(lab: Lab, device: str) -> None:
    """Name the device in its own /etc/hosts, so sudo there needs no DNS lookup."""
    lab.run(device, ["sh", "-c", f"grep -qw {device} /etc/hosts || "
                     f"echo '127.0.1.1 {device}' >> /etc/hosts"])


def device_links(lab: Lab, device: str) -> dict[str, dict[str, Any]]:
    """Return the device's links as ``ip -j link`` reports them, by name."""
    links = json.loads(lab.run(device, ["ip", "-d", "-j", "link", "show"]).stdout)
    return {link["ifname"]: link for link in links}
