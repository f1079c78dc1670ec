"""Lazy access to pyroute2, so that methods which never write through it start fast.

``import pyroute2`` takes about 85 ms on a device (its ``__init__`` imports ndb, ipdb,
conntrack and more), which is most of an agent start. ``hello``, ``facts`` and
``interfaces.list`` do not need it, so modules import pyroute2 through this module, and
only when a method calls :func:`ip_route` or :func:`wireguard` is it loaded.

``netlink.NetlinkError`` (PEP 562 module attribute) is pyroute2's class once pyroute2 is
loaded. Before that it is :class:`NetlinkNotLoaded`, which nothing raises, because no
pyroute2 error can exist before pyroute2 is imported. Look it up at the ``except`` clause
(``except netlink.NetlinkError``), never with ``from agent.netlink import NetlinkError``,
which would keep the placeholder.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Type

if TYPE_CHECKING:
    from pyroute2 import IPRoute, WireGuard

_EXCEPTIONS_MODULE = "pyroute2.netlink.exceptions"


class NetlinkNotLoaded(Exception):
    """Placeholder for pyroute2's NetlinkError before pyroute2 is imported.

    No code raises it, so an ``except`` clause naming it matches nothing.
    """


def ip_route() -> IPRoute:
    """Open an rtnetlink socket (pyroute2 ``IPRoute``), importing pyroute2 on first use."""
    from pyroute2 import IPRoute

    return IPRoute()


def wireguard() -> WireGuard:
    """Open a WireGuard generic netlink socket (pyroute2 ``WireGuard``)."""
    from pyroute2 import WireGuard

    return WireGuard()


def netlink_error_class() -> Type[Exception]:
    """Return pyroute2's NetlinkError, importing pyroute2; for code that raises one itself."""
    from pyroute2.netlink.exceptions import NetlinkError

    return NetlinkError


def __getattr__(name: str) -> Any:
    if name == "NetlinkError":
        module = sys.modules.get(_EXCEPTIONS_MODULE)
        # A module still being imported by another thread may lack the class yet.
        return getattr(module, "NetlinkError", NetlinkNotLoaded)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
