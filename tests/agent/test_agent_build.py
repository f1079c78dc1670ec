"""The agent zipapp: reproducible bytes, and a start on the device's python3 that serves hello."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from mudmap_tui import agent_build

PYTHON = "/usr/bin/python3"
HELLO = b'{"jsonrpc": "2.0", "id": 1, "method": "hello"}\n'

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def built() -> tuple[bytes, str]:
    return agent_build.build()


def test_build_twice_identical(built: tuple[bytes, str]) -> None:
    data, sha256 = built
    again, again_sha256 = agent_build.build()
    assert again == data
    assert again_sha256 == sha256
    assert hashlib.sha256(data).hexdigest() == sha256


def test_entries_sorted_with_fixed_metadata(built: tuple[bytes, str]) -> None:
    data, _ = built
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert "__main__.py" in names
    assert "agent/server.py" in names
    assert "agent/wireguard/uapi.py" in names
    assert "pyroute2/__init__.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    for info in infos:
        assert info.date_time == agent_build.ZIP_EPOCH
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_main_module_calls_bootstrap(built: tuple[bytes, str]) -> None:
    data, _ = built
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        main = archive.read("__main__.py").decode()
        entries = {
            info.filename: archive.read(info)
            for info in archive.infolist()
            if info.filename != "__main__.py"
        }
    assert main.startswith((agent_build.AGENT_DIR / "bootstrap.py").read_text())
    assert f"run({agent_build.build_id(entries)!r})" in main


def test_source_change_changes_hash(
    monkeypatch: pytest.MonkeyPatch, built: tuple[bytes, str]
) -> None:
    original = agent_build.collect_entries

    def with_extra_byte() -> dict[str, bytes]:
        entries = original()
        entries["agent/errors.py"] += b"\n"
        return entries

    monkeypatch.setattr(agent_build, "collect_entries", with_extra_byte)
    _, changed = agent_build.build()
    assert changed != built[1]


def test_write_to_cache_named_by_hash(tmp_path: Path, built: tuple[bytes, str]) -> None:
    data, sha256 = built
    path = agent_build.write_to_cache(tmp_path)
    assert path.name == f"mudmap-agent-{sha256}.pyz"
    assert path.read_bytes() == data
    assert agent_build.write_to_cache(tmp_path) == path
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def unpacked_dirs(cache: Path) -> list[Path]:
    return [path for path in cache.iterdir() if path.is_dir()]


def call_hello(archive: Path) -> dict[str, object]:
    result = subprocess.run(
        [PYTHON, "-I", str(archive)], input=HELLO, capture_output=True, timeout=60, check=True
    )
    return json.loads(result.stdout.splitlines()[0])


def test_zipapp_serves_hello_on_device_python(tmp_path: Path) -> None:
    archive = agent_build.write_to_cache(tmp_path)
    first = call_hello(archive)
    (unpacked,) = unpacked_dirs(tmp_path)
    second = call_hello(archive)

    for response in (first, second):
        result = response["result"]
        assert isinstance(result, dict)
        assert result["import_errors"] == []
        assert "wg.create" in result["methods"]
        assert "services.list" in result["methods"]
    assert (unpacked / ".complete").is_file()
    assert unpacked.stat().st_mode & 0o777 == 0o755
    # Bytecode is written on import, so only what hello loaded is compiled.
    assert list(unpacked.glob("agent/__pycache__/server.*.pyc"))
    assert not list(unpacked.glob("pyroute2/__pycache__/*.pyc"))


def test_self_test_prints_hello(tmp_path: Path) -> None:
    archive = agent_build.write_to_cache(tmp_path)
    result = subprocess.run(
        [PYTHON, "-I", str(archive), "--self-test"], capture_output=True, timeout=60, check=True
    )
    hello = json.loads(result.stdout)
    assert hello["python"].startswith("3.")
    assert hello["agent_version"]
    assert hello["import_errors"] == []


def test_concurrent_first_starts_share_one_copy(tmp_path: Path) -> None:
    archive = agent_build.write_to_cache(tmp_path)
    processes = [
        subprocess.Popen(
            [PYTHON, "-I", str(archive), "--self-test"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert json.loads(stdout)["import_errors"] == []
    # One finished copy remains; the losers' temporary directories are gone.
    assert len(unpacked_dirs(tmp_path)) == 1
    assert not list(tmp_path.glob(".unpack-*"))


def test_unfinished_copy_is_replaced(tmp_path: Path) -> None:
    archive = agent_build.write_to_cache(tmp_path)
    call_hello(archive)
    (unpacked,) = unpacked_dirs(tmp_path)
    (unpacked / ".complete").unlink()
    (unpacked / "agent" / "server.py").write_text("raise SystemExit('stale copy')\n")

    # A copy without its marker was never finished; it must not be used as it is.
    result = subprocess.run(
        [PYTHON, "-I", str(archive), "--self-test"], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["import_errors"] == []
    assert (unpacked / ".complete").is_file()
    assert "stale copy" not in (unpacked / "agent" / "server.py").read_text()
    assert unpacked_dirs(tmp_path) == [unpacked]


def test_copy_of_removed_version_is_cleaned(tmp_path: Path) -> None:
    archive = agent_build.write_to_cache(tmp_path)
    call_hello(archive)
    (old_copy,) = unpacked_dirs(tmp_path)
    # Pretend the copy belongs to an earlier version whose archive was replaced.
    renamed = old_copy.with_name(".0000-old.d")
    old_copy.rename(renamed)
    (renamed / ".complete").write_text(str(tmp_path / "mudmap-agent-old.pyz") + "\n")

    call_hello(archive)

    assert not renamed.exists()
    assert len(unpacked_dirs(tmp_path)) == 1
