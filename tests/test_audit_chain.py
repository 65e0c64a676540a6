"""Invariant 2: the audit trail is append-only and hash-chained; `flask audit verify` exits 0 on an intact trail
and non-zero, naming the first bad event, after a row is altered, deleted, or two are swapped."""
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from workflow import audit
from workflow.db import db

from .factories import tamper


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo", "seed", "--password", "pw-for-tests"])
    assert result.exit_code == 0, result.output
    return runner


def verify(runner) -> tuple[int, dict]:
    result = runner.invoke(args=["audit", "verify", "--json"])
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def test_intact_demo_verifies(demo):
    code, report = verify(demo)
    assert code == 0 and report["ok"] and report["waiting"] == 0 and report["sealed"] > 500
    plain = demo.invoke(args=["audit", "verify"])
    assert plain.exit_code == 0 and "OK:" in plain.output


def test_altered_event_is_named(demo):
    tamper("UPDATE audit_events SET reason = 'đã sửa' WHERE id = 40")
    code, report = verify(demo)
    assert code == 1 and report["first_bad"] == 40 and report["problem"] == "altered"
    plain = demo.invoke(args=["audit", "verify"])
    assert plain.exit_code == 1 and "event 40" in plain.output


def test_altered_payload_is_named(demo):
    tamper("UPDATE audit_events SET actor_id = actor_id + 1 WHERE id = 77")
    code, report = verify(demo)
    assert code == 1 and report["first_bad"] == 77


def test_deleted_event_is_found(demo):
    tamper("DELETE FROM outbox_messages WHERE event_id = 55", "DELETE FROM audit_events WHERE id = 55")
    code, report = verify(demo)
    assert code == 1 and report["first_bad"] == 55 and report["problem"] == "event_deleted"


def test_deleted_event_and_its_seal_are_found(demo):
    tamper("DELETE FROM outbox_messages WHERE event_id = 55", "DELETE FROM audit_seals WHERE event_id = 55",
           "DELETE FROM audit_events WHERE id = 55")
    code, report = verify(demo)
    assert code == 1 and report["problem"] == "missing_link" and report["first_bad"] == 56


def test_swapped_events_are_found(demo):
    cols = "action, from_state, to_state, reason, actor_id, actor_name"
    tamper(f"CREATE TEMPORARY TABLE swap AS SELECT id, {cols} FROM audit_events WHERE id IN (30, 31)",
           *[f"UPDATE audit_events SET {c} = (SELECT {c} FROM swap WHERE swap.id = 61 - audit_events.id) "
             "WHERE id IN (30, 31)" for c in cols.split(", ")])
    code, report = verify(demo)
    assert code == 1 and report["first_bad"] == 30


def test_reordered_seals_are_found(demo):
    tamper("UPDATE audit_seals SET seq = -1 WHERE seq = 20", "UPDATE audit_seals SET seq = 20 WHERE seq = 21",
           "UPDATE audit_seals SET seq = 21 WHERE seq = -1")
    code, report = verify(demo)
    assert code == 1 and report["problem"] in ("reordered", "altered")


@pytest.mark.parametrize("stmt", ["UPDATE audit_events SET reason = 'x' WHERE id = 1",
                                  "DELETE FROM audit_events WHERE id = 1",
                                  "UPDATE audit_seals SET hash = 'x' WHERE seq = 1",
                                  "DELETE FROM audit_seals WHERE seq = 1"])
def test_the_database_refuses_changes_to_the_trail(demo, stmt):
    # The trigger says "append-only"; with two roles (DATABASE_OWNER_URL) the runtime role is refused even earlier.
    with pytest.raises(DatabaseError, match="append-only|permission denied"):
        db.session.execute(text(stmt))
    db.session.rollback()


def test_waiting_events_are_counted_then_sealed(world):
    from .factories import cdht_at

    cdht_at(world, "final_approval")
    report = audit.verify()
    assert report.ok and report.sealed == 0 and report.waiting > 10
    waiting = report.waiting
    assert audit.seal_all() == waiting
    report = audit.verify()
    assert report.ok and report.sealed == waiting and report.waiting == 0
    assert audit.seal() == 0
