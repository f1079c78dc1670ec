"""Mudmap device agent: JSON-RPC 2.0 over stdin and stdout, netlink through pyroute2.

Runs on the device's own python3 (3.9 or newer) with the standard library and the bundled
pyroute2 only, so no module here may use syntax or library calls newer than Python 3.9.
"""

AGENT_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
