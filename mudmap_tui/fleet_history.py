"""Store fleet command runs in the inventory's command_runs and command_results tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from sqlite_utils import Database

from mudmap_tui.fleet import DeviceResult
from mudmap_tui.store.audit import current_actor
from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction


def record_run(db: Database, command: str, target: str, started_at: float,
               results: Sequence[DeviceResult]) -> int:
    """Insert one run and a result row per device in one transaction; return the run id.

    :param target: the targets as the user gave them, such as ``@core edge1``
    :param started_at: the run's start as a Unix time
    """
    started = datetime.fromtimestamp(started_at, timezone.utc).isoformat(timespec="microseconds")
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO command_runs (started_at, finished_at, actor, command, target)"
            " VALUES (?, ?, ?, ?, ?)",
            (started, utc_now(), current_actor(), command, target),
        )
        run_id = int(cursor.lastrowid or 0)
        for result in results:
            db.execute(
                "INSERT INTO command_results (run_id, device, exit_status, stdout, stderr,"
                " truncated, output_cap_bytes, duration_ms, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, result.device, result.exit_status,
                 result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"),
                 int(result.truncated), result.output_cap, round(result.duration * 1000),
                 _error_text(result)),
            )
    return run_id


def _error_text(result: DeviceResult) -> str | None:
    if result.error is None:
        return None if result.ok else result.outcome.value
    return f"{result.outcome.value}: {result.error}"
