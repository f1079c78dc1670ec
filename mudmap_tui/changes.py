"""Guarded changes from the controller's side: plan, apply, confirm over a fresh connection.

The agent does the guarding (agent/changes.py): it snapshots what a change touches and
restores it unless the change is confirmed in time. This module confirms over a NEW SSH
connection, because only a connection opened after the change proves that the path to the
device still works. When that fails it waits for the agent's rollback, reconnects the pooled
connection, and records every step in the audit log.

Example::

    runner = ChangeRunner(pool, db=db)
    plan = await runner.plan("edge1", [{"method": "interfaces.update",
                                        "params": {"name": "eth0", "mtu": 1400}}])
    print(plan.text)
    outcome = await runner.apply(plan, timeout=60)
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from mudmap_tui.device_actions import command_wording, join_step, next_step, option_wording
from mudmap_tui.errors import MudmapError
from mudmap_tui.ssh.agent_channel import AgentBundle, AgentSession, agent_session, default_bundle
from mudmap_tui.ssh.errors import AgentCallError, AgentConflict, AgentTimedOut, SshError
from mudmap_tui.ssh.pool import ConnectionPool
from mudmap_tui.store import audit

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
# Seconds after the deadline that the controller allows the rollback process to finish.
ROLLBACK_GRACE = 10.0
# Upper bound of one confirm attempt over a fresh connection, so it ends before the deadline.
CONFIRM_ATTEMPT_TIMEOUT = 15.0
RECONNECT_INTERVAL = 1.0
CALL_TIMEOUT = 30.0


class ChangeError(MudmapError):
    """A guarded change could not be planned, applied or confirmed."""


class ChangeFailed(ChangeError):
    """The device refused a change's operations; nothing stays applied.

    ``kind`` is the agent's error kind; invalid input exits with status 2, like other commands.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.exit_status = 2 if kind == "invalid_params" else 1


class ChangeConflict(ChangeError):
    """The device changed since the plan, or another change is pending; nothing was applied."""

    exit_status = 3

    def __init__(self, message: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.data = data


@dataclass
class Plan:
    """A change's operations with the diff and state hash the device computed for them."""

    device: str
    ops: list[dict[str, Any]]
    diff: list[dict[str, Any]]
    text: str
    state_hash: str
    persist: bool = False
    files: list[str] = field(default_factory=list)
    # Effects the device expects beyond the diff, such as an allowed IP that moves from
    # one WireGuard peer to another.
    warnings: list[str] = field(default_factory=list)
    # True when the CLI built ``ops`` from its options, so errors name those options.
    from_options: bool = False


@dataclass
class Outcome:
    """The end state of a change: confirmed, rolled_back, rollback_failed, pending or unknown."""

    device: str
    change_id: str | None
    status: str
    detail: str = ""
    record: dict[str, Any] = field(default_factory=dict)


class ChangeRunner:
    """Plan, apply and confirm guarded changes on the devices of one connection pool.

    :param pool: the pool whose connections carry the changes
    :param db: the store that receives audit entries; None records nothing
    """

    def __init__(self, pool: ConnectionPool, *, db: Database | None = None,
                 bundle: AgentBundle | None = None, actor: str | None = None) -> None:
        self.pool = pool
        self.db = db
        self.bundle = bundle or default_bundle()
        self.actor = actor or _local_user()

    async def session(self, device: str) -> AgentSession:
        return await agent_session(await self.pool.connection(device), self.bundle)

    async def call(self, device: str, method: str, params: dict[str, Any] | None = None,
                   timeout: float = CALL_TIMEOUT) -> Any:
        session = await self.session(device)
        return await session.call(method, params or {}, timeout=timeout)

    async def plan(self, device: str, ops: list[dict[str, Any]], persist: bool = False,
                   from_options: bool = False) -> Plan:
        """Ask the device for the diff of ``ops`` against its runtime state."""
        try:
            result = await self.call(device, "changes.plan", {"ops": ops, "persist": persist})
        except SshError as error:
            # The attempt belongs in the audit log even when the device never saw it.
            self._audit("change.plan", device, {"ops": ops, "persist": persist}, "failed",
                        str(error))
            raise
        plan = Plan(device, ops, result["diff"], result["text"], result["state_hash"], persist,
                    result.get("files", []), result.get("warnings", []), from_options)
        self._audit("change.plan", device, {"ops": ops, "diff": plan.diff, "persist": persist})
        return plan

    async def apply(self, plan: Plan, *, timeout: float = DEFAULT_TIMEOUT, confirm: bool = True,
                    step_delay: float = 0.0) -> Outcome:
        """Apply a plan under the device's rollback guard, then confirm it if ``confirm``.

        :raises ChangeConflict: the device changed since the plan or a change is pending
        """
        params: dict[str, Any] = {"ops": plan.ops, "state_hash": plan.state_hash,
                                  "timeout": timeout, "persist": plan.persist,
                                  "actor": self.actor}
        if step_delay:
            params["step_delay"] = step_delay
        # Our own id lets us find the outcome when the reply is lost on a cut path.
        change_id = new_change_id()
        params["id"] = change_id
        started = time.time()
        try:
            # A reply later than the guard's deadline is useless: the change is rolled back.
            call_timeout = min(CALL_TIMEOUT + len(plan.ops) * (step_delay + 5), timeout)
            result = await self.call(plan.device, "changes.apply", params, timeout=call_timeout)
        except AgentConflict as error:
            self._audit("change.apply", plan.device, {"diff": plan.diff}, "conflict",
                        error.message)
            raise ChangeConflict(f"{plan.device}: {error.message}", error.data) from None
        except AgentTimedOut as error:
            # Still applying when the call's deadline passed: the guard decides the outcome.
            self._audit("change.apply", plan.device, {"diff": plan.diff}, "unknown",
                        error.message)
            return await self.wait_for_rollback(plan.device, change_id, started + timeout)
        except AgentCallError as error:
            self._audit("change.apply", plan.device, {"diff": plan.diff}, "failed", error.message)
            raise change_failure(plan.device, error, plan.ops,
                                 from_options=plan.from_options) from None
        except SshError as error:
            # The change may have cut the path while it was applied; the guard restores it.
            self._audit("change.apply", plan.device, {"diff": plan.diff}, "unknown", str(error))
            return await self.wait_for_rollback(plan.device, change_id, started + timeout)
        self._audit("change.apply", plan.device, {"id": change_id, "diff": plan.diff,
                                                  "timeout": timeout, "files": result["files"]})
        if not confirm:
            return Outcome(plan.device, change_id, "pending", record=result)
        try:
            return await self.confirm(plan.device, change_id, deadline=result["deadline"])
        except (SshError, asyncio.TimeoutError, ChangeConflict) as error:
            # A conflict here means the guard rolled the change back before the confirm.
            log.warning("%s: cannot confirm change %s over a new connection: %s",
                        plan.device, change_id, error)
            return await self.wait_for_rollback(plan.device, change_id, result["deadline"])

    async def confirm(self, device: str, change_id: str, deadline: float | None = None,
                      ) -> Outcome:
        """Confirm a pending change over a new SSH connection, never the pooled one."""
        remaining = (deadline - time.time() - 1) if deadline else CONFIRM_ATTEMPT_TIMEOUT
        attempt_timeout = max(1.0, min(CONFIRM_ATTEMPT_TIMEOUT, remaining))
        fresh = self.pool.fresh()

        async def confirm_over(pool: ConnectionPool) -> Any:
            session = await agent_session(await pool.connection(device), self.bundle)
            return await session.call("changes.confirm", {"id": change_id},
                                      timeout=attempt_timeout)

        try:
            result = await asyncio.wait_for(confirm_over(fresh), attempt_timeout)
        except AgentConflict as error:
            self._audit("change.confirm", device, {"id": change_id}, "conflict", error.message)
            raise ChangeConflict(f"{device}: {error.message}", error.data) from None
        except AgentCallError as error:
            self._audit("change.confirm", device, {"id": change_id}, "failed", error.message)
            raise ChangeError(f"{device}: {error.message}") from None
        finally:
            await fresh.close()
        self._audit("change.confirm", device, {"id": change_id})
        return Outcome(device, change_id, "confirmed", record=result["record"])

    async def wait_for_rollback(self, device: str, change_id: str, deadline: float) -> Outcome:
        """Wait out the guard's deadline, reconnect the pooled connection, and read the outcome."""
        give_up = deadline + ROLLBACK_GRACE
        await asyncio.sleep(max(0.0, deadline - time.time()))
        last_error: Exception | None = None
        while time.time() < give_up + CALL_TIMEOUT:
            try:
                status = await asyncio.wait_for(self.reconnect_status(device), CALL_TIMEOUT)
            except (SshError, asyncio.TimeoutError) as error:
                last_error = error
                await asyncio.sleep(RECONNECT_INTERVAL)
                continue
            if any(p["id"] == change_id for p in status["pending"]):
                await asyncio.sleep(RECONNECT_INTERVAL)
                continue
            records = await self.sync(device, status)
            for record in records:
                if record["id"] == change_id:
                    return Outcome(device, record["id"], record["status"],
                                   record.get("reason", ""), record)
            return Outcome(device, change_id, "unknown",
                           "the device answers again but has no record of the change")
        raise ChangeError(f"{device}: the device did not respond within {ROLLBACK_GRACE:g} s "
                          f"after the rollback deadline: {last_error}")

    async def reconnect_status(self, device: str) -> dict[str, Any]:
        """Call changes.status, dropping and reopening the pooled connection when it fails."""
        try:
            return await self.call(device, "changes.status", timeout=5)
        except (SshError, asyncio.TimeoutError):
            connection = self.pool.cached(device)
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
            return await self.call(device, "changes.status", timeout=10)

    async def status(self, device: str) -> dict[str, Any]:
        """Return the device's pending changes; record and acknowledge finished ones."""
        status = await self.call(device, "changes.status")
        await self.sync(device, status)
        return status

    async def sync(self, device: str, status: dict[str, Any]) -> list[dict[str, Any]]:
        """Record in the audit log the outcomes the device reports as unreported, then ack them.

        This is how a rollback that happened while the app was away reaches the audit log.
        """
        records: list[dict[str, Any]] = status.get("unreported", [])
        for record in records:
            outcome = record.get("status", "unknown")
            action = "change.rollback" if outcome.startswith("rollback") or \
                outcome == "rolled_back" else f"change.{outcome}"
            self._audit(action, device, {"id": record["id"], "diff": record.get("diff")},
                        "ok" if outcome in ("rolled_back", "confirmed") else outcome,
                        record.get("reason", ""), actor=record.get("actor"))
        if records:
            await self.call(device, "changes.ack", {"ids": [r["id"] for r in records]})
        return records

    async def drift(self, device: str, name: str | None = None) -> dict[str, Any]:
        params = {"name": name} if name else {}
        return await self.call(device, "changes.drift", params)

    def _audit(self, action: str, device: str, params: dict[str, Any], result: str = "ok",
               detail: str = "", actor: str | None = None) -> None:
        if self.db is not None:
            audit.record(self.db, action, device=device, params=params, result=result,
                         detail=detail, actor=actor or self.actor)


ROLLED_BACK_SUFFIX = "; the change was rolled back"
FAILED_OP_RE = re.compile(r"ops\[(\d+)\] ([\w.]+): ")
OP_INDEX_RE = re.compile(r"\bops\[(\d+)\]")


def change_failure(device: str, error: AgentCallError, ops: list[Any], *,
                   from_options: bool = False) -> ChangeFailed:
    """Turn an agent error on a change into one line naming the device, the value and the fix.

    ``ops`` may hold anything a plan file held, because the agent is the one that rejects
    a malformed operation. With ``from_options`` the CLI built the operations from its
    options, so the line names those options instead of the agent's parameters.
    """
    kind = error.agent_kind if type(error) is not AgentCallError else \
        str(error.data.get("kind", "failed"))
    message = error.message
    rolled_back = message.endswith(ROLLED_BACK_SUFFIX)
    if rolled_back:
        message = message[:-len(ROLLED_BACK_SUFFIX)]
    match = FAILED_OP_RE.match(message)
    if match and (len(ops) == 1 or from_options):
        # With one operation its position means nothing to the user, and the user never
        # listed the operations that the CLI built from options.
        message = message[match.end():]
        rolled_back = rolled_back and len(ops) > 1
    op = _failed_op(message if match is None else match.group(0), ops)
    method = match.group(2) if match else str(op.get("method", ""))
    params = op.get("params") if isinstance(op.get("params"), dict) else {}
    step = next_step(kind, method, message, device, params, error.data)
    message = command_wording(message, device, params)
    if from_options:
        message = option_wording(message, params)
    undone = "; the operations before it were rolled back" if rolled_back else ""
    return ChangeFailed(f"{device}: " + join_step(message + undone, step), kind)


def _failed_op(message: str, ops: list[Any]) -> dict[str, Any]:
    """Return the operation that a message names by its index, or the only one; else {}."""
    found = OP_INDEX_RE.search(message)
    if found:
        index = int(found.group(1))
    elif len(ops) == 1:
        index = 0
    else:
        return {}
    op = ops[index] if index < len(ops) else None
    return op if isinstance(op, dict) else {}


def outcome_line(outcome: Outcome) -> str:
    """Say in one line how a change ended, with its id."""
    if outcome.status == "confirmed":
        return f"applied and confirmed ({outcome.change_id})"
    if outcome.status == "pending":
        return (f"applied, pending ({outcome.change_id}); confirm it with: mudmap changes "
                f"confirm {outcome.device} {outcome.change_id}")
    detail = f": {outcome.detail}" if outcome.detail else ""
    return f"{outcome.status.replace('_', ' ')}{detail} ({outcome.change_id})"


def new_change_id() -> str:
    """Name a change by its UTC start time and a random suffix, as the agent does."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
