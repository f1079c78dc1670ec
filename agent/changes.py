"""Guarded changes: plan, diff, apply under a rollback timer, confirm.

A change is a list of operations, each an existing write method with its params::

    {"method": "interfaces.update", "params": {"name": "eth0", "mtu": 1400}}

``changes.plan`` returns the diff against the runtime state and the hash of that state.
``changes.apply`` rejects the change with ``conflict`` when the state hash no longer
matches. Otherwise it snapshots every interface and file the change touches into a
root-only directory under /run/mudmap/changes/ID. Then it starts a rollback process
(agent/rollback.py), detached from the agent and its SSH session, and applies the
operations. Unless ``changes.confirm`` arrives before the timeout, the rollback process
restores the snapshot. Only one change can
be pending at a time. The outcome of every change is recorded under /var/lib/mudmap/changes
so that a controller that was away learns about rollbacks on its next connection.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import ipaddress
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

from agent import snapshot, validate
from agent.errors import AgentError, invalid
from agent.registry import METHODS, PARAM_CHECKS, STATE_CHECKS, method

log = logging.getLogger(__name__)

RUN_DIR = "/run/mudmap/changes"
RECORD_DIR = "/var/lib/mudmap/changes"
DEFAULT_TIMEOUT = 60.0
MIN_TIMEOUT = 5.0
MAX_TIMEOUT = 3600.0
# Seconds apply waits for the rollback process to report that its timer is armed.
GUARD_START_TIMEOUT = 10.0
# The largest step_delay a caller may ask for; it exists to test a kill in mid-apply.
MAX_STEP_DELAY = 30.0
MAX_OPS = 64
# Acknowledged records are kept this long, finished change directories in /run this long.
RECORD_RETENTION = 90 * 86400.0
RUN_RETENTION = 86400.0

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

OP_METHODS = (
    "interfaces.create",
    "interfaces.update",
    "interfaces.delete",
    "addresses.add",
    "addresses.remove",
    "addresses.replace",
    "wg.create",
    "wg.set",
    "wg.delete",
    "wg.peer.add",
    "wg.peer.update",
    "wg.peer.remove",
)

# The marker files whose rename decides between confirm and rollback: both rename ARMED,
# and only one rename can succeed.
ARMED = "armed"
CONFIRMED = "confirmed"
ROLLING_BACK = "rolling-back"

DEADLINES = {"changes.apply": 300.0, "changes.plan": 30.0, "changes.drift": 30.0}

Op = Tuple[str, Dict[str, Any]]


def parse_ops(value: Any) -> List[Op]:
    """Check the list of operations and validate each one's params in full."""
    items = validate.array("ops", value, MAX_OPS)
    if not items:
        raise invalid("ops", value, "must list at least one operation")
    ops: List[Op] = []
    for position, item in enumerate(items):
        field = "ops[%d]" % position
        if not isinstance(item, dict) or set(item) - {"method", "params"}:
            raise invalid(field, item, 'must be an object with "method" and "params"')
        name = validate.enum(field + ".method", item.get("method"), OP_METHODS)
        if "params" not in item:
            raise AgentError(
                "invalid_params", '%s has no "params" object' % field, field=field + ".params"
            )
        params = item["params"]
        if not isinstance(params, dict):
            raise invalid(field + ".params", params, "must be an object")
        with _at_op(position, name):
            _check_params(name, params)
        ops.append((name, params))
    return ops


def _check_params(name: str, params: Dict[str, Any]) -> None:
    _load_checks()
    check = PARAM_CHECKS.get(name)
    if check is None:
        # The WireGuard module is missing: the method fails when it runs.
        validate.interface_name("name", params.get("name"))
        return
    check(copy.deepcopy(params))


def _load_checks() -> None:
    """Import the modules that register the checks, as the server does for their methods."""
    from agent import links_write  # noqa: F401

    with contextlib.suppress(ImportError):
        from agent import wireguard  # noqa: F401


@contextlib.contextmanager
def _at_op(position: int, name: str) -> Iterator[None]:
    """Prefix an error with the operation that caused it, as a failed apply does."""
    try:
        yield
    except AgentError as error:
        error.message = "ops[%d] %s: %s" % (position, name, error.message)
        error.args = (error.message,)
        raise


def check_state(ops: List[Op]) -> None:
    """Check each operation against the current links before anything is applied.

    Only operations whose interfaces no earlier operation of the change touches are
    checked, because the links an earlier operation changes are known only after it ran.
    """
    from agent.links import read_table

    table = read_table()
    touched: Set[str] = set()
    for position, (name, params) in enumerate(ops):
        names = set(touched_names([(name, params)]))
        if isinstance(params.get("parent"), str):
            names.add(params["parent"])
        check = STATE_CHECKS.get(name)
        if check is not None and not names & touched:
            with _at_op(position, name):
                check(table, copy.deepcopy(params))
        touched |= names


def touched_names(ops: List[Op]) -> List[str]:
    names: List[str] = []
    for _name, params in ops:
        for key in ("name", "new_name", "peer", "master"):
            value = params.get(key)
            if isinstance(value, str) and value not in names:
                names.append(value)
    return names


# Predicting the state after a change, to show the diff before anything is applied.


def simulate(
    entries: List[snapshot.Entry], ops: List[Op], warnings: Optional[List[str]] = None
) -> Dict[str, snapshot.Entry]:
    """Predict the interfaces after ``ops``; effects the caller may not expect go to warnings."""
    state = {entry["name"]: snapshot.public_view(entry) for entry in entries}
    for name, params in ops:
        notes = SIMULATORS[name](state, params)
        if notes and warnings is not None:
            warnings.extend(notes)
    return state


def _get(state: Dict[str, snapshot.Entry], name: str) -> snapshot.Entry:
    return state.setdefault(name, {"name": name, "exists": False})


def _sim_create(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    kind = params.get("kind")
    settings = {
        k: v
        for k, v in params.items()
        if k not in ("kind", "name", "mtu", "mac", "state", "master")
    }
    entry = {
        "name": params["name"],
        "exists": True,
        "kind": kind,
        "mtu": params.get("mtu"),
        "admin_state": params.get("state", "down"),
        "master": params.get("master"),
        "addresses": [],
        "settings": settings,
    }
    if kind == "wireguard":
        entry["wireguard"] = {
            "listen_port": params.get("listen_port"),
            "peers": [],
            "private_key_sha256": "(generated on the device)",
        }
    state[params["name"]] = entry
    if kind == "veth" and params.get("peer"):
        state[params["peer"]] = {
            "name": params["peer"],
            "exists": True,
            "kind": "veth",
            "admin_state": "down",
            "addresses": [],
        }


def _sim_wg_create(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    _sim_create(state, dict(params, kind="wireguard"))


def _sim_update(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> List[str]:
    entry = _get(state, params["name"])
    notes = []
    if params.get("state") == "down" and entry.get("admin_state") != "down":
        notes = _ipv6_dropped_on_down(params["name"], _addresses(entry))
    for key, field in (("mtu", "mtu"), ("mac", "mac"), ("state", "admin_state")):
        if params.get(key) is not None:
            entry[field] = params[key]
    if "master" in params:
        entry["master"] = params["master"]
    if params.get("new_name") and params["new_name"] != params["name"]:
        moved = dict(entry, name=params["new_name"])
        state[params["name"]] = {"name": params["name"], "exists": False}
        state[params["new_name"]] = moved
    return notes


def _ipv6_dropped_on_down(name: str, addresses: List[str]) -> List[str]:
    """Warn that Linux removes a link's global IPv6 addresses when it goes down.

    It keeps them only with net.ipv6.conf.all or .NAME.keep_addr_on_down set, and setting
    the link up again does not bring static ones back.
    """
    global_v6 = [a for a in addresses if ":" in a and not a.lower().startswith("fe80:")]
    if not global_v6 or _keeps_ipv6_on_down(name):
        return []
    return [
        "setting %s down removes its IPv6 addresses %s, and setting it up again does not "
        "restore them; re-add them, or set net.ipv6.conf.%s.keep_addr_on_down=1 first"
        % (name, ", ".join(global_v6), name)
    ]


def _keeps_ipv6_on_down(name: str) -> bool:
    for scope in ("all", name):
        try:
            with open("/proc/sys/net/ipv6/conf/%s/keep_addr_on_down" % scope) as handle:
                if int(handle.read().strip() or 0) > 0:
                    return True
        except (OSError, ValueError):
            continue
    return False


def _sim_delete(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    name = params["name"]
    state[name] = {"name": name, "exists": False}
    for entry in state.values():
        if entry.get("master") == name:
            entry["master"] = None
        if (entry.get("settings") or {}).get("parent") == name:
            state[entry["name"]] = {"name": entry["name"], "exists": False}
        if (entry.get("settings") or {}).get("peer") == name:
            state[entry["name"]] = {"name": entry["name"], "exists": False}


def _addresses(entry: snapshot.Entry) -> List[str]:
    return list(entry.get("addresses") or [])


def _sim_addr_add(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    entry = _get(state, params["name"])
    entry["addresses"] = sorted(set(_addresses(entry)) | {str(params.get("address"))})


def _sim_addr_remove(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    entry = _get(state, params["name"])
    entry["addresses"] = sorted(set(_addresses(entry)) - {str(params.get("address"))})


def _sim_addr_replace(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    _get(state, params["name"])["addresses"] = sorted(str(a) for a in params.get("addresses", []))


def _wireguard(state: Dict[str, snapshot.Entry], name: str) -> Dict[str, Any]:
    entry = _get(state, name)
    wireguard = entry.setdefault("wireguard", {"peers": []})
    return wireguard  # type: ignore[no-any-return]


def _sim_wg_set(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    wireguard = _wireguard(state, params["name"])
    for key in ("listen_port", "fwmark"):
        if key in params:
            wireguard[key] = params[key]
    if "private_key" in params:
        wireguard["private_key_sha256"] = "(changed)"


def _sim_wg_delete(state: Dict[str, snapshot.Entry], params: Dict[str, Any]) -> None:
    state[params["name"]] = {"name": params["name"], "exists": False}


def _sim_peer(
    state: Dict[str, snapshot.Entry], params: Dict[str, Any], remove: bool
) -> List[str]:
    wireguard = _wireguard(state, params["name"])
    peers = [p for p in wireguard.get("peers", []) if p["public_key"] != params.get("public_key")]
    warnings: List[str] = []
    if not remove:
        old = [p for p in wireguard.get("peers", []) if p["public_key"] == params.get("public_key")]
        peer = dict(old[0]) if old else {"public_key": params.get("public_key")}
        for key in ("endpoint", "allowed_ips", "persistent_keepalive"):
            if key in params:
                peer[key] = params[key]
        if params.get("endpoint"):
            peer["endpoint"] = _endpoint_text(params["endpoint"])
        # Whether a key is set and its fingerprint: the diff and the hash never carry the key.
        if "preshared_key" in params:
            peer["preshared_key_set"] = bool(params["preshared_key"])
            peer["preshared_key_sha256"] = snapshot.key_fingerprint(params["preshared_key"])
        else:
            peer.setdefault("preshared_key_set", False)
            peer.setdefault("preshared_key_sha256", None)
        if "allowed_ips" in params:
            warnings = _take_allowed_ips(params["name"], peer, peers)
        peers.append(peer)
    wireguard["peers"] = sorted(peers, key=lambda p: str(p["public_key"]))
    return warnings


def _endpoint_text(value: str) -> str:
    """Write an endpoint as the device reports it, so both sides of a diff look alike."""
    from agent.wireguard import params
    from agent.wireguard.model import format_endpoint

    return format_endpoint(params.endpoint(value))


def _take_allowed_ips(
    interface: str, peer: Dict[str, Any], others: List[Dict[str, Any]]
) -> List[str]:
    """Remove ``peer``'s allowed IPs from the other peers, as WireGuard does; describe each move.

    WireGuard routes each allowed IP to one peer only, so giving a peer a network that
    another peer of the interface has moves it. A network that only overlaps (10.0.0.0/24
    and 10.0.0.2/32) stays with both peers.
    """
    from agent.wireguard import params

    # Sorted as the device lists them, so the predicted state matches a later snapshot.
    networks = sorted(params.allowed_ips(list(peer.get("allowed_ips") or [])))
    peer["allowed_ips"] = networks
    warnings = []
    for other in others:
        kept = []
        for network in other.get("allowed_ips") or []:
            if str(ipaddress.ip_network(network, strict=False)) not in networks:
                kept.append(network)
                continue
            warnings.append(
                "allowed IP %s moves from peer %s to peer %s on %s"
                % (network, _short_key(other), _short_key(peer), interface)
            )
        other["allowed_ips"] = kept
    return warnings


def _short_key(peer: Dict[str, Any]) -> str:
    return str(peer["public_key"])[:8] + "\u2026"


# Each simulator changes the state in place. A list it returns contains warnings for the plan.
SIMULATORS: Dict[str, Callable[[Dict[str, snapshot.Entry], Dict[str, Any]], Any]] = {
    "interfaces.create": _sim_create,
    "interfaces.update": _sim_update,
    "interfaces.delete": _sim_delete,
    "addresses.add": _sim_addr_add,
    "addresses.remove": _sim_addr_remove,
    "addresses.replace": _sim_addr_replace,
    "wg.create": _sim_wg_create,
    "wg.set": _sim_wg_set,
    "wg.delete": _sim_wg_delete,
    "wg.peer.add": lambda state, params: _sim_peer(state, params, False),
    "wg.peer.update": lambda state, params: _sim_peer(state, params, False),
    "wg.peer.remove": lambda state, params: _sim_peer(state, params, True),
}

DIFF_FIELDS = ("kind", "mtu", "mac", "admin_state", "master", "addresses", "settings", "wireguard")


def diff(before: List[snapshot.Entry], after: Dict[str, snapshot.Entry]) -> List[Dict[str, Any]]:
    """Compare interfaces before and after; list only the interfaces that change."""
    old = {entry["name"]: snapshot.public_view(entry) for entry in before}
    result = []
    for name in list(old) + [n for n in after if n not in old]:
        was = old.get(name, {"exists": False})
        will = after.get(name, was)
        if not was["exists"] and will["exists"]:
            result.append(
                {
                    "name": name,
                    "action": "create",
                    "kind": will.get("kind"),
                    "changes": _field_changes({}, will),
                }
            )
        elif was["exists"] and not will["exists"]:
            result.append(
                {
                    "name": name,
                    "action": "delete",
                    "kind": was.get("kind"),
                    "changes": _field_changes(was, {}),
                }
            )
        elif was["exists"]:
            changes = _field_changes(was, will)
            if changes:
                result.append(
                    {"name": name, "action": "update", "kind": was.get("kind"), "changes": changes}
                )
    return result


def _field_changes(was: Dict[str, Any], will: Dict[str, Any]) -> List[Dict[str, Any]]:
    changes = []
    for field in DIFF_FIELDS:
        old, new = was.get(field), will.get(field)
        if field in will and field in was and new is None and old is not None and field == "mtu":
            continue
        if old != new and (old not in (None, [], {}) or new not in (None, [], {})):
            changes.append({"field": field, "before": old, "after": new})
    return changes


def format_diff(entries: List[Dict[str, Any]]) -> str:
    """Write a diff as text: + created, - deleted, ~ changed, one field per line."""
    marks = {"create": "+", "delete": "-", "update": "~"}
    lines = []
    for entry in entries:
        lines.append("%s %s (%s)" % (marks[entry["action"]], entry["name"], entry["kind"]))
        for change in entry["changes"]:
            lines.append(
                "    %s: %s -> %s"
                % (change["field"], _show(change["before"]), _show(change["after"]))
            )
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


# Pending changes and their records on disk.


@contextlib.contextmanager
def change_lock() -> Iterator[None]:
    """Serialise apply, confirm and status between agents on the same device."""
    os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
    os.chmod(RUN_DIR, 0o700)
    fd = os.open(os.path.join(RUN_DIR, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def change_dir(change_id: str) -> str:
    return os.path.join(RUN_DIR, change_id)


def read_json(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def write_json(path: str, data: Dict[str, Any]) -> None:
    snapshot.write_atomic(path, json.dumps(data, sort_keys=True).encode(), 0o600)


def record_path(change_id: str) -> str:
    return os.path.join(RECORD_DIR, change_id + ".json")


def update_record(change_id: str, **fields: Any) -> Dict[str, Any]:
    """Merge ``fields`` into the change's record under RECORD_DIR and return it."""
    os.makedirs(RECORD_DIR, mode=0o700, exist_ok=True)
    record = read_json(record_path(change_id)) or {"id": change_id}
    record.update(fields)
    write_json(record_path(change_id), record)
    return record


def discard_snapshot(directory: str) -> None:
    """Delete a finished change's snapshot, which contains WireGuard private keys."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(directory, "snapshot.json"))


def prune(now: float) -> None:
    """Delete acknowledged records and finished change directories past their retention."""
    for name in _list(RECORD_DIR):
        path = os.path.join(RECORD_DIR, name)
        record = read_json(path)
        if record and record.get("reported") and _older(path, now, RECORD_RETENTION):
            os.unlink(path)
    for name in _list(RUN_DIR):
        directory = change_dir(name)
        finished = not os.path.exists(os.path.join(directory, ARMED))
        if finished and os.path.isdir(directory) and _older(directory, now, RUN_RETENTION):
            shutil.rmtree(directory, ignore_errors=True)


def _list(directory: str) -> List[str]:
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def _older(path: str, now: float, seconds: float) -> bool:
    try:
        return now - os.stat(path).st_mtime > seconds
    except FileNotFoundError:
        return False


def pid_alive(pid: Optional[int]) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; its parent has not reaped it yet.
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def pending_changes() -> List[Dict[str, Any]]:
    """List the changes whose rollback timer is armed and whose guard is still running."""
    result = []
    try:
        names = sorted(os.listdir(RUN_DIR))
    except FileNotFoundError:
        return []
    for name in names:
        directory = change_dir(name)
        meta = read_json(os.path.join(directory, "change.json"))
        if meta is None or not os.path.exists(os.path.join(directory, ARMED)):
            continue
        if not pid_alive(read_pid(directory)):
            continue
        result.append(public_meta(meta))
    return result


def read_pid(directory: str) -> Optional[int]:
    try:
        with open(os.path.join(directory, "guard.pid"), encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def public_meta(meta: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("id", "created", "deadline", "timeout", "diff", "text", "persist", "actor")
    result = {key: meta.get(key) for key in keys}
    result["remaining"] = max(0.0, round(meta["deadline"] - time.time(), 1))
    return result


def format_deadline(deadline: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(deadline))


def refuse_if_pending() -> None:
    pending = pending_changes()
    if pending:
        change = pending[0]
        raise AgentError(
            "conflict",
            "change %s is pending until %s (%.0f s left); confirm it with changes.confirm or "
            "wait for its rollback before applying another change"
            % (change["id"], format_deadline(change["deadline"]), change["remaining"]),
            pending=change["id"],
            deadline=change["deadline"],
        )


# Methods.


def _plan(ops: List[Op], persist: bool) -> Dict[str, Any]:
    from agent import persist as persistence

    names = touched_names(ops)
    files = persistence.files_for(names, ops) if persist else []
    taken = snapshot.capture(names, files)
    warnings: List[str] = []
    predicted = simulate(taken["interfaces"], ops, warnings)
    entries = diff(taken["interfaces"], predicted)
    return {
        "snapshot": taken,
        "diff": entries,
        "warnings": warnings,
        "text": format_diff(entries),
        "state_hash": snapshot.state_hash(taken["interfaces"]),
        "files": files,
    }


def _params(params: Any, extra: Tuple[str, ...]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("ops", "persist", *extra))
    return params


@method("changes.plan")
def changes_plan(params: Dict[str, Any]) -> Dict[str, Any]:
    params = _params(params, ())
    ops = parse_ops(validate.required(params, "ops"))
    persist = validate.boolean("persist", params.get("persist", False))
    if persist:
        _check_persist(ops)
    check_state(ops)
    plan = _plan(ops, persist)
    return {key: plan[key] for key in ("diff", "text", "state_hash", "files", "warnings")}


def _check_persist(ops: List[Op]) -> None:
    from agent import persist as persistence

    persistence.check_supported(touched_names(ops), ops)
    persistence.check_existing(touched_names(ops), ops)


@method("changes.apply")
def changes_apply(params: Dict[str, Any]) -> Dict[str, Any]:
    params = _params(params, ("state_hash", "timeout", "actor", "step_delay", "id"))
    ops = parse_ops(validate.required(params, "ops"))
    expected = validate.required(params, "state_hash")
    persist = validate.boolean("persist", params.get("persist", False))
    timeout = _number("timeout", params.get("timeout", DEFAULT_TIMEOUT), MIN_TIMEOUT, MAX_TIMEOUT)
    step_delay = _number("step_delay", params.get("step_delay", 0), 0, MAX_STEP_DELAY)
    if persist:
        _check_persist(ops)
    with change_lock():
        refuse_if_pending()
        plan = _plan(ops, persist)
        if plan["state_hash"] != expected:
            raise AgentError(
                "conflict",
                "the device changed since the plan was made; review the new diff and plan again",
                diff=plan["diff"],
                text=plan["text"],
                state_hash=plan["state_hash"],
            )
        # After the hash, so a stale plan gets the conflict and the new diff.
        check_state(ops)
        change_id = _new_id(params.get("id"))
        meta = _arm(change_id, plan, ops, timeout, persist, params.get("actor"))
    return _run_ops(change_id, meta, ops, persist, step_delay)


def _number(field: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise invalid(field, value, "must be a number of seconds from %g to %g" % (low, high))
    return float(value)


def new_change_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _new_id(requested: Any) -> str:
    """Use the controller's id, so it can find the outcome even when the reply is lost."""
    if requested is None:
        return new_change_id()
    if not isinstance(requested, str) or not ID_RE.match(requested):
        raise invalid("id", requested, "must be 1 to 64 letters, digits, '-' or '_'")
    if os.path.exists(change_dir(requested)) or os.path.exists(record_path(requested)):
        raise AgentError("exists", "a change with id %s already exists" % requested)
    return requested


def _arm(
    change_id: str,
    plan: Dict[str, Any],
    ops: List[Op],
    timeout: float,
    persist: bool,
    actor: Any,
) -> Dict[str, Any]:
    """Write the snapshot and start the rollback process; return the change's metadata."""
    directory = change_dir(change_id)
    os.makedirs(directory, mode=0o700)
    write_json(os.path.join(directory, "snapshot.json"), plan["snapshot"])
    now = time.time()
    meta = {
        "id": change_id,
        "created": now,
        "deadline": now + timeout,
        "timeout": timeout,
        "diff": plan["diff"],
        "text": plan["text"],
        "persist": persist,
        "actor": actor if isinstance(actor, str) else None,
        "methods": [name for name, _params in ops],
    }
    write_json(os.path.join(directory, "change.json"), meta)
    with open(os.path.join(directory, ARMED), "w", encoding="ascii"):
        pass
    update_record(change_id, status="applying", reported=False, **public_meta(meta))
    start_guard(directory)
    return meta


def guard_environment() -> Dict[str, str]:
    """Name the directories that hold this agent's code, for the rollback process's sys.path."""
    import pyroute2

    import agent

    roots = []
    for module in (agent, pyroute2):
        root = os.path.dirname(os.path.dirname(os.path.abspath(module.__file__ or "")))
        if root not in roots:
            roots.append(root)
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "MUDMAP_GUARD_PATH": os.pathsep.join(roots),
        "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1",
    }


# The rollback process runs this, so its command line never names the agent's zipapp and a
# `pkill -f` aimed at the agent leaves it alone.
GUARD_BOOTSTRAP = (
    "import os, sys; sys.path[0:0] = os.environ['MUDMAP_GUARD_PATH'].split(os.pathsep); "
    "from agent.rollback import main; sys.exit(main(sys.argv[1]))"
)


def start_guard(directory: str) -> None:
    """Start the rollback process detached from the agent: double fork, setsid, exec.

    The grandchild belongs to no process group or session of the agent or of sshd, and init
    adopts it, so it outlives the agent, the SSH channel and the SSH connection.
    """
    argv = [sys.executable, "-I", "-c", GUARD_BOOTSTRAP, directory]
    env = guard_environment()
    log_path = os.path.join(directory, "guard.log")
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            null = os.open(os.devnull, os.O_RDONLY)
            output = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.closerange(3, 65536)
            os.chdir("/")
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)
    _wait_for_guard(directory)


def _wait_for_guard(directory: str) -> None:
    deadline = time.monotonic() + GUARD_START_TIMEOUT
    while time.monotonic() < deadline:
        if pid_alive(read_pid(directory)):
            return
        time.sleep(0.02)
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(directory, ARMED))
    raise AgentError(
        "failed",
        "the rollback process did not start, so nothing was applied; "
        "see %s/guard.log on the device" % directory,
    )


def _run_ops(
    change_id: str, meta: Dict[str, Any], ops: List[Op], persist: bool, step_delay: float
) -> Dict[str, Any]:
    results = []
    for position, (name, params) in enumerate(ops):
        if step_delay and position:
            time.sleep(step_delay)
        # The lock keeps each operation and the rollback process from running at once.
        with change_lock():
            _require_armed(change_id, position)
            try:
                results.append(METHODS[name](copy.deepcopy(params)))
            except AgentError as error:
                return _fail(change_id, position, name, error)
    files: List[str] = []
    with change_lock():
        _require_armed(change_id, len(ops))
        if persist:
            from agent import persist as persistence

            try:
                files = persistence.write(touched_names(ops), ops)
            except AgentError as error:
                return _fail(change_id, len(ops), "persist", error)
            except (OSError, ValueError) as error:
                log.exception("change %s: persisting failed", change_id)
                failed = AgentError("failed", "writing the configuration files failed: %s" % error)
                return _fail(change_id, len(ops), "persist", failed)
        update_record(change_id, status="pending", files=files)
    result = public_meta(meta)
    result.update({"status": "pending", "results": _redact(results), "files": files})
    return result


def _require_armed(change_id: str, position: int) -> None:
    if not os.path.exists(os.path.join(change_dir(change_id), ARMED)):
        raise AgentError(
            "conflict",
            "change %s was rolled back by its guard before step %d finished; apply it again "
            "with a longer timeout" % (change_id, position),
            change=change_id,
        )


def _fail(change_id: str, position: int, name: str, error: AgentError) -> Dict[str, Any]:
    """Roll back at once after a failed operation and raise the operation's error."""
    errors = roll_back_now(
        change_id, "operation %d (%s) failed: %s" % (position, name, error.message)
    )
    error.data["change"] = change_id
    error.data["rolled_back"] = not errors
    error.data["rollback_errors"] = errors
    error.message = "ops[%d] %s: %s; the change was rolled back" % (position, name, error.message)
    error.args = (error.message,)
    raise error


def roll_back_now(change_id: str, reason: str) -> List[str]:
    """Take the rollback over from the timer and restore the snapshot now."""
    from agent import rollback

    directory = change_dir(change_id)
    try:
        os.rename(os.path.join(directory, ARMED), os.path.join(directory, ROLLING_BACK))
    except FileNotFoundError:
        return ["the rollback process already took the change over"]
    _stop_guard(directory)
    return rollback.restore(directory, reason)


def _stop_guard(directory: str) -> None:
    pid = read_pid(directory)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid or 0, 15)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "<redacted>" if "private" in k or "preshared" in k else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


@method("changes.confirm")
def changes_confirm(params: Dict[str, Any]) -> Dict[str, Any]:
    params = validate.params_object(params)
    validate.only(params, ("id",))
    change_id = _change_id(validate.required(params, "id"))
    directory = change_dir(change_id)
    with change_lock():
        try:
            os.rename(os.path.join(directory, ARMED), os.path.join(directory, CONFIRMED))
        except FileNotFoundError:
            record = read_json(record_path(change_id))
            if record is None:
                raise AgentError("not_found", "change %s not found" % change_id) from None
            raise AgentError(
                "conflict",
                "change %s is %s and can no longer be confirmed"
                % (change_id, record.get("status", "finished")),
                status=record.get("status"),
            ) from None
        _stop_guard(directory)
        record = update_record(change_id, status="confirmed", confirmed_at=time.time())
        discard_snapshot(directory)
    return {"id": change_id, "status": "confirmed", "record": record}


def _change_id(value: Any) -> str:
    if not isinstance(value, str) or not value or "/" in value or value.startswith("."):
        raise invalid("id", value, "must be a change id as returned by changes.apply")
    return value


def read_records() -> List[Dict[str, Any]]:
    try:
        names = sorted(os.listdir(RECORD_DIR))
    except FileNotFoundError:
        return []
    records = []
    for name in names:
        if name.endswith(".json"):
            record = read_json(os.path.join(RECORD_DIR, name))
            if record is not None:
                records.append(record)
    return records


@method("changes.status")
def changes_status(params: Dict[str, Any]) -> Dict[str, Any]:
    """List pending changes and the finished changes no controller has acknowledged yet."""
    validate.only(validate.params_object(params), ())
    with change_lock():
        pending = pending_changes()
        pending_ids = {change["id"] for change in pending}
        mark_abandoned(pending_ids)
        prune(time.time())
        unreported = [
            record
            for record in read_records()
            if not record.get("reported")
            and record["id"] not in pending_ids
        ]
    return {"pending": pending, "unreported": unreported}


def mark_abandoned(pending_ids: Set[str]) -> None:
    """Close the records of changes whose guard ended without a confirm or a rollback.

    A reboot empties /run and ends the rollback process, which leaves such a record; the
    caller holds the change lock, so no apply or rollback is between two steps.
    """
    for record in read_records():
        if record.get("status") in ("applying", "pending") and record["id"] not in pending_ids:
            log.warning("change %s has no running guard; marking it abandoned", record["id"])
            update_record(
                record["id"],
                status="abandoned",
                reason="the rollback process ended before the deadline, for example by a reboot",
                reported=False,
            )


@method("changes.ack")
def changes_ack(params: Dict[str, Any]) -> Dict[str, Any]:
    """Mark finished changes as recorded by the controller, so status stops listing them."""
    params = validate.params_object(params)
    validate.only(params, ("ids",))
    ids = [_change_id(value) for value in validate.array("ids", params.get("ids", []), 1000)]
    acknowledged = []
    for change_id in ids:
        if os.path.exists(record_path(change_id)):
            update_record(change_id, reported=True)
            acknowledged.append(change_id)
    return {"acknowledged": acknowledged}
