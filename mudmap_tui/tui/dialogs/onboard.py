"""Ask how to onboard a device: the login password, the account to set up and the key."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Select, Static

from mudmap_tui.errors import InvalidInput
from mudmap_tui.form_checks import Collector
from mudmap_tui.onboarding_request import OnboardRequest
from mudmap_tui.tui.dialogs.base import FormDialog, buttons, field_row

ACCOUNT_OPTIONS = [
    ("mudmap: a dedicated account with passwordless sudo", "mudmap"),
    ("root", "root"),
]
KEY_OPTIONS = [
    ("mudmap's own key (made if missing)", "mudmap"),
    ("an existing key file", "existing"),
]


class OnboardScreen(FormDialog[OnboardRequest | None]):
    """Return an OnboardRequest, or None on cancel.

    The password field is masked. The password is kept only in the returned request, whose
    repr leaves it out, and this screen neither stores nor logs it.
    """

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Onboard {self.device}"
            yield Static(
                "Log in once with a password to install a key; later logins use the key.",
                classes="dialog-body",
            )
            password = Input(password=True, placeholder="the login user's password", compact=True)
            yield from field_row("Password", password, "password")
            account = Select(ACCOUNT_OPTIONS, value="mudmap", allow_blank=False, compact=True)
            yield from field_row("Account", account, "account")
            key = Select(KEY_OPTIONS, value="mudmap", allow_blank=False, compact=True)
            yield from field_row("Key", key, "key")
            key_file = Input(placeholder="~/.ssh/id_ed25519 (its .pub is installed)", compact=True)
            yield from field_row("Key file", key_file, "key_file")
            yield from buttons("Onboard")

    def on_mount(self) -> None:
        self.query_one("#row-key_file").display = False
        self.query_one("#field-password").focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "field-key":
            self.query_one("#row-key_file").display = event.value == "existing"

    def collect(self) -> OnboardRequest | None:
        collector = Collector()
        password = self.value("password")
        if not password:
            collector.add("password", "missing password: type the password of the login user")
        key = str(self.query_one("#field-key", Select).value)
        key_file = None
        if key == "existing":
            key_file = collector.check("key_file", lambda: _key_file(self.value("key_file")))
        collector.raise_if_any()
        account = str(self.query_one("#field-account", Select).value)
        return OnboardRequest(self.device, password, account, key, key_file)


def _key_file(text: str) -> Path:
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise InvalidInput("key file", text, "is required; give the private key's path")
    if not path.is_file():
        raise InvalidInput("key file", str(path), "does not exist or is not a file")
    public = path.with_name(path.name + ".pub")
    if not public.is_file():
        raise InvalidInput(
            "key file", str(path), f"has no public key {public}; make it with ssh-keygen -y -f"
        )
    return path
