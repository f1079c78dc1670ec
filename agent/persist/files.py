"""Writing persisted configuration files: atomic replace, previous version kept."""

from __future__ import annotations

import contextlib
import os
import shutil

from agent.snapshot import write_atomic

# Set by tests to write under a scratch directory instead of the device's /.
ROOT = ""
PREVIOUS_SUFFIX = ".mudmap-prev"
HEADER = "Written by mudmap; mudmap replaces this file when it persists %s again."


def path(name: str) -> str:
    return ROOT + name


def previous_path(target: str) -> str:
    """Name the copy of ``target``'s previous version: ``DIR/.NAME.mudmap-prev``.

    The leading dot keeps the copy out of ``source /etc/network/interfaces.d/*``: ifupdown
    expands that pattern with wordexp(3), whose ``*`` skips dot-files as the shell does
    (checked with ``ifup -v`` of ifupdown 0.8.41). ``source-directory`` reads only names
    matching ``^[a-zA-Z0-9_-]+$``, networkd only ``*.network`` and ``*.netdev``, and
    wg-quick only ``NAME.conf``.
    """
    directory, name = os.path.split(target)
    return os.path.join(directory, "." + name + PREVIOUS_SUFFIX)


def remove_legacy_previous(target: str) -> None:
    """Delete ``target.mudmap-prev``, where older agents kept the previous version.

    ifupdown sources that name from interfaces.d, so at boot the old stanza ran after the
    current one and undid it.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target + PREVIOUS_SUFFIX)


def replace(target: str, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` to ``target`` unless it already contains it; return True on a change.

    The old file is kept at ``previous_path(target)``.
    """
    remove_legacy_previous(target)
    data = text.encode("utf-8")
    try:
        with open(target, "rb") as handle:
            if handle.read() == data:
                return False
        shutil.copy2(target, previous_path(target))
    except FileNotFoundError:
        pass
    write_atomic(target, data, mode)
    return True


def remove(target: str) -> bool:
    """Move ``target`` to ``previous_path(target)``; return True when it existed."""
    remove_legacy_previous(target)
    if not os.path.exists(target):
        return False
    os.replace(target, previous_path(target))
    return True


def read_text(target: str) -> str:
    try:
        with open(target, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return ""


def list_dir(directory: str) -> list:
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
