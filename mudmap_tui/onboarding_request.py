"""The onboarding request from the onboard dialog: login password, account and key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mudmap_tui.onboarding import ACCOUNTS, Credentials

# "mudmap" installs the app's own Ed25519 key (made on first use); "existing" installs the
# public key next to a private key file the user names.
KEY_CHOICES = ("mudmap", "existing")


@dataclass(frozen=True)
class OnboardRequest:
    """A request to install a key on a device, logging in once with a password.

    The password is excluded from repr and comparison, so it never reaches a log line or a
    test failure message.
    """

    device: str
    password: str = field(repr=False, compare=False)
    account: str = "mudmap"
    key: str = "mudmap"
    # The private key file when ``key`` is "existing"; its .pub sibling is installed.
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.account not in ACCOUNTS:
            raise ValueError(f"account {self.account!r} must be one of {', '.join(ACCOUNTS)}")
        if self.key not in KEY_CHOICES:
            raise ValueError(f"key {self.key!r} must be one of {', '.join(KEY_CHOICES)}")
        if self.key == "existing" and self.key_file is None:
            raise ValueError("key 'existing' needs key_file, the private key's path")

    def credentials(self) -> Credentials:
        """Return the login credentials for onboarding.onboard()."""
        return Credentials(password=self.password or None)

    def install_key_path(self) -> Path | None:
        """Return the key path for onboarding.install_key(); None means mudmap's own key."""
        return self.key_file if self.key == "existing" else None
