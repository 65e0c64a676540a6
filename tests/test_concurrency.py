"""Invariant 4: two people act on the same application at once; exactly one wins, the other gets a conflict,
and the state and the audit trail agree. Real threads, each with its own session and connection."""
import threading

import pytest
from sqlalchemy import func, select

from workflow import engine
from workflow.authz import actor_of
from workflow.db import db
from workflow.errors import Conflict, WorkflowError
from workflow.models import Application, AuditEvent

from .factories import cdht_at


def race(app, n_threads: int, work) -> list[object]:
    """Run `work(actor_index)` in n threads released together; collect each outcome or exception."""
    barrier = threading.Barrier(n_threads)
    results: list[object] = [None] * n_threads

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[i] = work(i)
                db.session.commit()
            except Exception as exc:  # the point is to see which exception each thread got
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("trial", range(5))
def test_two_appraisers_same_version_exactly_one_wins(app, world, trial):
    second = _second_appraiser(world)
    target = cdht_at(world, "commune_appraisal")
    actors = [actor_of(world.appraiser()), actor_of(second)]
    app_id, version = target.id, target.version
    actions = ["approve", "return"]
    results = race(app, 2, lambda i: engine.fire(app_id, actions[i], actors[i], version=version,
                                                 reason="Thiếu minh chứng 2.1"))
    wins = [r for r in results if isinstance(r, engine.Outcome)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    assert conflicts[0].status == 409
    db.session.expire_all()
    final = db.session.get(Application, app_id)
    assert final.state == wins[0].to_state and final.version == version + 1
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == app_id,
                                                         AuditEvent.from_state == "commune_appraisal")).all()
    assert [(e.action, e.to_state) for e in events] == [(actions[results.index(wins[0])], final.state)]


def test_many_threads_loaded_objects_exactly_one_wins(app, world):
    """Twenty sessions each load the object and approve it: the naive read-check-write that STACK-NOTES saw
    approve 20 times on PostgreSQL must approve exactly once here."""
    target = cdht_at(world, "commune_appraisal")
    actor = actor_of(world.appraiser())
    app_id = target.id

    def approve(_i):
        obj = db.session.get(Application, app_id)
        return engine.fire(obj, "approve", actor)

    results = race(app, 20, approve)
    wins = [r for r in results if isinstance(r, engine.Outcome)]
    assert len(wins) == 1, results
    # a loser either collided (conflict) or loaded after the winner committed and found the file gone on
    assert all(isinstance(r, WorkflowError) for r in results if r is not wins[0]), results
    db.session.expire_all()
    approvals = db.session.scalar(select(func.count()).where(AuditEvent.application_id == app_id,
                                                             AuditEvent.action == "approve"))
    assert approvals == 1
    assert db.session.get(Application, app_id).state == "final_approval"


def test_stale_version_is_a_conflict_even_without_a_race(world):
    target = cdht_at(world, "commune_appraisal")
    with pytest.raises(Conflict) as exc:
        engine.fire(target, "approve", world.appraiser(), version=target.version - 1)
    assert "tải lại" in exc.value.message("vi") and "Reload" in exc.value.message("en")


def _second_appraiser(world):
    from .factories import make_user

    user = make_user("commune_appraiser", world.communes[0])
    db.session.commit()
    return user
