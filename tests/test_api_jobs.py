"""Mass actions as jobs through the API: a dry run states the count, a start with that count answers 202 + Location
and the job's status reaches done with the files moved; another count starts nothing (409); bad bodies are 422
naming their fields; another user gets 404 for the job, its workbook and resume, exactly as for a job that does not
exist; the outcome workbook holds one row per file in Vietnamese; a job killed in its second chunk resumes and acts
on every file once; the synchronous batch keeps its cap of 5,000; a real RQ worker runs a queued job; and every
status of these routes conforms to the OpenAPI document (tag jobs)."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from workflow import engine
from workflow.db import db
from workflow.models import Application, AuditEvent, Job, MassActionItem

from .factories import bulk_at_appraisal
from .test_api_openapi import Contract
from .test_api_support import API, bearer, error_of
from .test_mass_actions import kill_second_chunk

pytest_plugins = ["tests.notif_fixtures"]  # redis_server: a throwaway redis-server of the test's own

ONE = f"{API}/jobs/{{job_id}}"


@pytest.fixture
def inline(app, monkeypatch):
    """Jobs run right where they are launched, three files per chunk."""
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", True)
    monkeypatch.setitem(app.config, "MASS_ACTION_CHUNK", 3)


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def in_state(state: str) -> int:
    return count(Application, Application.state == state)


def post(client, user, action: str, body, lang: str | None = None):
    return client.post(f"{API}/jobs/{action}", json=body, headers=bearer(user, lang))


def test_count_then_start_then_poll_to_done(app, client, world, inline):
    ids = bulk_at_appraisal(world, 7)
    bulk_at_appraisal(world, 4, commune=1)
    appraiser = world.appraiser(0)
    dry = post(client, appraiser, "approve", {"filter": {"state": ""}, "dry_run": True})
    assert dry.status_code == 200 and dry.get_json() == {"action": "approve", "dry_run": True, "total": 7}
    assert count(Job) == 0
    resp = post(client, appraiser, "approve", {"filter": {}, "expected": 7})
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body == {"id": body["id"], "status": "done", "total": 7}
    assert resp.headers["Location"].endswith(f"/api/v1/jobs/{body['id']}")
    state = client.get(resp.headers["Location"], headers=bearer(appraiser)).get_json()
    assert {k: state[k] for k in ("status", "kind", "action", "total", "done", "ok", "refused", "already_moved",
                                  "stalled")} == {
        "status": "done", "kind": "mass_action", "action": "approve", "total": 7, "done": 7, "ok": 7, "refused": 0,
        "already_moved": 0, "stalled": False}
    assert [o["id"] for o in state["outcomes"]] == sorted(ids)
    assert in_state("final_approval") == 7 and in_state("commune_appraisal") == 4
    # the province's approver then approves everything the commune passed, by a filter on that commune
    unit = world.communes[0].id
    dry = post(client, world.approver, "approve", {"filter": {"unit": unit}, "dry_run": True}).get_json()
    assert dry["total"] == 7
    done = post(client, world.approver, "approve", {"filter": {"unit": unit}, "expected": 7})
    assert done.status_code == 202 and done.get_json()["total"] == 7
    assert in_state("recognised") == 7


def test_a_count_that_changed_starts_nothing(app, client, world, inline):
    bulk_at_appraisal(world, 3)
    resp = post(client, world.appraiser(0), "approve", {"filter": {}, "expected": 4})
    assert resp.status_code == 409
    assert error_of(resp)["code"] == "mass_action_count_changed"
    assert "bạn xác nhận 4, nay là 3" in error_of(resp)["message"]
    assert count(Job) == 0 and count(MassActionItem) == 0 and in_state("commune_appraisal") == 3


def test_bad_bodies_and_actions(app, client, world, inline):
    bulk_at_appraisal(world, 2)
    appraiser = world.appraiser(0)
    bad = post(client, appraiser, "approve", {"filter": {"state": "nope", "unit": "x"}, "ids": "1",
                                              "dry_run": "yes", "expected": -1})
    assert bad.status_code == 422
    assert set(error_of(bad)["fields"]) == {"filter.state", "filter.unit", "ids", "dry_run", "expected"}
    both = post(client, appraiser, "approve", {"filter": {}, "ids": [1]})
    assert both.status_code == 422 and error_of(both)["code"] == "mass_action_selection"
    neither = post(client, appraiser, "approve", {})
    assert neither.status_code == 422 and error_of(neither)["code"] == "mass_action_selection"
    reason = post(client, appraiser, "return", {"filter": {}})
    assert reason.status_code == 422 and error_of(reason)["code"] == "reason_required"
    for action in ("withdraw", "revoke", "nothing"):
        unknown = post(client, appraiser, action, {"filter": {}})
        assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_action"
    empty = post(client, world.appraiser(1), "approve", {"filter": {}})
    assert empty.status_code == 422 and error_of(empty)["code"] == "mass_action_empty"
    english = post(client, world.appraiser(1), "approve", {"filter": {}}, lang="en")
    assert error_of(english)["message"].startswith("No file matching the filter")
    assert count(Job) == 0


def test_another_user_gets_404_for_the_job(app, client, world, inline):
    bulk_at_appraisal(world, 2)
    job_id = post(client, world.appraiser(0), "approve", {"filter": {}}).get_json()["id"]
    missing = client.get(f"{API}/jobs/{job_id + 1000}", headers=bearer(world.appraiser(1)))
    assert missing.status_code == 404 and error_of(missing)["code"] == "mass_action_not_found"
    for outsider in (world.appraiser(1), world.approver, world.auditor):
        h = bearer(outsider)
        for resp in (client.get(f"{API}/jobs/{job_id}", headers=h),
                     client.get(f"{API}/jobs/{job_id}/outcomes.xlsx", headers=h),
                     client.post(f"{API}/jobs/{job_id}/resume", headers=h)):
            assert resp.status_code == 404 and error_of(resp) == error_of(missing)


def test_an_import_job_is_not_a_mass_action(app, client, world, inline):
    from .test_imports_files import person, start, xlsx

    job = start(world, xlsx([person(1)]))
    resp = client.get(f"{API}/jobs/{job.id}", headers=bearer(world.officer(0, 0)))
    assert resp.status_code == 404 and error_of(resp)["code"] == "mass_action_not_found"


def test_the_outcome_workbook_has_a_row_per_file(app, client, world, inline):
    good = bulk_at_appraisal(world, 2)
    low = bulk_at_appraisal(world, 1, total=70)
    others = bulk_at_appraisal(world, 1, commune=1)
    appraiser = world.appraiser(0)
    job_id = post(client, appraiser, "approve", {"ids": others + low + good}).get_json()["id"]
    resp = client.get(f"{API}/jobs/{job_id}/outcomes.xlsx", headers=bearer(appraiser))
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert f"ket-qua-xu-ly-hang-loat-{job_id}.xlsx" in resp.headers["Content-Disposition"]
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(resp.data)).active.iter_rows()]
    assert rows[0] == ["Mã hồ sơ", "Họ và tên", "Số CCCD", "Trạng thái trước", "Trạng thái sau", "Kết quả",
                       "Thông báo"]
    by_id = {r[0]: r for r in rows[1:]}
    assert list(by_id) == sorted(good + low + others)
    for i in good:
        assert by_id[i][1].startswith("Người thứ") and by_id[i][3:6] == ["Xã thẩm định", "Chờ phê duyệt",
                                                                          "Đã thực hiện"]
    assert by_id[low[0]][5] == "Không thực hiện được" and by_id[low[0]][6].startswith("Tổng điểm 70 chưa đạt")
    assert by_id[others[0]][1] in (None, "") and by_id[others[0]][6] == "Không tìm thấy hồ sơ."  # not named
    english = client.get(f"{API}/jobs/{job_id}/outcomes.xlsx", headers=bearer(appraiser, "en"))
    header = [c.value for c in next(load_workbook(io.BytesIO(english.data)).active.iter_rows(max_row=1))]
    assert header[0] == "Application ID" and header[-1] == "Message"


def test_a_killed_job_resumes_and_acts_on_every_file_once(app, client, world, inline, monkeypatch):
    ids = bulk_at_appraisal(world, 8)
    real = kill_second_chunk(monkeypatch)
    resp = post(client, world.appraiser(0), "approve", {"filter": {}, "expected": 8})
    assert resp.status_code == 202 and resp.get_json()["status"] == "failed"
    job_id = resp.get_json()["id"]
    state = client.get(f"{API}/jobs/{job_id}", headers=bearer(world.appraiser(0))).get_json()
    assert (state["status"], state["done"], state["ok"]) == ("failed", 3, 3) and "worker killed" in state["failure"]
    assert [o["result"] for o in state["outcomes"]] == ["moved"] * 3 + ["pending"] * 5
    monkeypatch.setattr(engine, "fire_batch", real)
    resumed = client.post(f"{API}/jobs/{job_id}/resume", headers=bearer(world.appraiser(0)))
    assert resumed.status_code == 202 and resumed.get_json() == {"id": job_id, "status": "done", "total": 8}
    per_file = dict(db.session.execute(
        select(AuditEvent.application_id, func.count()).where(AuditEvent.action == "approve")
        .group_by(AuditEvent.application_id)).all())
    assert per_file == dict.fromkeys(ids, 1)
    again = client.post(f"{API}/jobs/{job_id}/resume", headers=bearer(world.appraiser(0)))
    assert again.status_code == 422 and error_of(again)["code"] == "mass_action_not_resumable"


def test_the_synchronous_batch_keeps_its_cap_and_jobs_go_beyond(app, client, world, inline):
    from workflow.declared import MAX_BATCH

    assert MAX_BATCH == 5000
    h = bearer(world.appraiser(0))
    over = client.post(f"{API}/batches/approve", json={"ids": list(range(1, 5002))}, headers=h)
    assert over.status_code == 422 and set(error_of(over)["fields"]) == {"ids"}
    at_cap = client.post(f"{API}/batches/approve", json={"ids": list(range(1, 5001))}, headers=h)
    assert at_cap.status_code == 200 and at_cap.get_json()["failed"] == 5000
    ids = bulk_at_appraisal(world, 4)
    many = post(client, world.appraiser(0), "approve", {"ids": list(range(10_000_000, 10_006_001)) + ids})
    assert many.status_code == 202 and many.get_json()["total"] == 6005
    state = client.get(many.headers["Location"], headers=h).get_json()
    assert (state["status"], state["ok"], state["refused"]) == ("done", 4, 6001)


def test_every_job_route_conforms_to_the_document(app, client, world, inline, monkeypatch):
    c = Contract()
    bulk_at_appraisal(world, 4)
    me, outsider = bearer(world.appraiser(0)), bearer(world.appraiser(1))
    create = f"{API}/jobs/{{action}}"
    c.check(client.post(f"{API}/jobs/approve", json={"filter": {}, "dry_run": True}, headers=me), "post", create)
    c.check(client.post(f"{API}/jobs/approve", json={"filter": {}, "expected": 9}, headers=me), "post", create)
    c.check(client.post(f"{API}/jobs/approve", data="{", content_type="application/json", headers=me), "post",
            create)
    c.check(client.post(f"{API}/jobs/withdraw", json={"filter": {}}, headers=me), "post", create)
    c.check(client.post(f"{API}/jobs/approve", json={"ids": []}, headers=me), "post", create)
    c.check(client.post(f"{API}/jobs/approve", json={"filter": {}}), "post", create)
    real = kill_second_chunk(monkeypatch)
    job = c.check(client.post(f"{API}/jobs/approve", json={"filter": {}}, headers=me), "post", create)
    monkeypatch.setattr(engine, "fire_batch", real)
    jid = job["id"]
    c.check(client.get(f"{API}/jobs/{jid}", headers=me), "get", ONE)
    c.check(client.get(f"{API}/jobs/{jid}", headers=outsider), "get", ONE)
    c.check(client.get(f"{API}/jobs/{jid}/outcomes.xlsx", headers=me), "get", f"{ONE}/outcomes.xlsx")
    c.check(client.get(f"{API}/jobs/{jid}/outcomes.xlsx", headers=outsider), "get", f"{ONE}/outcomes.xlsx")
    c.check(client.post(f"{API}/jobs/{jid}/resume", headers=me), "post", f"{ONE}/resume")
    c.check(client.post(f"{API}/jobs/{jid}/resume", headers=me), "post", f"{ONE}/resume")
    c.check(client.post(f"{API}/jobs/{jid}/resume", headers=outsider), "post", f"{ONE}/resume")
    c.check(client.get(f"{API}/jobs/{jid}", headers=me), "get", ONE)  # done, with its outcomes
    from web.api.openapi import document

    ours = {(m, p) for p, item in document()["paths"].items() for m, op in item.items() if "jobs" in op["tags"]}
    assert {(m, p) for m, p, _ in c.seen} == ours
    assert {s for _, _, s in c.seen} >= {"200", "202", "400", "401", "404", "409", "422"}


def test_with_redis_a_real_worker_runs_the_job(app, client, world, monkeypatch, redis_server):
    """REDIS_URL set (a real redis-server of this test's own): the start answers 202 "queued" and nothing moves
    until an RQ worker runs the job on the queue hoctap-jobs; then the status says done."""
    from notifications import queue as nq
    from notifications.jobs import JOBS_QUEUE

    from .notif_services import work

    monkeypatch.setitem(app.config, "REDIS_URL", redis_server.url)
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", False)
    monkeypatch.setitem(app.config, "MASS_ACTION_CHUNK", 2)
    nq.reset_clients()
    try:
        bulk_at_appraisal(world, 5)
        resp = post(client, world.appraiser(0), "approve", {"filter": {}, "expected": 5})
        assert resp.status_code == 202 and resp.get_json()["status"] == "queued"
        assert in_state("final_approval") == 0
        assert nq.queue(JOBS_QUEUE).count == 1
        work((JOBS_QUEUE,))
        state = client.get(resp.headers["Location"], headers=bearer(world.appraiser(0))).get_json()
        assert (state["status"], state["done"], state["ok"]) == ("done", 5, 5)
        assert in_state("final_approval") == 5
    finally:
        nq.reset_clients()


def test_without_redis_the_job_runs_in_a_thread_and_is_polled_to_done(app, client, world, monkeypatch):
    """No JOBS_INLINE_SYNC, no Redis (the demo): the start answers before the work is done and polling reaches
    done with every file moved."""
    import time

    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", False)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "MASS_ACTION_CHUNK", 50)
    bulk_at_appraisal(world, 300)
    resp = post(client, world.appraiser(0), "approve", {"filter": {}, "expected": 300})
    assert resp.status_code == 202 and resp.get_json()["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while True:
        state = client.get(resp.headers["Location"], headers=bearer(world.appraiser(0))).get_json()
        if state["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (state["status"], state["done"], state["ok"]) == ("done", 300, 300), state["failure"]
    assert in_state("final_approval") == 300
