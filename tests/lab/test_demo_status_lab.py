"""``mudmap demo status`` on a running lab, also when a device's sshd is dead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab

pytestmark = [pytest.mark.lab]

MUDMAP = str(Path(sys.executable).with_name("mudmap"))


def demo_status(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUDMAP_DEMO_LAB": lab.name}
    return subprocess.run([MUDMAP, "demo", "status", *args], capture_output=True, text=True,
                          env=env, cwd="/")


def test_demo_status_sees_dead_sshd(lab: Lab) -> None:
    healthy = demo_status(lab)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "not answering" not in healthy.stdout

    lab.stop_sshd("lab3")
    try:
        text = demo_status(lab)
        listed = json.loads(demo_status(lab, "--json").stdout)
    finally:
        lab.start_sshd("lab3")
    assert text.returncode == 1
    line = next(line for line in text.stdout.splitlines() if line.startswith("lab3 "))
    assert "up, sshd not answering" in line
    assert listed["lab3"]["state"] == "up"
    assert listed["lab3"]["sshd"] == "not answering"
    assert listed["lab1"]["sshd"] == "answering"
    assert listed["lab-inner"]["sshd"] == "answering"
