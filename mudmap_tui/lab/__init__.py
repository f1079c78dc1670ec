"""A lab of real Linux devices on one machine: network namespaces running OpenSSH sshd."""

from mudmap_tui.lab.lab import Lab
from mudmap_tui.lab.topology import INNER_DEVICE, LabDevice, Topology

__all__ = ["INNER_DEVICE", "Lab", "LabDevice", "Topology"]
