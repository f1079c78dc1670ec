"""User key remapping: ``keymap.toml`` in the user config directory maps action ids to keys.

Example ``~/.config/mudmap/keymap.toml``::

    [keys]
    "device.reboot" = "ctrl+shift+r"
    "app.help" = "f1,question_mark"
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import platformdirs

from mudmap_tui.actions import ACTIONS_BY_ID
from mudmap_tui.errors import InvalidInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# A Textual key name: letters, digits, underscores, with modifiers joined by "+".
KEY_RE = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")


def default_path() -> Path:
    return Path(platformdirs.user_config_dir("mudmap")) / "keymap.toml"


def parse_keymap(text: str, source: str = "keymap.toml") -> dict[str, str]:
    """Return {action id: keys} from keymap TOML text, every id and key checked.

    :raises InvalidInput: the text is not TOML, an id is unknown or a key is malformed
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(source, "", f"not valid TOML ({error}); fix the file") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise InvalidInput(f"{source} [keys]", keys, "must be a table of action id = keys")
    keymap: dict[str, str] = {}
    for action_id, value in keys.items():
        if action_id not in ACTIONS_BY_ID:
            raise InvalidInput(f"{source} action id", action_id,
                               "is not an action; the help screen (?) lists every id")
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{source} key for {action_id}", value,
                               "must be a key name such as \"ctrl+r\", or several "
                               "separated by commas")
        for key in value.split(","):
            if not KEY_RE.fullmatch(key.strip()):
                raise InvalidInput(f"{source} key for {action_id}", key,
                                   "use Textual key names such as ctrl+r, f2, question_mark")
        keymap[action_id] = ",".join(key.strip() for key in value.split(","))
    return keymap


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """Read the keymap file; a missing file means no remapping."""
    path = path or default_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    return parse_keymap(text, str(path))
