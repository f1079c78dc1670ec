"""The userspace WireGuard backend: wireguard-go and its UAPI socket.

The cross-platform UAPI is a line protocol over a UNIX socket: ``get=1`` returns
``key=value`` lines, ``set=1`` applies them, and both end with ``errno=N`` and an empty
line. Keys travel as lowercase hex. A ``set`` is not transactional: lines before an error
stay applied, so callers validate everything before sending, and every operation here
opens its own connection so that nothing half-read survives an error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import stat
import subprocess
import time
from typing import List, Optional, Tuple

from agent.errors import AgentError
from agent.wireguard.model import (
    ZERO_KEY,
    Device,
    DeviceChange,
    Endpoint,
    Peer,
    PeerChange,
    format_endpoint,
)

# wireguard-go and wg(8) both use /var/run/wireguard, which is /run/wireguard on systems
# where /var/run links to /run.
SOCKET_DIR = "/var/run/wireguard"
WIREGUARD_GO = "wireguard-go"
IO_TIMEOUT = 10.0
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class ProtocolError(Exception):
    """A UAPI response that does not follow the protocol."""


def socket_path(name: str) -> str:
    return os.path.join(SOCKET_DIR, name + ".sock")


def exists(name: str) -> bool:
    path = socket_path(name)
    try:
        return os.path.exists(path) and _is_socket(path)
    except OSError:
        return False


def _is_socket(path: str) -> bool:
    return stat.S_ISSOCK(os.stat(path).st_mode)


# Parsing and formatting: pure functions, tested without a socket.


def parse_get(text: str) -> Device:
    """Parse the body of a ``get=1`` response (without its ``errno`` line)."""
    device = Device()
    peer: Optional[Peer] = None
    for line in text.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ProtocolError("UAPI line without '=': %r" % line)
        if key == "public_key":
            peer = Peer(public_key=_parse_hex_key(value))
            device.peers.append(peer)
        elif peer is None:
            _apply_device_line(device, key, value)
        else:
            _apply_peer_line(peer, key, value)
    return device


def _apply_device_line(device: Device, key: str, value: str) -> None:
    if key == "private_key":
        private = _parse_hex_key(value)
        device.private_key = None if private == ZERO_KEY else private
    elif key == "listen_port":
        device.listen_port = int(value)
    elif key == "fwmark":
        device.fwmark = int(value)
    # Unknown device keys are ignored so that newer wireguard-go releases stay readable.


def _apply_peer_line(peer: Peer, key: str, value: str) -> None:
    if key == "preshared_key":
        key_bytes = _parse_hex_key(value)
        peer.preshared_key_set = key_bytes != ZERO_KEY
        peer.preshared_key = key_bytes if peer.preshared_key_set else None
    elif key == "endpoint":
        peer.endpoint = parse_endpoint(value)
    elif key == "persistent_keepalive_interval":
        peer.persistent_keepalive = int(value)
    elif key == "allowed_ip":
        peer.allowed_ips.append(value)
    elif key == "last_handshake_time_sec":
        peer.last_handshake_sec = int(value)
    elif key == "last_handshake_time_nsec":
        peer.last_handshake_nsec = int(value)
    elif key == "rx_bytes":
        peer.rx_bytes = int(value)
    elif key == "tx_bytes":
        peer.tx_bytes = int(value)


def _parse_hex_key(value: str) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != 32:
        raise ProtocolError("UAPI key of %d bytes, expected 32" % len(raw))
    return raw


def parse_endpoint(value: str) -> Endpoint:
    """Parse ``1.2.3.4:51820`` or ``[fd00::1]:51820`` into (address, port)."""
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
        if not sep:
            raise ProtocolError("UAPI endpoint without ']:': %r" % value)
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            raise ProtocolError("UAPI endpoint without a port: %r" % value)
    return host, int(port)


def format_set(change: DeviceChange) -> str:
    """Format a ``set=1`` request, including the empty line that ends it."""
    lines = ["set=1"]
    if change.private_key is not None:
        lines.append("private_key=" + change.private_key.hex())
    if change.listen_port is not None:
        lines.append("listen_port=%d" % change.listen_port)
    if change.fwmark is not None:
        lines.append("fwmark=%d" % change.fwmark)
    for peer in change.peers:
        lines.extend(_format_peer(peer))
    return "\n".join(lines) + "\n\n"


def _format_peer(peer: PeerChange) -> List[str]:
    lines = ["public_key=" + peer.public_key.hex()]
    if peer.remove:
        lines.append("remove=true")
        return lines
    if peer.update_only:
        lines.append("update_only=true")
    if peer.preshared_key is not None:
        lines.append("preshared_key=" + peer.preshared_key.hex())
    if peer.endpoint is not None:
        lines.append("endpoint=" + format_endpoint(peer.endpoint))
    if peer.persistent_keepalive is not None:
        lines.append("persistent_keepalive_interval=%d" % peer.persistent_keepalive)
    if peer.replace_allowed_ips:
        lines.append("replace_allowed_ips=true")
    for cidr in peer.allowed_ips or []:
        lines.append("allowed_ip=" + cidr)
    return lines


def split_errno(response: str) -> Tuple[str, int]:
    """Split a complete response into its body and the errno of its last line."""
    if not response.endswith("\n\n"):
        raise ProtocolError("UAPI response does not end with an empty line")
    lines = response[:-2].split("\n")
    key, _, value = lines[-1].partition("=")
    if key != "errno":
        raise ProtocolError("UAPI response does not end with errno=N: %r" % lines[-1])
    body = "\n".join(lines[:-1])
    return body + "\n" if body else "", int(value)


# Talking to the socket.


def _exchange(name: str, request: str) -> str:
    with _connect(name) as sock:
        sock.sendall(request.encode("ascii"))
        chunks: List[bytes] = []
        tail = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            tail = (tail + chunk)[-2:]
            if tail == b"\n\n":
                break
    return b"".join(chunks).decode("ascii")


def _connect(name: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(IO_TIMEOUT)
    try:
        sock.connect(socket_path(name))
    except FileNotFoundError:
        sock.close()
        raise AgentError("not_found", "WireGuard interface %s not found" % name) from None
    except socket.timeout:
        sock.close()
        raise AgentError("timed_out", "wireguard-go for %s did not accept" % name) from None
    except OSError as error:
        sock.close()
        raise AgentError(
            "failed",
            "cannot connect to %s: %s" % (socket_path(name), error.strerror),
        ) from None
    return sock


def get(name: str) -> Device:
    response = _exchange(name, "get=1\n\n")
    body, code = split_errno(response)
    if code:
        raise _errno_error(name, "read", code)
    return parse_get(body)


def set_device(name: str, change: DeviceChange) -> None:
    response = _exchange(name, format_set(change))
    _, code = split_errno(response)
    if code:
        raise _errno_error(name, "change", code)


def _errno_error(name: str, action: str, code: int) -> AgentError:
    # Only the magnitude is used, so a negative errno reads the same as a positive one.
    code = abs(code)
    reason = os.strerror(code)
    message = "wireguard-go could not %s %s: %s (errno %d)" % (action, name, reason, code)
    if code == errno.EADDRINUSE:
        return AgentError("conflict", message + "; choose another listen_port", errno=code)
    if code == errno.EINVAL:
        return AgentError("invalid_params", message, errno=code)
    return AgentError("failed", message, errno=code)


# Starting and stopping wireguard-go.


def start(name: str) -> None:
    """Start ``wireguard-go NAME`` and wait until its UAPI socket responds."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        # Without this variable wireguard-go exits where the kernel has WireGuard.
        "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1",
    }
    try:
        # wireguard-go daemonises: the parent exits once the TUN device and the socket exist.
        # Its output must never reach the agent's stdout, which carries JSON-RPC.
        result = subprocess.run(
            [WIREGUARD_GO, name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            timeout=START_TIMEOUT,
        )
    except FileNotFoundError:
        raise AgentError(
            "unsupported",
            "the kernel has no WireGuard and wireguard-go is not installed on this device",
        ) from None
    except subprocess.TimeoutExpired:
        raise AgentError("timed_out", "wireguard-go %s did not start" % name) from None
    if result.returncode != 0:
        output = result.stdout.decode("utf-8", "replace").strip()[-500:]
        raise AgentError("failed", "wireguard-go %s failed: %s" % (name, output))
    _wait_for_socket(name)


def _wait_for_socket(name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if exists(name):
            try:
                get(name)
                return
            except AgentError:
                pass
        time.sleep(0.05)
    raise AgentError("timed_out", "wireguard-go %s started but its socket never responded" % name)


def server_pids(name: str) -> List[int]:
    """Find the wireguard-go processes serving NAME in this network namespace.

    SO_PEERCRED on the socket would name the process that called listen(), and wireguard-go
    listens before it daemonises, so that pid belongs to a parent that has already exited.
    The processes are found by command line and network namespace instead.
    """
    own_netns = _netns_of("self")
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _serves(entry, name, own_netns):
            pids.append(int(entry))
    return pids


def _serves(pid: str, name: str, netns: Optional[str]) -> bool:
    argv = _cmdline(pid)
    if len(argv) < 2 or os.path.basename(argv[0]) != WIREGUARD_GO or argv[-1] != name:
        return False
    return _netns_of(pid) == netns and not _is_zombie(int(pid))


def _cmdline(pid: str) -> List[str]:
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
            return cmdline.read().decode("utf-8", "replace").split("\0")[:-1]
    except OSError:
        return []


def _netns_of(pid: str) -> Optional[str]:
    try:
        return os.readlink("/proc/%s/ns/net" % pid)
    except OSError:
        return None


def stop(name: str) -> None:
    """Stop wireguard-go for NAME; on SIGTERM it removes its TUN device and socket."""
    for pid in server_pids(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        _wait_for_exit(pid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path(name))


def _wait_for_exit(pid: int) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not os.path.exists("/proc/%d" % pid) or _is_zombie(pid):
            return
        time.sleep(0.05)
    raise AgentError("timed_out", "wireguard-go (pid %d) did not exit after SIGTERM" % pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return True
