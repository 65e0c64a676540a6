"""The kick after commit: when a committed transaction wrote outbox rows (the engine sets
session.info["outbox_written"]), hand them to RQ and ask for a seal, right away, so the usual delay is a few
milliseconds. Never before commit (a fast worker could run before the rows are visible), never after a rollback
(the flag is cleared). A failure here is logged and never reaches the caller: the commit already succeeded, and
the periodic tick will hand the rows over."""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from workflow.db import db

log = logging.getLogger(__name__)
FLAG = "outbox_written"
_installed = False


def kick() -> None:
    from . import relay, sealing

    try:
        relay.relay(from_commit=True)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("outbox relay after commit failed; the periodic sweep will retry")
    try:
        sealing.request_seal()
    except Exception:  # noqa: BLE001
        log.exception("seal request after commit failed; the periodic tick will retry")


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
