"""The rollback process: waits for a change's deadline and restores its snapshot.

``agent.changes`` starts it detached from the agent (double fork, setsid), with the change's
directory as its only argument. It exits without touching anything when the change is
confirmed first; confirm and rollback both rename the ``armed`` marker, so exactly one wins.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any, List

from agent import changes, snapshot

log = logging.getLogger("agent.rollback")

POLL_INTERVAL = 0.2


def restore(directory: str, reason: str) -> List[str]:
    """Restore the change's snapshot, record the outcome, and return the failed steps."""
    change_id = os.path.basename(directory)
    taken = changes.read_json(os.path.join(directory, "snapshot.json"))
    if taken is None:
        errors = ["the snapshot of change %s cannot be read" % change_id]
    else:
        errors = snapshot.Restorer(taken).run()
    changes.update_record(
        change_id,
        status="rolled_back" if not errors else "rollback_failed",
        rolled_back_at=time.time(),
        reason=reason,
        rollback_errors=errors,
        reported=False,
    )
    log.info("change %s rolled back (%s); %d steps failed", change_id, reason, len(errors))
    if not errors:
        # A failed rollback keeps its snapshot for recovery by hand.
        changes.discard_snapshot(directory)
    return errors


def wait_for_deadline(directory: str, deadline: float) -> bool:
    """Sleep until the deadline; return False as soon as the change was confirmed."""
    armed = os.path.join(directory, changes.ARMED)
    while time.time() < deadline:
        if not os.path.exists(armed):
            return False
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.time())))
    return os.path.exists(armed)


def main(directory: str) -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="rollback[%(process)d] %(asctime)s %(message)s",
    )
    # Confirm sends SIGTERM to end the wait early; the marker decides what happens.
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    meta = changes.read_json(os.path.join(directory, "change.json"))
    if meta is None:
        log.error("no change.json in %s; nothing to guard", directory)
        return 1
    with open(os.path.join(directory, "guard.pid"), "w", encoding="ascii") as handle:
        handle.write(str(os.getpid()))
    log.info("guarding change %s until %s", meta["id"], changes.format_deadline(meta["deadline"]))
    if not wait_for_deadline(directory, meta["deadline"]):
        log.info("change %s is no longer armed; exiting", meta["id"])
        return 0
    with changes.change_lock():
        try:
            os.rename(
                os.path.join(directory, changes.ARMED),
                os.path.join(directory, changes.ROLLING_BACK),
            )
        except FileNotFoundError:
            log.info("change %s was confirmed at the deadline; exiting", meta["id"])
            return 0
        reason = "not confirmed within %g s" % meta["timeout"]
        errors = restore(directory, reason)
    return 1 if errors else 0


def _ignore(signum: int, frame: Any) -> None:
    log.info("woken by signal %d", signum)
