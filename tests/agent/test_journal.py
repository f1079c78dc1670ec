"""journal.tail: input rules, journalctl's JSON, and the /var/log fallback without journald."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent import journal
from agent.errors import AgentError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1764878400, 1764878400),
        (1764878400.9, 1764878400),
        ("2026-12-04T20:00:00+00:00", 1796414400),
        ("2026-12-04T20:00:00Z", 1796414400),
        ("2026-12-04T21:00:00+01:00", 1796414400),
    ],
)
def test_since_accepted(value: object, expected: int) -> None:
    assert journal.parse_since(value) == expected


@pytest.mark.parametrize(
    "value", [-1, True, "yesterday", "2026-12-04T20:00:00", "2026-13-01T00:00:00Z", None, []]
)
def test_since_rejected(value: object) -> None:
    with pytest.raises(AgentError) as raised:
        journal.parse_since(value)
    assert raised.value.kind == "invalid_params"


def test_journal_argv_has_no_user_text() -> None:
    argv = journal.journal_argv(50, "ssh.service", 1796414400)
    assert argv == [
        "journalctl",
        "--no-pager",
        "--output=json",
        "--lines=50",
        "--since=@1796414400",
        "--unit=ssh.service",
    ]


def test_journal_entry_decodes_byte_array() -> None:
    entry = journal.journal_entry(
        {
            "__REALTIME_TIMESTAMP": "1796414400123456",
            "_SYSTEMD_UNIT": "ssh.service",
            "SYSLOG_IDENTIFIER": "sshd",
            "_PID": "612",
            "PRIORITY": "6",
            "MESSAGE": [104, 105, 255],
        }
    )
    assert entry == {
        "time": 1796414400.123456,
        "unit": "ssh.service",
        "identifier": "sshd",
        "pid": 612,
        "priority": 6,
        "message": "hi\ufffd",
    }


@pytest.fixture
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "log"
    directory.mkdir()
    monkeypatch.setattr(journal, "LOG_DIR", str(directory))
    monkeypatch.setattr(journal, "journald_running", lambda: False)
    return directory


@pytest.mark.parametrize("name", ["../passwd", "a/b", ".hidden", "", "x" * 300, "sys log", 5])
def test_log_file_name_rejected(log_dir: Path, name: object) -> None:
    with pytest.raises(AgentError) as raised:
        journal.tail({"file": name})
    assert raised.value.kind == "invalid_params"


def test_log_file_symlink_outside_rejected(log_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("not a log\n")
    os.symlink(secret, log_dir / "escape.log")
    with pytest.raises(AgentError) as raised:
        journal.tail({"file": "escape.log"})
    assert raised.value.kind == "invalid_params"


def test_tail_reads_last_lines(log_dir: Path) -> None:
    # Longer than one read block, so the tail is assembled from several reads.
    lines = [f"line {n} " + "x" * 100 for n in range(3000)]
    (log_dir / "syslog").write_text("\n".join(lines) + "\n")

    result = journal.tail({"lines": 1500})

    assert result["source"] == "file"
    assert result["path"] == str(log_dir / "syslog")
    assert [entry["message"] for entry in result["entries"]] == lines[-1500:]


def test_tail_named_file(log_dir: Path) -> None:
    (log_dir / "auth.log").write_text("first\nsecond\nthird")
    result = journal.tail({"file": "auth.log", "lines": 2})
    assert [entry["message"] for entry in result["entries"]] == ["second", "third"]


def test_missing_named_file_not_found(log_dir: Path) -> None:
    with pytest.raises(AgentError) as raised:
        journal.tail({"file": "kern.log"})
    assert raised.value.kind == "not_found"


def test_directory_named_invalid(log_dir: Path) -> None:
    (log_dir / "apt").mkdir()
    with pytest.raises(AgentError) as raised:
        journal.tail({"file": "apt"})
    assert raised.value.kind == "invalid_params"
    assert "not a directory" in str(raised.value)


def test_files_lists_readable_newest_first(log_dir: Path, tmp_path: Path) -> None:
    for name, mtime in (("syslog", 300), ("auth.log", 200), ("kern.log", 100),
                        ("wtmp", 400), ("syslog.2.gz", 500), (".hidden", 600)):
        (log_dir / name).write_text("x\n")
        os.utime(log_dir / name, (mtime, mtime))
    (log_dir / "apt").mkdir()
    outside = tmp_path / "secret"
    outside.write_text("no\n")
    os.symlink(outside, log_dir / "escape.log")

    result = journal.files({})

    assert [entry["name"] for entry in result["files"]] == ["syslog", "auth.log", "kern.log"]
    assert result["files"][0] == {"name": "syslog", "size": 2, "mtime": 300.0}
    assert result["journald"] is False
    assert result["truncated"] is False


def test_files_without_log_dir(log_dir: Path) -> None:
    log_dir.rmdir()
    assert journal.files({})["files"] == []


def test_no_default_file_unsupported(log_dir: Path) -> None:
    with pytest.raises(AgentError) as raised:
        journal.tail({})
    assert raised.value.kind == "unsupported"


def test_unit_filter_needs_journald(log_dir: Path) -> None:
    (log_dir / "syslog").write_text("a\n")
    with pytest.raises(AgentError) as raised:
        journal.tail({"unit": "ssh"})
    assert raised.value.kind == "unsupported"
    assert "journald is not running" in raised.value.message


@pytest.mark.parametrize(
    "params", [{"lines": 0}, {"lines": 10001}, {"lines": "5"}, {"unit": "-x"}, {"follow": True}]
)
def test_invalid_params(log_dir: Path, params: dict[str, object]) -> None:
    with pytest.raises(AgentError) as raised:
        journal.tail(params)
    assert raised.value.kind == "invalid_params"


def test_journalctl_output_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in journalctl on PATH records its argv and prints two JSON entries.
    log = tmp_path / "argv.json"
    script = tmp_path / "journalctl"
    script.write_text(
        "#!/usr/bin/python3\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "print(json.dumps({'__REALTIME_TIMESTAMP': '1796414400000000', 'MESSAGE': 'one',"
        " '_SYSTEMD_UNIT': 'ssh.service', 'PRIORITY': '6'}))\n"
        "print(json.dumps({'__REALTIME_TIMESTAMP': '1796414401000000', 'MESSAGE': 'two'}))\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(journal, "journald_running", lambda: True)

    result = journal.tail({"unit": "ssh", "lines": 2, "since": "2026-12-04T20:00:00Z"})

    assert result["source"] == "journal"
    assert result["unit"] == "ssh.service"
    assert [entry["message"] for entry in result["entries"]] == ["one", "two"]
    assert result["entries"][0]["priority"] == 6
    assert result["entries"][1]["time"] == 1796414401.0
    assert json.loads(log.read_text()) == [
        "--no-pager",
        "--output=json",
        "--lines=2",
        "--since=@1796414400",
        "--unit=ssh.service",
    ]
