"""Store fleet command runs in the inventory's command_runs and command_results tables.

The history is bounded, because a command's output may hold secrets (``wg showconf``
prints private keys) and the inventory would otherwise grow with every run: only the
newest ``KEEP_RUNS`` runs stay, and each device's stored output is cut at
``STORED_OUTPUT_CAP`` bytes. Key material in the output is redacted before it is stored
(see output_secrets).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from sqlite_utils import Database

from mudmap_tui.fleet import DeviceResult
from mudmap_tui.output_secrets import redact_command, redact_output
from mudmap_tui.store.audit import current_actor
from mudmap_tui.store.timestamps import utc_now
from mudmap_tui.store.transactions import write_transaction

KEEP_RUNS = 200
# Bytes of stdout plus stderr stored per device and run; stdout fills it first.
STORED_OUTPUT_CAP = 64 * 1024


def record_run(db: Database, command: str, target: str, started_at: float,
               results: Sequence[DeviceResult], *, keep_runs: int = KEEP_RUNS,
               output_cap: int = STORED_OUTPUT_CAP) -> int:
    """Insert one run and a result row per device, prune old runs; return the run id.

    :param target: the targets as the user gave them, such as ``@core edge1``
    :param started_at: the run's start as a Unix time
    :param keep_runs: runs kept, this one included; older runs and their results go
    :param output_cap: bytes of output stored per device
    """
    started = datetime.fromtimestamp(started_at, timezone.utc).isoformat(timespec="microseconds")
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO command_runs (started_at, finished_at, actor, command, target)"
            " VALUES (?, ?, ?, ?, ?)",
            (started, utc_now(), current_actor(), redact_command(command), target),
        )
        run_id = int(cursor.lastrowid or 0)
        for result in results:
            _insert_result(db, run_id, command, result, output_cap)
        _prune(db, keep_runs)
    return run_id


def _insert_result(db: Database, run_id: int, command: str, result: DeviceResult,
                   output_cap: int) -> None:
    stdout, stdout_cut = capped_text(result.stdout, output_cap)
    stderr, stderr_cut = capped_text(result.stderr, output_cap - len(stdout.encode()))
    stdout = redact_output(command, stdout)
    stderr = redact_output(command, stderr)
    db.execute(
        "INSERT INTO command_results (run_id, device, exit_status, stdout, stderr,"
        " truncated, output_cap_bytes, duration_ms, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, result.device, result.exit_status, stdout, stderr,
         int(result.truncated or stdout_cut or stderr_cut), min(result.output_cap, output_cap),
         round(result.duration * 1000), _error_text(result)),
    )


def capped_text(data: bytes, cap: int) -> tuple[str, bool]:
    """Decode at most ``cap`` bytes of ``data``; return the text and whether any was cut.

    Each undecodable byte becomes U+FFFD, three bytes in UTF-8, so binary output is cut a
    second time after decoding, at a character boundary, to keep the stored text within
    ``cap`` bytes too.
    """
    cap = max(cap, 0)
    text = data[:cap].decode(errors="replace")
    encoded = text.encode()
    if len(encoded) > cap:
        return encoded[:cap].decode(errors="ignore"), True
    return text, len(data) > cap


def _prune(db: Database, keep_runs: int) -> None:
    # Results are deleted explicitly rather than through ON DELETE CASCADE, which needs
    # the foreign_keys pragma on this connection.
    old = "SELECT id FROM command_runs ORDER BY id DESC LIMIT -1 OFFSET ?"
    db.execute(f"DELETE FROM command_results WHERE run_id IN ({old})", (keep_runs,))
    db.execute(f"DELETE FROM command_runs WHERE id IN ({old})", (keep_runs,))


def _error_text(result: DeviceResult) -> str | None:
    if result.error is None:
        return None if result.ok else result.outcome.value
    return f"{result.outcome.value}: {result.error}"
