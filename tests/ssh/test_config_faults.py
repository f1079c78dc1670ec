"""A broken SSH config reads as one line naming the file, never a Python error."""

from __future__ import annotations

from pathlib import Path

import pytest

from mudmap_tui.ssh.config import SshConfigUnreadable, SshSettings, resolve_device
from mudmap_tui.store.models import Device

DEVICE = Device(name="r1", host="192.0.2.10")


def resolve(config: Path) -> None:
    resolve_device(DEVICE, SshSettings(config_paths=[config]))


def test_config_include_loop_names_chain(tmp_path: Path) -> None:
    first, second = tmp_path / "config", tmp_path / "other"
    first.write_text(f"Include {second}\nHost r1\n    User admin\n")
    second.write_text(f"Include {first}\n")
    with pytest.raises(SshConfigUnreadable) as raised:
        resolve(first)
    message = str(raised.value)
    assert "Include loop" in message
    assert str(second) in message
    assert "\n" not in message


def test_config_not_utf8_names_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_bytes(b"Host r1\n    User caf\xe9\n")
    with pytest.raises(SshConfigUnreadable, match=rf"{config}:2: not UTF-8 text"):
        resolve(config)


def test_config_included_not_utf8(tmp_path: Path) -> None:
    config, included = tmp_path / "config", tmp_path / "included"
    config.write_text(f"Include {included}\n")
    included.write_bytes(b"Host r1\n    User \xff\n")
    with pytest.raises(SshConfigUnreadable, match=rf"{included}:2: not UTF-8 text"):
        resolve(config)


def test_config_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(SshConfigUnreadable, match="Is a directory"):
        resolve(tmp_path)


def test_config_valid_still_resolves(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host 192.0.2.10\n    User admin\n")
    target = resolve_device(DEVICE, SshSettings(config_paths=[config]))
    assert target.user == "admin"
