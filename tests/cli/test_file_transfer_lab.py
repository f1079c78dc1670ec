"""``mudmap put`` and ``get``: permission bits, bad paths and SFTP failures on lab devices."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE = "lab2"


def test_get_into_missing_directory(cli: LabCli, tmp_path: Path) -> None:
    target = tmp_path / "nonexistdir" / "x"
    result = cli.run("get", DEVICE, "/etc/hostname", str(target))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(target.parent) in result.stderr
    assert not target.parent.exists()


def test_get_drops_setuid_and_applies_umask(cli: LabCli, lab: Lab, tmp_path: Path) -> None:
    remote = "/root/h-setuid"
    lab.run(DEVICE, ["sh", "-c", f"echo x > {remote} && chmod 4777 {remote}"])
    target = tmp_path / "fetched"
    old_umask = os.umask(0o027)
    try:
        result = cli.run("get", DEVICE, remote, str(target))
    finally:
        os.umask(old_umask)
    assert result.returncode == 0, result.stderr
    assert oct(target.stat().st_mode & 0o7777) == oct(0o750)
    lab.run(DEVICE, ["rm", "-f", remote])


def test_put_drops_setuid_unless_mode(cli: LabCli, lab: Lab, tmp_path: Path) -> None:
    local = tmp_path / "tool"
    local.write_text("#!/bin/sh\n")
    os.chmod(local, 0o4755)
    remote = "/root/h-tool"
    lab.run(DEVICE, ["rm", "-f", remote])

    cli.ok("put", DEVICE, str(local), remote)
    assert lab.run(DEVICE, ["stat", "-c", "%a", remote]).stdout.strip() == "755"

    cli.ok("put", DEVICE, str(local), remote, "--force", "--mode", "4750")
    assert lab.run(DEVICE, ["stat", "-c", "%a", remote]).stdout.strip() == "4750"
    lab.run(DEVICE, ["rm", "-f", remote])


def test_put_relative_remote_path(cli: LabCli, tmp_path: Path) -> None:
    local = tmp_path / "payload"
    local.write_text("x")
    result = cli.run("put", DEVICE, str(local), "relative/x")
    assert result.returncode == 2
    assert "remote path must be absolute" in result.stderr


def test_get_of_remote_directory(cli: LabCli, tmp_path: Path) -> None:
    result = cli.run("get", DEVICE, "/etc", str(tmp_path / "etc"))
    assert result.returncode == 2
    assert "/etc is a directory" in result.stderr
    assert not (tmp_path / "etc").exists()


def test_put_force_onto_directory(cli: LabCli, lab: Lab, tmp_path: Path) -> None:
    local = tmp_path / "payload"
    local.write_text("x")
    lab.run(DEVICE, ["mkdir", "-p", "/root/h-dir"])
    result = cli.run("put", DEVICE, str(local), "/root/h-dir", "--force")
    assert result.returncode == 2
    assert "/root/h-dir is a directory" in result.stderr
    assert lab.run(DEVICE, ["test", "-d", "/root/h-dir"], check=False).returncode == 0
    lab.run(DEVICE, ["rmdir", "/root/h-dir"])


def test_put_onto_full_file_system(cli: LabCli, lab: Lab, tmp_path: Path) -> None:
    local = tmp_path / "big"
    local.write_bytes(b"\0" * 256 * 1024)
    # A small tmpfs in the device's own mount namespace, so no other file system fills up.
    lab.run(DEVICE, ["mkdir", "-p", "/root/h-full"])
    lab.run(DEVICE, ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", "/root/h-full"])
    try:
        result = cli.run("put", DEVICE, str(local), "/root/h-full/big")
        assert result.returncode == 2
        assert f"no space left on {DEVICE}'s file system for /root/h-full/big" in result.stderr
        listing = lab.run(DEVICE, ["ls", "-A", "/root/h-full"]).stdout
        assert listing == ""
    finally:
        lab.run(DEVICE, ["umount", "/root/h-full"])
        lab.run(DEVICE, ["rmdir", "/root/h-full"])
