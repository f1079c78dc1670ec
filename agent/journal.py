"""``journal.tail`` and ``journal.files``: the system log, from journald or from /var/log.

With journald running, entries come from ``journalctl -o json``. Without it, only plain
files directly inside /var/log can be read, by a base name that is checked so the request
can never reach outside that directory.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
from typing import Any, Dict, List, Optional

from agent import validate
from agent.errors import AgentError, invalid
from agent.registry import method
from agent.services import unit_name

MAX_LINES = 10000
DEFAULT_LINES = 100
LOG_DIR = "/var/log"
# Tried in order when no file is named: Debian's and Red Hat's rsyslog defaults.
DEFAULT_FILES = ("syslog", "messages")
JOURNAL_TIMEOUT = 30.0
# Bytes read from the end of a file per step while looking for enough line breaks.
TAIL_BLOCK = 65536
_FILE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


def journald_running() -> bool:
    return os.path.isdir("/run/systemd/journal") and shutil.which("journalctl") is not None


def parse_since(value: Any) -> int:
    """Return ``since`` as Unix seconds: a number, or ISO 8601 text with a UTC offset."""
    rule = "must be Unix seconds or ISO 8601 time with offset, such as 2026-12-04T20:00:00+00:00"
    if isinstance(value, bool):
        raise invalid("since", value, rule)
    if isinstance(value, (int, float)):
        if value < 0:
            raise invalid("since", value, rule)
        return int(value)
    if not isinstance(value, str):
        raise invalid("since", value, rule)
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise invalid("since", value, rule) from None
    if moment.tzinfo is None:
        raise invalid("since", value, rule, "add an offset such as +00:00")
    return int(moment.timestamp())


def log_file(value: Any) -> str:
    rule = "must be the name of a file directly in /var/log, such as syslog or auth.log"
    if not isinstance(value, str) or not _FILE_RE.match(value) or len(value) > 255:
        raise invalid("file", value, rule)
    path = os.path.join(LOG_DIR, value)
    # A symlink could point anywhere, so the resolved path must still be in /var/log.
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(LOG_DIR):
        raise invalid("file", value, rule, "it resolves outside /var/log")
    return path


def journal_entry(record: Dict[str, Any]) -> Dict[str, Any]:
    message = record.get("MESSAGE")
    # journalctl writes a message that is not valid UTF-8 as an array of byte values.
    if isinstance(message, list):
        message = bytes(message).decode("utf-8", "replace")
    timestamp = record.get("__REALTIME_TIMESTAMP")
    return {
        "time": int(timestamp) / 1e6 if timestamp else None,
        "unit": record.get("_SYSTEMD_UNIT"),
        "identifier": record.get("SYSLOG_IDENTIFIER"),
        "pid": int(record["_PID"]) if str(record.get("_PID", "")).isdigit() else None,
        "priority": int(record["PRIORITY"]) if str(record.get("PRIORITY", "")).isdigit() else None,
        "message": message,
    }


def journal_argv(lines: int, unit: Optional[str], since: Optional[int]) -> List[str]:
    argv = ["journalctl", "--no-pager", "--output=json", "--lines=%d" % lines]
    if since is not None:
        argv.append("--since=@%d" % since)
    if unit is not None:
        argv.append("--unit=" + unit)
    return argv


def read_journal(lines: int, unit: Optional[str], since: Optional[int]) -> Dict[str, Any]:
    try:
        result = subprocess.run(
            journal_argv(lines, unit, since),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=JOURNAL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise AgentError(
            "timed_out", "journalctl did not finish in %g s" % JOURNAL_TIMEOUT
        ) from None
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()[-500:]
        raise AgentError(
            "failed", "journalctl failed (exit status %d): %s" % (result.returncode, stderr)
        )
    entries = [
        journal_entry(json.loads(line))
        for line in result.stdout.decode("utf-8", "replace").splitlines()
        if line.strip()
    ]
    return {"source": "journal", "unit": unit, "entries": entries}


def tail_lines(path: str, lines: int) -> List[str]:
    """Read the last ``lines`` lines of a file without reading all of it."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        data = b""
        while position > 0 and data.count(b"\n") <= lines:
            step = min(TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    text = data.decode("utf-8", "replace")
    return text.splitlines()[-lines:] if lines else []


def read_file(lines: int, name: Optional[str]) -> Dict[str, Any]:
    if name is not None:
        candidates = [log_file(name)]
    else:
        candidates = [os.path.join(LOG_DIR, base) for base in DEFAULT_FILES]
    for path in candidates:
        if os.path.isfile(path):
            try:
                found = tail_lines(path, lines)
            except PermissionError:
                raise AgentError(
                    "permission_denied", "cannot read %s; run the agent as root" % path
                ) from None
            return {
                "source": "file",
                "path": path,
                "entries": [{"message": line} for line in found],
            }
    if name is not None and os.path.isdir(candidates[0]):
        raise invalid("file", name, "must be a file directly in /var/log, not a directory",
                      "give the name of a file in it")
    if name is not None:
        raise AgentError("not_found", "log file %s not found" % candidates[0])
    raise AgentError(
        "unsupported",
        "journald is not running and neither /var/log/syslog nor /var/log/messages exists; "
        "name a file in /var/log, such as `mudmap logs DEVICE --file kern.log`",
    )


# Files in /var/log that hold binary records or compressed text, which a tail cannot show.
BINARY_LOGS = ("wtmp", "btmp", "lastlog", "faillog")
COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2", ".zst", ".lz4")
MAX_FILES = 500


@method("journal.files")
def files(params: Any) -> Dict[str, Any]:
    """List the text files directly in /var/log that ``journal.tail`` can read, newest first."""
    validate.only(validate.params_object(params), ())
    found = []
    try:
        names = os.listdir(LOG_DIR)
    except FileNotFoundError:
        names = []
    except PermissionError:
        raise AgentError(
            "permission_denied", "cannot list %s; run the agent as root" % LOG_DIR
        ) from None
    for name in names:
        if not _FILE_RE.match(name) or name in BINARY_LOGS or name.endswith(COMPRESSED_SUFFIXES):
            continue
        try:
            path = log_file(name)
            info = os.stat(path)
        except (AgentError, OSError):
            continue
        if not os.path.isfile(path):
            continue
        found.append({"name": name, "size": info.st_size, "mtime": info.st_mtime})
    found.sort(key=lambda entry: (-entry["mtime"], entry["name"]))
    return {"journald": journald_running(), "files": found[:MAX_FILES],
            "truncated": len(found) > MAX_FILES}


@method("journal.tail")
def tail(params: Any) -> Dict[str, Any]:
    """Return the last ``lines`` log entries, of one unit or since a time with journald."""
    params = validate.params_object(params)
    validate.only(params, ("unit", "lines", "since", "file"))
    lines = validate.integer("lines", params.get("lines", DEFAULT_LINES), 1, MAX_LINES)
    unit = unit_name(params["unit"]) if "unit" in params else None
    since = parse_since(params["since"]) if "since" in params else None
    name = params.get("file")
    if name is None and journald_running():
        return read_journal(lines, unit, since)
    if unit is not None or since is not None:
        raise AgentError(
            "unsupported",
            "journald is not running on this device, so logs cannot be filtered by unit or "
            "since; read a file in /var/log instead, such as with `--file syslog`",
        )
    return read_file(lines, name)
