"""Error messages of the device commands, as the real agent on a lab device produces them."""

from __future__ import annotations

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli, device_links

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE = "lab2"
PUBLIC_KEY = "aDVtZXNzYWdlcy10ZXN0LXB1YmxpYy1rZXktMDAwMDA="


def test_macvlan_without_parent(cli: LabCli, lab: Lab) -> None:
    result = cli.run("iface", "create", DEVICE, "h5mv9", "--kind", "macvlan")
    assert result.returncode == 2
    assert "None" not in result.stderr
    assert "missing parent; give --parent NAME" in result.stderr
    assert "h5mv9" not in device_links(lab, DEVICE)


def test_missing_wg_iface_suggests_iface_list(cli: LabCli) -> None:
    # `mudmap wg show` of the missing interface would fail the same way.
    result = cli.run("wg", "peer", "remove", DEVICE, "h5wg9", PUBLIC_KEY)
    assert result.returncode == 1
    assert f"`mudmap iface list {DEVICE}`" in result.stderr
    assert "wg show" not in result.stderr


def test_missing_peer_suggests_wg_show(cli: LabCli) -> None:
    cli.ok("iface", "create", DEVICE, "h5wg8", "--kind", "wireguard", "--listen-port", "51876")
    try:
        result = cli.run("wg", "peer", "remove", DEVICE, "h5wg8", PUBLIC_KEY)
        assert result.returncode == 1
        assert f"`mudmap wg show {DEVICE} h5wg8`" in result.stderr
        assert "iface list" not in result.stderr
    finally:
        cli.ok("iface", "delete", DEVICE, "h5wg8")


def test_existing_address_suggests_another(cli: LabCli, lab: Lab) -> None:
    cli.ok("iface", "create", DEVICE, "h5br9", "--kind", "bridge")
    try:
        cli.ok("iface", "set", DEVICE, "h5br9", "--add-address", "192.0.2.5/24")
        result = cli.run("iface", "set", DEVICE, "h5br9", "--add-address", "192.0.2.5/24")
        assert result.returncode == 1
        assert "already has address 192.0.2.5; choose another address" in result.stderr
    finally:
        cli.ok("iface", "delete", DEVICE, "h5br9")
