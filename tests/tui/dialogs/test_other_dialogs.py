"""Onboarding, ssh_config import, backup diff and file transfer dialogs."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, SelectionList

from mudmap_tui.onboarding_request import OnboardRequest
from mudmap_tui.store.models import Device
from mudmap_tui.tui.dialogs.backup_diff import BackupDiffScreen, count_changes
from mudmap_tui.tui.dialogs.confirm import ConfirmScreen
from mudmap_tui.tui.dialogs.file_transfer import FileTransferScreen
from mudmap_tui.tui.dialogs.import_ssh import ImportScreen
from mudmap_tui.tui.dialogs.onboard import OnboardScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp, shown_errors, text_of

SSH_CONFIG = """\
Host edge1
    HostName 192.0.2.10
    User ops
    Port 2222

Host core1
    HostName 2001:db8::1
    ProxyJump edge1

Host *.example.net
    User admin
"""

DIFF = """\
--- lab1 2026-12-04 20:00
+++ lab1 2026-12-04 21:00
@@ -1,3 +1,3 @@
 auto lo
-iface eth0 inet dhcp
+iface eth0 inet static
+    address 192.0.2.10/24
"""


def fill(app: DialogApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#field-{field}", Input).value = value


async def test_onboard_masks_and_returns_request() -> None:
    app = DialogApp(OnboardScreen("lab1"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        password = app.screen.query_one("#field-password", Input)
        assert password.password
        assert app.screen.focused is password
        await pilot.press(*"s3cret", "enter")
    assert app.results == [OnboardRequest("lab1", "s3cret", "mudmap", "mudmap")]
    assert app.results[0].password == "s3cret"
    assert "s3cret" not in repr(app.results[0])


async def test_onboard_requires_password() -> None:
    app = DialogApp(OnboardScreen("lab1"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("enter")
        assert "missing password" in shown_errors(app)["password"]
        assert app.results == []


async def test_onboard_existing_key_checked(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("private\n")
    app = DialogApp(OnboardScreen("lab1"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert not app.screen.query_one("#row-key_file").display
        app.screen.query_one("#field-account", Select).value = "root"
        app.screen.query_one("#field-key", Select).value = "existing"
        await pilot.pause()
        assert app.screen.query_one("#row-key_file").display
        fill(app, password="pw", key_file=str(key))
        await pilot.press("ctrl+s")
        assert "has no public key" in shown_errors(app)["key_file"]
        (tmp_path / "id_ed25519.pub").write_text("ssh-ed25519 AAAA test\n")
        await pilot.press("ctrl+s")
    assert app.results == [OnboardRequest("lab1", "pw", "root", "existing", key)]


async def test_import_lists_devices_and_skips(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(SSH_CONFIG)
    app = DialogApp(ImportScreen(config))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert "skipped" in text_of(app, "#import-notes Static")
        assert "*.example.net" in text_of(app, "#import-notes Static")
        listing = app.screen.query_one("#field-devices", SelectionList)
        assert listing.selected == [0, 1]
        listing.focus()
        await pilot.press("down", "space")
        await pilot.press("ctrl+s")
    assert app.results == [[Device(name="edge1", host="192.0.2.10", port=2222, user="ops")]]


async def test_import_needs_a_selection(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(SSH_CONFIG)
    app = DialogApp(ImportScreen(config))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#field-devices", SelectionList).deselect_all()
        await pilot.press("ctrl+s")
        assert "no device selected" in shown_errors(app)["devices"]
        await pilot.press("escape")
    assert app.results == [None]


async def test_import_bad_file_shows_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host bad\n    Port 70000\n")
    app = DialogApp(ImportScreen(config))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        message = text_of(app, ".field-error")
        assert message.startswith("✗ ")
        assert "70000" in message
        await pilot.press("escape")
    assert app.results == [None]


async def test_backup_diff_keeps_markers() -> None:
    app = DialogApp(BackupDiffScreen("lab1: /etc/network/interfaces", DIFF))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        lines = text_of(app, "#diff-text").split("\n")
        assert "-iface eth0 inet dhcp" in lines
        assert "+    address 192.0.2.10/24" in lines
        assert text_of(app, "#diff-summary") == "2 lines added (+), 1 removed (-)"
        await pilot.press("q")
    assert app.results == [None]


async def test_backup_diff_one_line_singular() -> None:
    app = DialogApp(
        BackupDiffScreen("lab1: /etc/hostname", "--- a\n+++ b\n@@ -1 +1,2 @@\n x\n+y\n")
    )
    async with app.run_test(size=SMALL_TERMINAL):
        assert text_of(app, "#diff-summary") == "1 line added (+), 0 removed (-)"


def test_count_changes_skips_headers() -> None:
    assert count_changes(DIFF) == (2, 1)
    assert count_changes("") == (0, 0)


async def test_backup_diff_scrolls_long_diff() -> None:
    long_diff = "\n".join(f"+line {number}" for number in range(200))
    app = DialogApp(BackupDiffScreen("long", long_diff))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        scroller = app.screen.query_one("#diff")
        await pilot.press("end")
        assert scroller.scroll_y > 0


async def test_upload_needs_existing_file(tmp_path: Path) -> None:
    app = DialogApp(FileTransferScreen("lab1", upload=True))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, local=str(tmp_path / "missing"), remote="etc/hosts")
        await pilot.press("ctrl+s")
        errors = shown_errors(app)
        assert "does not exist" in errors["local"]
        assert "must be absolute" in errors["remote"]
        source = tmp_path / "hosts"
        source.write_text("127.0.0.1 localhost\n")
        fill(app, local=str(source), remote="/etc/hosts")
        await pilot.press("ctrl+s")
    assert app.results == [(str(tmp_path / "hosts"), "/etc/hosts")]


async def test_download_confirms_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "hosts"
    target.write_text("old\n")
    app = DialogApp(FileTransferScreen("lab1", upload=False))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, local=str(target), remote="/etc/hosts")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert app.results == []
        await pilot.press("ctrl+s")
        await pilot.press("tab", "enter")
    assert app.results == [(str(target), "/etc/hosts")]


async def test_download_into_missing_folder(tmp_path: Path) -> None:
    app = DialogApp(FileTransferScreen("lab1", upload=False))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        fill(app, local=str(tmp_path / "no" / "hosts"), remote="/etc/")
        await pilot.press("ctrl+s")
        errors = shown_errors(app)
        assert "does not exist" in errors["local"]
        assert "names a folder" in errors["remote"]


async def test_import_rows_say_import_or_skip(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(SSH_CONFIG)
    app = DialogApp(ImportScreen(config))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        listing = app.screen.query_one("#field-devices", SelectionList)
        listing.focus()
        await pilot.press("space")
        prompts = [str(listing.get_option_at_index(index).prompt) for index in range(2)]
    assert prompts == [
        "skip   edge1  ops@192.0.2.10:2222",
        "import core1  [2001:db8::1]:22 via edge1",
    ]
