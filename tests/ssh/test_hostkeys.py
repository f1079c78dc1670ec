"""Host key store: entries, lookups, atomic writes and forgetting."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncssh
import pytest

from mudmap_tui.ssh.hostkeys import HostKeyStore, fingerprint, host_entry, public_key_text


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519").convert_to_public()


def test_host_entry_uses_brackets_off_port_22() -> None:
    assert host_entry("10.0.0.1", 22) == "10.0.0.1"
    assert host_entry("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_add_then_lookup_finds_key(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    key = new_key()
    store.add("10.0.0.1", 22, key)
    found = store.lookup("10.0.0.1", "", 22)
    assert [fingerprint(k) for k in found.host_keys] == [fingerprint(key)]
    assert found.sources == [tmp_path / "known_hosts"]
    assert stat.S_IMODE((tmp_path / "known_hosts").stat().st_mode) == 0o600


def test_add_twice_writes_one_line(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    key = new_key()
    store.add("h1", 22, key)
    store.add("h1", 22, public_key_text(key))
    assert (tmp_path / "known_hosts").read_text().count("\n") == 1


def test_lookup_other_port_does_not_match(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    store.add("h1", 22, new_key())
    assert store.lookup("h1", "", 2222).host_keys == []
    other = new_key()
    store.add("h1", 2222, other)
    assert "[h1]:2222 " in (tmp_path / "known_hosts").read_text()
    assert [fingerprint(k) for k in store.lookup("h1", "", 2222).host_keys] == [fingerprint(other)]


def test_lookup_reads_user_file_without_writing(tmp_path: Path) -> None:
    user_file = tmp_path / "user_known_hosts"
    key = new_key()
    user_file.write_text(f"h2 {public_key_text(key)}\n")
    before = user_file.read_text()
    store = HostKeyStore(tmp_path / "ours", [user_file])
    assert [fingerprint(k) for k in store.lookup("h2", "", 22).host_keys] == [fingerprint(key)]
    assert store.forget("h2", 22) == 0
    assert user_file.read_text() == before
    assert store.user_files_listing("h2", "", 22) == [user_file]


def test_lookup_matches_hashed_entries(tmp_path: Path) -> None:
    user_file = tmp_path / "hashed"
    key = new_key()
    # The entry for host h3, hashed as `ssh-keygen -H` writes it (HMAC-SHA1, salt, base64).
    import base64
    import hashlib
    import hmac

    salt = b"0123456789abcdefghij"
    digest = hmac.new(salt, b"h3", hashlib.sha1).digest()
    name = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    user_file.write_text(f"{name} {public_key_text(key)}\n")
    store = HostKeyStore(tmp_path / "ours", [user_file])
    assert [fingerprint(k) for k in store.lookup("h3", "", 22).host_keys] == [fingerprint(key)]


def test_forget_removes_only_that_host(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    store.add("h1", 22, new_key())
    store.add("h1", 22, new_key())
    store.add("h10", 22, new_key())
    store.add("h1", 2222, new_key())
    assert store.forget("h1", 22) == 2
    text = (tmp_path / "known_hosts").read_text()
    assert text.startswith("h10 ")
    assert "[h1]:2222 " in text
    assert store.lookup("h1", "", 22).host_keys == []


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    for index in range(5):
        store.add(f"h{index}", 22, new_key())
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["known_hosts", "known_hosts.lock"]


def test_add_rejects_text_that_is_not_a_key(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "known_hosts", [])
    with pytest.raises(asyncssh.KeyImportError):
        store.add("h1", 22, "ssh-ed25519 not-base64")
    assert not (tmp_path / "known_hosts").exists()
