"""What the user chose when asking to onboard a device: login password, account and key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The account the app logs in as after onboarding.
ACCOUNTS = ("root", "mudmap")
# "generate" makes a new key pair for this device; "existing" installs a public key the
# user already has.
KEY_CHOICES = ("generate", "existing")


@dataclass(frozen=True)
class OnboardRequest:
    """A request to install the app's key on a device, logging in once with a password.

    The password is excluded from repr and comparison, so it never reaches a log line or a
    test failure message; the onboarding code uses it once and drops it.
    """

    device: str
    password: str = field(repr=False, compare=False)
    account: str = "mudmap"
    key: str = "generate"
    # The private key file when ``key`` is "existing"; its .pub sibling is installed.
    identity_file: Path | None = None

    def __post_init__(self) -> None:
        if self.account not in ACCOUNTS:
            raise ValueError(f"account {self.account!r} must be one of {', '.join(ACCOUNTS)}")
        if self.key not in KEY_CHOICES:
            raise ValueError(f"key {self.key!r} must be one of {', '.join(KEY_CHOICES)}")
        if self.key == "existing" and self.identity_file is None:
            raise ValueError("key 'existing' needs identity_file, the private key's path")
