"""Checks that the host can run a lab, with the Debian packages that fix each gap."""

from __future__ import annotations

import os
import shutil
import sys

from mudmap_tui.errors import LabError

# Each tool the lab runs, with the Debian package that provides it.
REQUIRED_TOOLS = {
    "ip": "iproute2",
    "ss": "iproute2",
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "wireguard-go": "wireguard-go",
    "wg": "wireguard-tools",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "mount": "mount",
    "pkill": "procps",
}
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def missing_packages() -> list[str]:
    """Return the Debian packages whose tools are not installed, in a stable order."""
    packages: list[str] = []
    for tool, package in REQUIRED_TOOLS.items():
        if shutil.which(tool, path=SEARCH_PATH) is None and package not in packages:
            packages.append(package)
    if not os.path.exists("/usr/bin/python3") and "python3" not in packages:
        packages.append("python3")
    return packages


def require_lab_support() -> None:
    """Raise LabError naming the fix unless this host can run the lab."""
    if not sys.platform.startswith("linux"):
        raise LabError("the lab needs Linux network namespaces; this system is " + sys.platform)
    if os.geteuid() != 0:
        raise LabError(
            "the lab creates network namespaces and must run as root; try: sudo mudmap demo up"
        )
    missing = missing_packages()
    if missing:
        raise LabError(
            "the lab needs tools that are not installed; on Debian run: "
            "apt-get install " + " ".join(missing)
        )
