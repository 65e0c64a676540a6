"""Invariant 4 through HTTP: two clients act on the same application with the same version at the same moment;
one gets 200, the other 409 conflict, and the state and the audit trail agree with the winner. Real threads, each
request with its own app context, session and connection (SQLite file or PostgreSQL)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from workflow.db import db
from workflow.models import AuditEvent

from .factories import cdht_at, make_user
from .test_api_support import API, bearer


def race(app, requests: list[tuple[str, str, dict, dict]]) -> list:
    """Send the requests from separate threads released together; return the responses in order."""
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def run(i: int) -> None:
        method, path, headers, body = requests[i]
        client = app.test_client()
        barrier.wait()
        responses[i] = client.open(path, method=method, headers=headers, json=body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return responses


def _second_appraiser(world):
    user = make_user("commune_appraiser", world.communes[0])
    db.session.commit()
    return user


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.parametrize("second", ["approve", "return", "scores"])
def test_same_version_one_200_one_409(app, world, second, trial):
    target = cdht_at(world, "commune_appraisal")
    app_id, version = target.id, target.version
    a, b = bearer(world.appraiser()), bearer(_second_appraiser(world))
    first_req = ("POST", f"{API}/applications/{app_id}/actions/approve", a, {"version": version})
    if second == "scores":
        second_req = ("PUT", f"{API}/applications/{app_id}/scores", b,
                      {"scores": {"1.1": 10}, "reason": "Điều chỉnh sau thẩm định", "version": version})
    else:
        second_req = ("POST", f"{API}/applications/{app_id}/actions/{second}", b,
                      {"version": version, "reason": "Thiếu minh chứng tiêu chí 2.1"})
    last_event = db.session.scalar(select(func.max(AuditEvent.id)))
    actions = ["approve", "score" if second == "scores" else second]
    db.session.remove()  # the test's own session holds nothing while the clients race

    responses = race(app, [first_req, second_req])

    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.get_json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.get_json()["error"]["code"] == "conflict"
    winner = responses.index(next(r for r in responses if r.status_code == 200))
    body = responses[winner].get_json()
    assert body["version"] == version + 1
    detail = app.test_client().get(f"{API}/applications/{app_id}", headers=a).get_json()
    assert detail["version"] == version + 1
    written = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_event)).all()
    assert [(e.application_id, e.action) for e in written] == [(app_id, actions[winner])]
    assert detail["state"] == written[0].to_state
