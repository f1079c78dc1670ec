"""``services.*``: systemd units through systemctl, with argv lists and validated unit names."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any, Dict, List

from agent import validate
from agent.errors import AgentError, invalid
from agent.registry import method

SYSTEMCTL = "systemctl"
# systemctl start and stop wait for the unit's job, which may take up to its own timeouts
# (90 s by default in systemd).
JOB_TIMEOUT = 120.0
READ_TIMEOUT = 30.0
# A changing method runs one systemctl job, then reads the unit's status back.
_ACTION_DEADLINE = JOB_TIMEOUT + READ_TIMEOUT + 5
DEADLINES = {
    "services.start": _ACTION_DEADLINE,
    "services.stop": _ACTION_DEADLINE,
    "services.restart": _ACTION_DEADLINE,
    "services.enable": _ACTION_DEADLINE,
    "services.disable": _ACTION_DEADLINE,
}

# systemd's unit_name_is_valid(): at most 255 bytes, a non-empty prefix of
# [A-Za-z0-9:_.\-] with at most one '@' (instance or template), then a known type suffix.
UNIT_NAME_MAX = 255
UNIT_TYPES = (
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
)
_UNIT_RE = re.compile(
    r"^(?P<prefix>[A-Za-z0-9:_.\\-]+)(@(?P<instance>[A-Za-z0-9:_.\\-]*))?"
    r"\.(?P<type>[a-z]+)$"
)

STATUS_PROPERTIES = (
    "Id",
    "Description",
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "MainPID",
    "ActiveEnterTimestamp",
)


def unit_name(value: Any) -> str:
    """Validate a unit name; a name without a type suffix means ``NAME.service``.

    Templates such as ``getty@.service`` pass here; :func:`_unit_for` rejects them for
    actions that need a unit instance.
    """
    rule = (
        "must be a systemd unit name such as ssh.service or getty@tty1.service: at most "
        "255 bytes of letters, digits, ':', '_', '.', '-' and backslash, at most one '@', "
        "and a unit type suffix"
    )
    if not isinstance(value, str) or not value or value.startswith("-"):
        raise invalid("name", value, rule)
    name = value if _has_type_suffix(value) else value + ".service"
    match = _UNIT_RE.match(name)
    if match is None or len(name.encode("utf-8")) > UNIT_NAME_MAX:
        raise invalid("name", value, rule)
    if match.group("type") not in UNIT_TYPES:
        raise invalid("name", value, rule, "known types: %s" % ", ".join(UNIT_TYPES))
    return name


def _has_type_suffix(value: str) -> bool:
    return value.rpartition(".")[2] in UNIT_TYPES


def is_template(name: str) -> bool:
    match = _UNIT_RE.match(name)
    return match is not None and match.group("instance") == ""


def _unit_for(params: Dict[str, Any], allow_template: bool) -> str:
    name = unit_name(validate.required(params, "name"))
    if is_template(name) and not allow_template:
        raise invalid("name", name, "is a template; name an instance such as getty@tty1.service")
    return name


def require_systemd() -> None:
    if not os.path.isdir("/run/systemd/system"):
        raise AgentError(
            "unsupported",
            "systemd is not running on this device (init is %s); services.* needs systemd"
            % _init_name(),
        )


def _init_name() -> str:
    try:
        with open("/proc/1/comm") as comm:
            return comm.read().strip() or "unknown"
    except OSError:
        return "unknown"


def run_systemctl(args: List[str], timeout: float) -> subprocess.CompletedProcess:
    argv = [SYSTEMCTL, "--no-pager", "--no-ask-password", *args]
    try:
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"},
        )
    except FileNotFoundError:
        raise AgentError("unsupported", "systemctl is not installed on this device") from None
    except subprocess.TimeoutExpired:
        raise AgentError(
            "timed_out", "systemctl %s did not finish in %g s" % (" ".join(args), timeout)
        ) from None


def systemctl_error(action: str, name: str, result: subprocess.CompletedProcess) -> AgentError:
    stderr = result.stderr.decode("utf-8", "replace").strip()
    message = "systemctl %s %s failed (exit status %d): %s" % (
        action,
        name,
        result.returncode,
        stderr[-500:] or "no message",
    )
    lowered = stderr.lower()
    if "not found" in lowered or "not loaded" in lowered or "does not exist" in lowered:
        return AgentError("not_found", message, unit=name)
    if "access denied" in lowered or "authentication required" in lowered:
        return AgentError("permission_denied", message + "; run the agent as root", unit=name)
    return AgentError("failed", message, unit=name)


def parse_show(text: str) -> Dict[str, str]:
    """Parse ``systemctl show`` output (``Key=value`` lines)."""
    values: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    return values


def describe_status(values: Dict[str, str]) -> Dict[str, Any]:
    main_pid = values.get("MainPID", "0")
    return {
        "name": values.get("Id", ""),
        "description": values.get("Description", ""),
        "load_state": values.get("LoadState", ""),
        "active_state": values.get("ActiveState", ""),
        "sub_state": values.get("SubState", ""),
        "unit_file_state": values.get("UnitFileState") or None,
        "main_pid": int(main_pid) if main_pid.isdigit() and main_pid != "0" else None,
        "active_since": values.get("ActiveEnterTimestamp") or None,
    }


def status_of(name: str) -> Dict[str, Any]:
    args = ["show", "--property=" + ",".join(STATUS_PROPERTIES), "--", name]
    result = run_systemctl(args, READ_TIMEOUT)
    if result.returncode != 0:
        raise systemctl_error("show", name, result)
    values = parse_show(result.stdout.decode("utf-8", "replace"))
    if values.get("LoadState") == "not-found":
        raise AgentError("not_found", "unit %s not found" % name, unit=name)
    return describe_status(values)


def parse_list_units(text: str) -> List[Dict[str, Any]]:
    """Parse ``systemctl list-units --plain --no-legend``: UNIT LOAD ACTIVE SUB DESCRIPTION."""
    units = []
    for line in text.splitlines():
        fields = line.split(None, 4)
        if len(fields) < 4:
            continue
        units.append(
            {
                "name": fields[0],
                "load_state": fields[1],
                "active_state": fields[2],
                "sub_state": fields[3],
                "description": fields[4] if len(fields) == 5 else "",
            }
        )
    return units


def parse_unit_files(text: str) -> Dict[str, str]:
    """Parse ``systemctl list-unit-files --plain --no-legend``: UNIT FILE, STATE, PRESET."""
    states = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            states[fields[0]] = fields[1]
    return states


@method("services.list")
def services_list(params: Dict[str, Any]) -> Dict[str, Any]:
    """List service units, loaded or with a unit file, with their active and file states."""
    validate.only(validate.params_object(params), ())
    require_systemd()
    common = ["--type=service", "--plain", "--no-legend"]
    units = run_systemctl(["list-units", "--all", *common], READ_TIMEOUT)
    files = run_systemctl(["list-unit-files", *common], READ_TIMEOUT)
    for result, action in ((units, "list-units"), (files, "list-unit-files")):
        if result.returncode != 0:
            raise systemctl_error(action, "", result)
    loaded = parse_list_units(units.stdout.decode("utf-8", "replace"))
    file_states = parse_unit_files(files.stdout.decode("utf-8", "replace"))
    by_name: Dict[str, Dict[str, Any]] = {unit["name"]: unit for unit in loaded}
    for name, state in file_states.items():
        entry = by_name.setdefault(
            name,
            {
                "name": name,
                "load_state": "not-loaded",
                "active_state": "inactive",
                "sub_state": "dead",
                "description": "",
            },
        )
        entry["unit_file_state"] = state
    for entry in by_name.values():
        entry.setdefault("unit_file_state", None)
    return {"services": [by_name[name] for name in sorted(by_name)]}


@method("services.status")
def services_status(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("name",))
    name = _unit_for(params, allow_template=False)
    require_systemd()
    return status_of(name)


def _act(action: str, params: Any, allow_template: bool) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("name",))
    name = _unit_for(params, allow_template)
    require_systemd()
    result = run_systemctl([action, "--", name], JOB_TIMEOUT)
    if result.returncode != 0:
        raise systemctl_error(action, name, result)
    if is_template(name):
        return {"name": name, "action": action}
    status = status_of(name)
    status["action"] = action
    return status


@method("services.start")
def services_start(params: Dict[str, Any]) -> Dict[str, Any]:
    return _act("start", params, allow_template=False)


@method("services.stop")
def services_stop(params: Dict[str, Any]) -> Dict[str, Any]:
    return _act("stop", params, allow_template=False)


@method("services.restart")
def services_restart(params: Dict[str, Any]) -> Dict[str, Any]:
    return _act("restart", params, allow_template=False)


@method("services.enable")
def services_enable(params: Dict[str, Any]) -> Dict[str, Any]:
    return _act("enable", params, allow_template=True)


@method("services.disable")
def services_disable(params: Dict[str, Any]) -> Dict[str, Any]:
    return _act("disable", params, allow_template=True)
