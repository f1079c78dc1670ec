"""``mudmap demo``: the lab from the command line, and its refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mudmap_tui.cli.main import main
from mudmap_tui.errors import LabError
from mudmap_tui.lab import checks
from mudmap_tui.lab import paths as lab_paths

MUDMAP = str(Path(sys.executable).with_name("mudmap"))


def mudmap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [MUDMAP, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, cwd="/")


@pytest.mark.lab
@pytest.mark.timeout(300)
def test_demo_up_status_restart_down(tmp_path) -> None:
    env = {"MUDMAP_DEMO_LAB": "td" + format(os.getpid() % 1296, "x")[:2],
           "MUDMAP_DB": str(tmp_path / "own.db"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    try:
        up = mudmap("demo", "up", "1", env=env)
        assert up.returncode == 0, up.stderr
        status = json.loads(mudmap("demo", "status", "--json", env=env).stdout)
        assert {name: record["state"] for name, record in status.items()} == {
            "lab1": "up", "lab-inner": "up"}
        listed = json.loads(mudmap("--demo", "device", "list", "--json", env=env).stdout)
        assert sorted(device["name"] for device in listed) == ["lab-inner", "lab1"]
        own = json.loads(mudmap("device", "list", "--json", env=env).stdout)
        assert own == []
        # The lab's own known_hosts vouches for its devices, and the user's file stays as is.
        run = mudmap("--demo", "run", "--all", "--", "hostname", env=env)
        assert run.returncode == 0, run.stderr
        assert "lab-inner | lab-inner" in run.stdout
        assert not (tmp_path / "data" / "mudmap" / "known_hosts").exists()
        restarted = mudmap("demo", "restart", "lab1", env=env)
        assert restarted.returncode == 0, restarted.stderr
        unknown = mudmap("demo", "restart", "lab9", env=env)
        assert unknown.returncode == 1
        assert "no lab device named 'lab9'" in unknown.stderr
    finally:
        down = mudmap("demo", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert "down" in down.stdout


def test_demo_up_refuses_without_root(monkeypatch, capsys) -> None:
    monkeypatch.setattr(checks.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("MUDMAP_DEMO_LAB", "tn")
    assert main(["demo", "up", "1"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("mudmap: the lab creates network namespaces and must run as root")
    assert not lab_paths.run_dir("tn").exists()


def test_missing_tools_name_debian_packages(monkeypatch) -> None:
    present = shutil.which
    monkeypatch.setattr(checks.shutil, "which", lambda tool, path=None: None
                        if tool in ("wireguard-go", "sshd") else present(tool, path=path))
    assert checks.missing_packages() == ["openssh-server", "wireguard-go"]
    monkeypatch.setattr(checks.os, "geteuid", lambda: 0)
    with pytest.raises(LabError, match="apt-get install openssh-server wireguard-go"):
        checks.require_lab_support()
