"""services.*: unit name rules, systemctl output parsing, and the argv sent to systemctl.

Neither the host nor the lab runs systemd, so the systemctl calls are checked against a
stand-in systemctl on PATH that records its argv. The lab tests check the real error
from a device without systemd.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agent import services
from agent.errors import AgentError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ssh", "ssh.service"),
        ("ssh.service", "ssh.service"),
        ("getty@tty1.service", "getty@tty1.service"),
        ("getty@.service", "getty@.service"),
        ("systemd-networkd.socket", "systemd-networkd.socket"),
        ("dev-sda1.device", "dev-sda1.device"),
        ("mnt-data\\x2dold.mount", "mnt-data\\x2dold.mount"),
        ("a:b_c.timer", "a:b_c.timer"),
    ],
)
def test_unit_name_accepted(value: str, expected: str) -> None:
    assert services.unit_name(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-ssh.service",
        "--all",
        "ssh service",
        "ssh;reboot",
        "../ssh.service",
        "a/b.service",
        "a@b@c.service",
        "@.service",
        ".service",
        "x" * 250 + ".service",
        "ssh\n.service",
        "$(reboot).service",
        None,
        7,
    ],
)
def test_unit_name_rejected(value: object) -> None:
    with pytest.raises(AgentError) as raised:
        services.unit_name(value)
    assert raised.value.kind == "invalid_params"


def test_template_rejected_for_start() -> None:
    with pytest.raises(AgentError) as raised:
        services.services_start({"name": "getty@.service"})
    assert raised.value.kind == "invalid_params"


def test_parse_show() -> None:
    values = services.parse_show(
        "Id=ssh.service\nDescription=OpenBSD Secure Shell server\nLoadState=loaded\n"
        "ActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=612\n"
        "ActiveEnterTimestamp=Fri 2026-12-04 20:00:00 UTC\n"
    )
    assert services.describe_status(values) == {
        "name": "ssh.service",
        "description": "OpenBSD Secure Shell server",
        "load_state": "loaded",
        "active_state": "active",
        "sub_state": "running",
        "unit_file_state": "enabled",
        "main_pid": 612,
        "active_since": "Fri 2026-12-04 20:00:00 UTC",
    }


def test_parse_list_units() -> None:
    units = services.parse_list_units(
        "cron.service loaded active running Regular background program processing daemon\n"
        "ssh.service  loaded failed failed\n"
    )
    assert units == [
        {
            "name": "cron.service",
            "load_state": "loaded",
            "active_state": "active",
            "sub_state": "running",
            "description": "Regular background program processing daemon",
        },
        {
            "name": "ssh.service",
            "load_state": "loaded",
            "active_state": "failed",
            "sub_state": "failed",
            "description": "",
        },
    ]


def test_parse_unit_files() -> None:
    text = "cron.service enabled enabled\ngetty@.service enabled enabled\nrescue.service static -\n"
    assert services.parse_unit_files(text) == {
        "cron.service": "enabled",
        "getty@.service": "enabled",
        "rescue.service": "static",
    }


def test_without_systemd_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services.os.path, "isdir", lambda path: False)
    for handler, params in (
        (services.services_list, {}),
        (services.services_status, {"name": "ssh"}),
        (services.services_restart, {"name": "ssh"}),
    ):
        with pytest.raises(AgentError) as raised:
            handler(params)
        assert raised.value.kind == "unsupported"
        assert "systemd is not running" in raised.value.message


@pytest.fixture
def fake_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a systemctl on PATH that records its argv and prints what `show` would."""
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "systemctl"
    script.write_text(
        "#!/usr/bin/python3\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if 'show' in sys.argv:\n"
        "    name = sys.argv[-1]\n"
        "    state = 'not-found' if name.startswith('missing') else 'loaded'\n"
        "    print('Id=' + name + '\\nLoadState=' + state + '\\nActiveState=active\\nMainPID=0')\n"
        "elif 'list-units' in sys.argv:\n"
        "    print('cron.service loaded active running Cron daemon')\n"
        "elif 'list-unit-files' in sys.argv:\n"
        "    print('cron.service enabled enabled')\n"
        "    print('rescue.service static -')\n"
        "elif sys.argv[-1].startswith('denied'):\n"
        "    sys.stderr.write('Failed to start: Access denied\\n'); sys.exit(1)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(services, "require_systemd", lambda: None)
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_restart_sends_argv_with_separator(fake_systemctl: Path) -> None:
    result = services.services_restart({"name": "cron"})

    assert result["name"] == "cron.service"
    assert result["action"] == "restart"
    assert result["main_pid"] is None
    first, second = calls(fake_systemctl)
    assert first == ["--no-pager", "--no-ask-password", "restart", "--", "cron.service"]
    assert second[-2:] == ["--", "cron.service"]
    assert "show" in second


def test_status_of_missing_unit(fake_systemctl: Path) -> None:
    with pytest.raises(AgentError) as raised:
        services.services_status({"name": "missing.service"})
    assert raised.value.kind == "not_found"


def test_access_denied_is_permission_denied(fake_systemctl: Path) -> None:
    with pytest.raises(AgentError) as raised:
        services.services_start({"name": "denied.service"})
    assert raised.value.kind == "permission_denied"
    assert calls(fake_systemctl) == [
        ["--no-pager", "--no-ask-password", "start", "--", "denied.service"]
    ]


def test_enable_template_skips_status(fake_systemctl: Path) -> None:
    result = services.services_enable({"name": "getty@.service"})
    assert result == {"name": "getty@.service", "action": "enable"}
    assert calls(fake_systemctl) == [
        ["--no-pager", "--no-ask-password", "enable", "--", "getty@.service"]
    ]


def test_unknown_parameter_rejected() -> None:
    with pytest.raises(AgentError) as raised:
        services.services_stop({"name": "ssh", "now": True})
    assert raised.value.kind == "invalid_params"


def test_list_merges_units_and_files(fake_systemctl: Path) -> None:
    result = services.services_list({})

    assert result["services"] == [
        {
            "name": "cron.service",
            "load_state": "loaded",
            "active_state": "active",
            "sub_state": "running",
            "description": "Cron daemon",
            "unit_file_state": "enabled",
        },
        {
            "name": "rescue.service",
            "load_state": "not-loaded",
            "active_state": "inactive",
            "sub_state": "dead",
            "description": "",
            "unit_file_state": "static",
        },
    ]
    listed, files = calls(fake_systemctl)
    assert listed[2:] == ["list-units", "--all", "--type=service", "--plain", "--no-legend"]
    assert files[2:] == ["list-unit-files", "--type=service", "--plain", "--no-legend"]
