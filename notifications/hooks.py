"""The kick after commit: when a committed transaction wrote outbox rows (the engine sets
session.info["outbox_written"]), wake the hand-over job. With Redis this costs the request one Redis round trip
(a flag, see queue.wake) and no database work: one worker job delivers every pending row in bulk and seals the
audit events, so the usual delay stays well under a second while the write path keeps its speed. In process
(no Redis, the demo) the relay and the seal run right here. Never before commit (a fast worker could run before
the rows are visible), never after a rollback (the flag is cleared). A failure here is logged and never reaches
the caller: the commit already succeeded, and the periodic tick will hand the rows over."""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from workflow.db import db

log = logging.getLogger(__name__)
FLAG = "outbox_written"
_installed = False


def kick() -> None:
    from . import jobs, relay, sealing
    from . import queue as q

    try:
        if q.inline():
            relay.relay()
            sealing.request_seal()
        else:
            q.wake((relay.WAKE_FLAG, q.NOTICES, jobs.hand_over))
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("waking the relay and the sealer after commit failed; the periodic tick will catch up")


def _after_commit(session: Session) -> None:
    # SQLAlchemy also signals after_commit when a SAVEPOINT is released; the outer transaction (and its write
    # lock) is still open then, and its rows are not visible to anyone yet.
    if session.get_nested_transaction() is not None:
        return
    if session.info.pop(FLAG, False):
        kick()


def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint, was rolled back
        session.info.pop(FLAG, None)


def install() -> None:
    """Listen on Flask-SQLAlchemy's scoped session (once per process, whatever the number of apps)."""
    global _installed
    if _installed:
        return
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_soft_rollback", _after_rollback)
    _installed = True
