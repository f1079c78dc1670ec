"""WireGuard interfaces through the kernel module or wireguard-go, and the ``wg.*`` methods.

``create`` and ``describe`` are the entry points that ``agent.links`` uses for
``interfaces.create kind=wireguard`` and for reading WireGuard links. ``delete`` also
stops wireguard-go where it serves the interface.
"""

from __future__ import annotations

from agent.wireguard.device import delete, describe, userspace_names
from agent.wireguard.methods import DEADLINES
from agent.wireguard.methods import create as create

__all__ = ["DEADLINES", "create", "delete", "describe", "userspace_names"]
