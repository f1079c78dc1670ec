"""Redact key material from command output before it is stored in the run history.

Three shapes are covered: ``Key = value`` lines of config files and ``wg`` output
(``PrivateKey = ...``, ``private key: ...``), PEM private key blocks, and the bare base64
keys that ``wg genkey``, ``wg genpsk`` and ``wg show IFACE private-key`` print. Bare keys
look like public keys, so they are redacted only when the command names one of those
subcommands.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

SECRET_LINE_RE = re.compile(
    r"^(?P<head>\s*(?:PrivateKey|PresharedKey|private[ _-]key|preshared[ _-]keys?|psk|"
    r"password|[a-z0-9-]*-password|wep-key[0-9]|secret|pin)\s*[=:]\s*)"
    r"(?P<value>\S.*?)\s*$",
    re.IGNORECASE,
)
PEM_BLOCK_RE = re.compile(
    r"(-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY)-----)(?P<body>.*?)(-----END (?P=label)-----)",
    re.DOTALL,
)
# A WireGuard key: 32 bytes in base64, 44 characters ending in "=".
BARE_KEY_RE = re.compile(
    r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=(?![A-Za-z0-9+/=])")
BARE_KEY_COMMANDS = re.compile(r"\b(?:genkey|genpsk|private-key|preshared-keys?)\b")
# wg(8) prints "(hidden)" and "(none)" in place of keys; those are not secrets.
PLACEHOLDERS = ("(hidden)", "(none)")


# "PrivateKey = value" inside a line, as in `echo 'PrivateKey = ...' > wg0.conf`.
INLINE_SECRET_RE = re.compile(r"(?i)\b((?:Private|Preshared)Key\s*=\s*)([^\s'\"]+)")


def redact_command(command: str) -> str:
    """Return a command line without the keys it carries, for the stored history."""
    command = INLINE_SECRET_RE.sub(lambda match: match.group(1) + REDACTED, command)
    if BARE_KEY_COMMANDS.search(command):
        command = BARE_KEY_RE.sub(REDACTED, command)
    return command


def redact_output(command: str, text: str) -> str:
    """Return ``text`` with the secrets it contains replaced by ``<redacted>``."""
    text = PEM_BLOCK_RE.sub(lambda m: f"{m.group(1)}\n{REDACTED}\n{m.group(4)}", text)
    lines = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = SECRET_LINE_RE.match(body)
        if match and match.group("value") not in PLACEHOLDERS:
            line = f"{match.group('head')}{REDACTED}{line[len(body):]}"
        lines.append(line)
    text = "".join(lines)
    if BARE_KEY_COMMANDS.search(command):
        text = BARE_KEY_RE.sub(REDACTED, text)
    return text
