"""The default source of a device's log, as the CLI and the app name it."""

from __future__ import annotations

import pytest

from mudmap_tui.log_files import default_source


@pytest.mark.parametrize(("listing", "expected"), [
    ({"journald": True, "files": []}, "the journal"),
    ({"journald": False, "files": [{"name": "messages"}, {"name": "syslog"}]},
     "/var/log/syslog"),
    ({"journald": False, "files": [{"name": "messages"}]}, "/var/log/messages"),
    ({"journald": False, "files": [{"name": "dpkg.log"}]},
     "none (no journald, no /var/log/syslog or messages)"),
])
def test_default_log_source(listing: dict[str, object], expected: str) -> None:
    assert default_source(listing) == expected
