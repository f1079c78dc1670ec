"""Build the OpenSSH command line that opens an interactive session to a device.

The command uses the same settings as the app's own connections: user, port, identity
file, known_hosts files and the jump host. A jump host that is another inventory device is
reached through ``ProxyCommand``, because ``-J`` would not carry that device's own port,
identity file and known_hosts to the jump hop.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from mudmap_tui.ssh.hostkeys import HostKeyStore
from mudmap_tui.store.models import Device

SSH = "ssh"
# Loops through jump devices stop here; the store already rejects jump cycles.
MAX_HOPS = 8


def known_hosts_option(hostkeys: HostKeyStore) -> list[str]:
    files = [hostkeys.path, *hostkeys.user_files]
    return ["-o", "UserKnownHostsFile=" + " ".join(shlex.quote(str(f)) for f in files)]


def _host_options(device: Device, hostkeys: HostKeyStore) -> list[str]:
    options = ["-p", str(device.port), *known_hosts_option(hostkeys),
               "-o", "StrictHostKeyChecking=yes"]
    if device.identity_file:
        options += ["-i", str(Path(device.identity_file).expanduser()),
                    "-o", "IdentitiesOnly=yes"]
    if device.user:
        options += ["-l", device.user]
    return options


def ssh_argv(name: str, devices: Mapping[str, Device], hostkeys: HostKeyStore,
             command: Sequence[str] = ()) -> list[str]:
    """Return the argv of ``ssh`` to device ``name``; ``command`` runs instead of a shell."""
    device = devices[name]
    return [SSH, *_host_options(device, hostkeys), *_jump_options(device, devices, hostkeys, 0),
            device.host, *command]


def _jump_options(device: Device, devices: Mapping[str, Device], hostkeys: HostKeyStore,
                  hops: int) -> list[str]:
    if not device.jump:
        return []
    jump = devices.get(device.jump)
    if jump is None or hops >= MAX_HOPS:
        return ["-J", device.jump]
    # The target is written out instead of %h:%p, so that nested proxies each forward to
    # their own next hop rather than all to the final host.
    proxy = [SSH, *_host_options(jump, hostkeys), *_jump_options(jump, devices, hostkeys,
                                                                  hops + 1),
             "-W", f"{_bracketed(device.host)}:{device.port}", jump.host]
    return ["-o", "ProxyCommand=" + shlex.join(proxy).replace("%", "%%")]


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
