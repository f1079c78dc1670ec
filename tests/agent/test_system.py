"""system.reboot and system.shutdown on the host: validation and planning only.

Nothing here may start the helper that reboots: on the host it would restart the whole
machine. Every test runs with the helper's start replaced by a recorder, and
subprocess.Popen inside agent.system replaced by a function that fails the test.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from agent import system
from agent.errors import AgentError


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def __call__(self, action: str, delay: float) -> None:
        self.calls.append((action, delay))


def fail_on_popen(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("a test tried to start the reboot helper on the host")


@pytest.fixture(autouse=True)
def scheduled(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(system.subprocess, "Popen", fail_on_popen)
    monkeypatch.setattr(system, "schedule", recorder)
    return recorder


def test_reboot_responds_with_plan(scheduled: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "systemd_running", lambda: False)
    result = system.reboot({})
    assert result == {"action": "reboot", "via": "reboot(2)", "argv": None, "delay": 1.0}
    assert scheduled.calls == [("reboot", 1.0)]


def test_shutdown_with_systemd_uses_poweroff(
    scheduled: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(system, "systemd_running", lambda: True)
    result = system.shutdown({"delay": 2})
    assert result["argv"] == ["systemctl", "poweroff"]
    assert result["delay"] == 2.0
    assert scheduled.calls == [("poweroff", 2.0)]


@pytest.mark.parametrize(
    "params", [{"delay": 0}, {"delay": 301}, {"delay": "1"}, {"delay": True}, {"force": True}]
)
def test_invalid_params_schedule_nothing(scheduled: Recorder, params: dict[str, object]) -> None:
    with pytest.raises(AgentError) as raised:
        system.reboot(params)
    assert raised.value.kind == "invalid_params"
    assert scheduled.calls == []


def test_schedule_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    monkeypatch.setattr(system.subprocess, "Popen", fail_on_popen)
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    with pytest.raises(AgentError) as raised:
        system.schedule("reboot", 1.0)
    assert raised.value.kind == "permission_denied"


def test_child_program_is_standalone() -> None:
    tree = ast.parse(system.CHILD_PROGRAM, feature_version=(3, 9))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported == {"ctypes", "os", "subprocess", "sys", "time"}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))


def test_child_argv_detaches_from_agent_code() -> None:
    argv = system.child_argv("reboot", 1.5)
    assert argv[1:3] == ["-I", "-c"]
    assert argv[4:] == ["reboot", "1.5"]
