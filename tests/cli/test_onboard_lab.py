"""``mudmap device onboard`` and ``offboard`` against a lab device's real OpenSSH server."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli, add_hosts_entry

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DEVICE = "lab3"
PASSWORD = "h5-Onboard-pw-7731"
SUDO_PASSWORD = "h5-sudo-pw-5521"


@pytest.fixture
def onboard_device(lab: Lab) -> Iterator[str]:
    """lab3 with a root password, and /home and /var/mail private to the device.

    Creating the mudmap account writes its home directory; the tmpfs keeps that inside
    the device's own mount namespace instead of the host's /home.
    """
    for directory in ("/home", "/var/mail"):
        lab.run(DEVICE, ["mount", "-t", "tmpfs", "tmpfs", directory])
    add_hosts_entry(lab, DEVICE)
    root_hash = lab.run(DEVICE, ["getent", "shadow", "root"]).stdout.split(":")[1]
    lab.run(DEVICE, ["chpasswd"], input=f"root:{PASSWORD}\n")
    try:
        yield DEVICE
    finally:
        lab.run(DEVICE, ["sh", "-c", "userdel -r -f mudmap; userdel -r -f h5pw; "
                         "rm -rf /etc/mudmap /etc/sudoers.d/mudmap /etc/sudoers.d/h5pw "
                         "/root/.ssh/authorized_keys"], check=False)
        # A locked ("!") root would also refuse the lab's key logins, so the old hash returns.
        lab.run(DEVICE, ["usermod", "-p", root_hash, "root"], check=False)
        for directory in ("/var/mail", "/home"):
            lab.run(DEVICE, ["umount", directory], check=False)


def key_login(lab: Lab, key: Path, user: str, command: str = "true",
              ) -> subprocess.CompletedProcess[str]:
    """Log in with OpenSSH's client using only ``key``, as the checks a person would do."""
    address = lab.devices[DEVICE].address
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={lab.known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
         f"{user}@{address}", command],
        capture_output=True, text=True, timeout=60)


def authorized_lines(lab: Lab, path: str) -> list[str]:
    result = lab.run(DEVICE, ["cat", path], check=False)
    return result.stdout.splitlines() if result.returncode == 0 else []


def test_onboard_root_then_again_then_offboard(cli: LabCli, lab: Lab,
                                               onboard_device: str) -> None:
    key = cli.data_dir / "keys" / "mudmap_ed25519"
    before = cli.device(DEVICE)

    output = cli.ok("device", "onboard", DEVICE, "--password-stdin", input=PASSWORD + "\n")
    assert "onboarded" in output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    public = key.with_name("mudmap_ed25519.pub").read_text().split()
    assert public[0] == "ssh-ed25519"
    assert key_login(lab, key, "root").returncode == 0
    lines = authorized_lines(lab, "/root/.ssh/authorized_keys")
    assert [line.split()[1] for line in lines] == [public[1]]
    device = cli.device(DEVICE)
    assert device.identity_file == str(key)
    assert device.user == "root"

    again = cli.ok("device", "onboard", DEVICE, "--password-stdin", input=PASSWORD + "\n")
    assert "nothing changed" in again
    assert authorized_lines(lab, "/root/.ssh/authorized_keys") == lines
    # The inventory's key now works, so ordinary commands use it.
    assert cli.json("iface", "list", DEVICE)

    cli.ok("device", "offboard", DEVICE)
    assert authorized_lines(lab, "/root/.ssh/authorized_keys") == []
    assert key_login(lab, key, "root").returncode != 0
    assert lab.run(DEVICE, ["test", "-e", "/etc/mudmap"], check=False).returncode == 1
    restored = cli.device(DEVICE)
    assert (restored.user, restored.identity_file) == (before.user, before.identity_file)

    actions = [entry["action"] for entry in cli.audit(DEVICE)]
    assert actions.count("device.onboard") == 2
    assert "device.offboard" in actions
    assert PASSWORD.encode() not in cli.database_bytes()
    for path in cli.root.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in cli.ok("audit", "--device", DEVICE)


def test_onboard_keeps_other_keys(cli: LabCli, lab: Lab, onboard_device: str) -> None:
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHX5vQ7h5h5h5h5h5h5h5h5h5h5h5h5h5h5h5h5h5h5h admin"
    lab.run(DEVICE, ["sh", "-c", "mkdir -p /root/.ssh && printf '%s' \"$0\" > "
                     "/root/.ssh/authorized_keys", other])
    cli.ok("device", "onboard", DEVICE, "--password-stdin", input=PASSWORD + "\n")
    lines = authorized_lines(lab, "/root/.ssh/authorized_keys")
    assert lines[0] == other
    assert len(lines) == 2
    cli.ok("device", "offboard", DEVICE)
    assert authorized_lines(lab, "/root/.ssh/authorized_keys") == [other]


def test_onboard_mudmap_account_with_sudo(cli: LabCli, lab: Lab, onboard_device: str) -> None:
    key = cli.data_dir / "keys" / "mudmap_ed25519"
    cli.ok("device", "onboard", DEVICE, "--password-stdin", "--account", "mudmap",
           input=PASSWORD + "\n")
    assert key_login(lab, key, "mudmap", "sudo -n id -u").stdout.strip() == "0"
    sudoers = lab.run(DEVICE, ["cat", "/etc/sudoers.d/mudmap"]).stdout
    assert sudoers == "mudmap ALL=(ALL:ALL) NOPASSWD: ALL\n"
    mode = lab.run(DEVICE, ["stat", "-c", "%a", "/etc/sudoers.d/mudmap"]).stdout.strip()
    assert mode == "440"
    assert lab.run(DEVICE, ["visudo", "-c"], check=False).returncode == 0
    assert cli.device(DEVICE).user == "mudmap"

    cli.ok("device", "onboard", DEVICE, "--password-stdin", "--account", "mudmap",
           input=PASSWORD + "\n")
    passwd = lab.run(DEVICE, ["getent", "passwd"]).stdout
    assert len([line for line in passwd.splitlines() if line.startswith("mudmap:")]) == 1
    assert len(authorized_lines(lab, "/home/mudmap/.ssh/authorized_keys")) == 1

    # As the mudmap account, agent commands and backups run through sudo -n.
    assert cli.json("iface", "list", DEVICE)
    lab.run(DEVICE, ["sh", "-c", "umask 077 && echo '[Interface]' > /etc/wireguard/h5sudo.conf"])
    try:
        backup = cli.json("backup", DEVICE)["results"][0]
    finally:
        lab.run(DEVICE, ["rm", "-f", "/etc/wireguard/h5sudo.conf"])
    assert backup["outcome"] == "ok"
    manifest = cli.json("backup", "show", str(backup["value"]["id"]))["manifest"]
    assert "/etc/wireguard/h5sudo.conf" in [entry["path"] for entry in manifest["files"]]

    cli.ok("device", "offboard", DEVICE)
    assert lab.run(DEVICE, ["id", "mudmap"], check=False).returncode != 0
    assert lab.run(DEVICE, ["test", "-e", "/etc/sudoers.d/mudmap"],
                   check=False).returncode == 1
    assert lab.run(DEVICE, ["test", "-e", "/home/mudmap"], check=False).returncode == 1
    assert cli.device(DEVICE).user == "root"


def test_onboard_wrong_password_records_nothing(cli: LabCli, lab: Lab,
                                                onboard_device: str) -> None:
    before = cli.device(DEVICE)
    audit_before = cli.audit(DEVICE)
    result = cli.run("device", "onboard", DEVICE, "--password-stdin",
                     input="not-the-password\n")
    assert result.returncode == 1
    assert result.stderr.startswith(f"mudmap: {DEVICE}: ")
    assert "rejected the password" in result.stderr
    assert "not-the-password" not in result.stderr + result.stdout
    assert cli.device(DEVICE) == before
    assert cli.audit(DEVICE) == audit_before
    assert authorized_lines(lab, "/root/.ssh/authorized_keys") == []


def add_sudo_password_user(lab: Lab) -> None:
    """Add h5pw, whose sudo rule wants a password, and who logs in with the lab's key."""
    lab.run(DEVICE, ["useradd", "--create-home", "--shell", "/bin/sh", "h5pw"])
    public = lab.client_key.with_suffix(".pub").read_text()
    lab.run(DEVICE, ["sh", "-c", "mkdir -p /home/h5pw/.ssh && cat > "
                     "/home/h5pw/.ssh/authorized_keys && chown -R h5pw: /home/h5pw/.ssh"],
            input=public)
    lab.run(DEVICE, ["chpasswd"], input=f"h5pw:{SUDO_PASSWORD}\n")
    lab.run(DEVICE, ["sh", "-c", "echo 'h5pw ALL=(ALL:ALL) ALL' > /etc/sudoers.d/h5pw && "
                     "chmod 0440 /etc/sudoers.d/h5pw"])


def test_sudo_password_prompt_is_clear_error(cli: LabCli, lab: Lab,
                                             onboard_device: str) -> None:
    add_sudo_password_user(lab)
    cli.ok("device", "edit", DEVICE, "--user", "h5pw")

    for command in (["iface", "list", DEVICE], ["backup", DEVICE],
                    ["iface", "create", DEVICE, "h5br9", "--kind", "bridge"]):
        result = cli.run(*command, timeout=120)
        assert result.returncode == 1, command
        assert DEVICE in result.stderr
        assert "password" in result.stderr
        assert "passwordless sudo" in result.stderr or "log in as root" in result.stderr
    failed = next(entry for entry in cli.audit(DEVICE) if entry["action"] == "change.plan")
    assert failed["result"] == "failed"
    assert failed["params"]["ops"][0]["method"] == "interfaces.create"


def test_onboard_through_sudo_with_password(cli: LabCli, lab: Lab,
                                            onboard_device: str) -> None:
    # The login user's password also answers sudo's prompt (sudo -S).
    add_sudo_password_user(lab)
    key = cli.data_dir / "keys" / "mudmap_ed25519"
    cli.ok("device", "onboard", DEVICE, "--login-user", "h5pw", "--password-stdin",
           input=SUDO_PASSWORD + "\n")
    assert key_login(lab, key, "root").returncode == 0
    assert cli.device(DEVICE).user == "root"
    assert SUDO_PASSWORD.encode() not in cli.database_bytes()
    cli.ok("device", "offboard", DEVICE)
    assert authorized_lines(lab, "/root/.ssh/authorized_keys") == []
