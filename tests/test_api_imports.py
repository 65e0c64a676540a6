"""Spreadsheet import of nominees through the API: the template opens with the expected headers; a good file is
accepted (202 + Location) and its job polled to done with the right counts, the applications there; a bad file is
refused with 422 and its code, storing nothing; another commune's officer gets 404 for the job, its error workbook,
confirm and resume, exactly as for a job that does not exist; the error workbook lists the bad rows; a dry run
creates nothing and confirming it creates (once, however often it is confirmed); a failed job resumes and ends with
every row imported once; and every status of these routes conforms to the OpenAPI document (tag imports)."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from workflow import clock
from workflow.db import db
from workflow.imports import CHUNK, store
from workflow.imports.template import columns
from workflow.models import Application, AuditEvent, Job

from .factories import PNG, build_other_province
from .test_api_openapi import Contract
from .test_api_support import API, bearer, error_of
from .test_imports_files import kill_second_chunk, person, stored_files, xlsx

pytest_plugins = ["tests.notif_fixtures"]  # redis_server: a throwaway redis-server of the test's own

IMPORTS = f"{API}/campaigns/{{campaign_id}}/imports"
ONE = f"{API}/imports/{{job_id}}"


@pytest.fixture
def inline(app, monkeypatch):
    """Jobs run right where they are launched: these tests are about results, not progress."""
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", True)


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def upload(client, world, data: bytes, *, user=None, unit=None, dry_run: str | None = None, name: str = "ds.xlsx",
           lang: str | None = None, campaign=None):
    form = {"file": (io.BytesIO(data), name), "unit": str(unit if unit is not None else world.branch(0, 0).code)}
    if dry_run is not None:
        form["dry_run"] = dry_run
    return client.post(f"{API}/campaigns/{(campaign or world.cdht).id}/imports", data=form,
                       headers=bearer(user or world.officer(0, 0), lang), content_type="multipart/form-data")


def test_template_downloads_with_the_campaign_headers(app, client, world):
    resp = client.get(f"{API}/campaigns/{world.cdht.id}/import-template", headers=bearer(world.officer()))
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"mau-nhap-CDHT-{world.cdht.year}.xlsx" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(resp.data))
    header = [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))]
    assert header == [c.header for c in columns(world.cdht)]
    assert header[:6] == ["Họ và tên", "Ngày sinh", "Số CCCD", "Nhóm đối tượng", "Nơi cư trú", "Chi hội"]
    assert len(book.worksheets) == 2  # the second sheet explains the columns
    xht = client.get(f"{API}/campaigns/{world.xht.id}/import-template", headers=bearer(world.officer()))
    assert xht.status_code == 422 and error_of(xht)["code"] == "nominees_person_only"
    other = build_other_province()
    hidden = client.get(f"{API}/campaigns/{other.cdht.id}/import-template", headers=bearer(world.officer()))
    assert hidden.status_code == 404 and error_of(hidden)["code"] == "campaign_not_found"


def test_a_good_file_is_accepted_and_polled_to_done(app, client, world, inline):
    rows = [person(i) for i in range(1, 8)]
    resp = upload(client, world, xlsx(rows), name="danh sách chi hội.xlsx")
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"id", "status"} and body["status"] == "done"
    assert resp.headers["Location"].endswith(f"/api/v1/imports/{body['id']}")
    state = client.get(resp.headers["Location"], headers=bearer(world.officer(0, 0))).get_json()
    assert {k: state[k] for k in ("status", "total", "done", "created", "duplicates", "error_count", "dry_run",
                                  "file_name")} == {
        "status": "done", "total": 7, "done": 7, "created": 7, "duplicates": 0, "error_count": 0, "dry_run": False,
        "file_name": "danh sách chi hội.xlsx"}
    assert state["errors"] == []
    names = set(db.session.scalars(select(Application.full_name)))
    assert names == {f"Nguyễn Văn {i}" for i in range(1, 8)}
    assert count(AuditEvent, AuditEvent.action == "create") == 7
    # the unit by id works as well as by code; the same file again creates nothing twice
    again = upload(client, world, xlsx(rows), unit=world.branch(0, 0).id)
    assert again.status_code == 202
    state = client.get(again.headers["Location"], headers=bearer(world.officer(0, 0))).get_json()
    assert (state["created"], state["duplicates"]) == (0, 7)
    assert count(Application) == 7


def test_progress_is_visible_while_the_job_runs_in_the_background(app, client, world, monkeypatch):
    """Without JOBS_INLINE_SYNC the job runs in a thread: the POST answers before the work is done, and polling
    the status reaches done."""
    import time

    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", False)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    resp = upload(client, world, xlsx([person(i) for i in range(1, 301)]))
    assert resp.status_code == 202 and resp.get_json()["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while True:
        state = client.get(resp.headers["Location"], headers=bearer(world.officer(0, 0))).get_json()
        if state["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (state["status"], state["done"], state["created"]) == ("done", 300, 300)
    assert count(Application) == 300


@pytest.mark.parametrize("data, code", [
    (PNG, "nominees_not_spreadsheet"),
    (b"MZ\x90\x00" + b"\x00" * 200, "nominees_not_spreadsheet"),
    (xlsx([person(1)], header=["Tên", "Sinh", "CCCD"]), "nominees_headers"),
    (xlsx([]), "nominees_empty"),
])
def test_a_bad_file_is_refused_with_its_code_and_nothing_is_stored(app, client, world, inline, data, code):
    before = stored_files(app)
    resp = upload(client, world, data)
    assert resp.status_code == 422
    assert error_of(resp)["code"] == code
    assert count(Job) == 0 and count(Application) == 0 and count(AuditEvent) == 0
    assert stored_files(app) == before
    english = upload(client, world, data, lang="en")
    assert error_of(english)["message"] != error_of(resp)["message"]  # the caller's language


def test_field_errors(app, client, world, inline):
    no_file = client.post(f"{API}/campaigns/{world.cdht.id}/imports", data={"unit": world.branch().code},
                          headers=bearer(world.officer()), content_type="multipart/form-data")
    assert no_file.status_code == 422 and set(error_of(no_file)["fields"]) == {"file"}
    bad = upload(client, world, xlsx([person(1)]), unit="no-such-unit", dry_run="maybe")
    assert bad.status_code == 422 and set(error_of(bad)["fields"]) == {"unit", "dry_run"}
    elsewhere = upload(client, world, xlsx([person(1)]), unit=world.branch(1, 0).code)  # another commune's
    assert elsewhere.status_code == 403 and error_of(elsewhere)["code"] == "outside_scope"
    assert count(Job) == 0 and count(Application) == 0


def test_another_communes_officer_gets_404(app, client, world, inline):
    rows = [person(1), person(2, born="99/99/1980")]
    job_id = upload(client, world, xlsx(rows), dry_run="true").get_json()["id"]
    outsider = bearer(world.officer(1, 0))
    answers = [client.get(f"{API}/imports/{job_id}", headers=outsider),
               client.get(f"{API}/imports/{job_id}/errors.xlsx", headers=outsider),
               client.post(f"{API}/imports/{job_id}/confirm", headers=outsider),
               client.post(f"{API}/imports/{job_id}/resume", headers=outsider)]
    missing = client.get(f"{API}/imports/{job_id + 1000}", headers=outsider)
    for resp in answers + [missing]:
        assert resp.status_code == 404 and error_of(resp) == error_of(missing)
    assert count(Application) == 0 and count(Job) == 1
    # the commune's appraiser covers the branch: they may look
    assert client.get(f"{API}/imports/{job_id}", headers=bearer(world.appraiser(0))).status_code == 200


def test_the_error_workbook_lists_the_bad_rows(app, client, world, inline):
    rows = [person(1), person(2, born="31/02/1980"), person(3), person(4, cid="12345")]
    job_id = upload(client, world, xlsx(rows)).get_json()["id"]
    resp = client.get(f"{API}/imports/{job_id}/errors.xlsx", headers=bearer(world.officer(0, 0)))
    assert resp.status_code == 200 and f"loi-nhap-{job_id}.xlsx" in resp.headers["Content-Disposition"]
    values = [[c.value for c in r] for r in load_workbook(io.BytesIO(resp.data)).active.iter_rows()]
    assert values[0][-1] == "Lỗi"
    assert [v[0] for v in values[1:]] == ["Nguyễn Văn 2", "Nguyễn Văn 4"]
    assert values[1][-1].startswith("Dòng 3, cột «Ngày sinh»")
    assert "cột «Số CCCD»" in values[2][-1]
    state = client.get(f"{API}/imports/{job_id}", headers=bearer(world.officer(0, 0), "en")).get_json()
    assert [(e["row"], e["column"]) for e in state["errors"]] == [(3, "Ngày sinh"), (5, "Số CCCD")]
    assert "is not valid" in state["errors"][0]["message"]


def test_a_dry_run_creates_nothing_and_confirming_creates_once(app, client, world, inline):
    world.new_cdht(citizen_id=person(1)[2])  # typed by hand before: a duplicate
    db.session.commit()
    rows = [person(i) for i in range(1, 6)] + [person(6, born="x")]
    preview = upload(client, world, xlsx(rows), dry_run="true")
    assert preview.status_code == 202
    preview_id = preview.get_json()["id"]
    state = client.get(f"{API}/imports/{preview_id}", headers=bearer(world.officer(0, 0))).get_json()
    assert {k: state[k] for k in ("status", "dry_run", "total", "valid", "duplicates", "error_count", "created")} == {
        "status": "done", "dry_run": True, "total": 6, "valid": 4, "duplicates": 1, "error_count": 1, "created": 0}
    assert count(Application) == 1
    confirmed = client.post(f"{API}/imports/{preview_id}/confirm", headers=bearer(world.officer(0, 0)))
    assert confirmed.status_code == 202
    job_id = confirmed.get_json()["id"]
    assert job_id != preview_id and confirmed.headers["Location"].endswith(f"/imports/{job_id}")
    state = client.get(f"{API}/imports/{job_id}", headers=bearer(world.officer(0, 0))).get_json()
    assert (state["status"], state["created"], state["duplicates"], state["error_count"]) == ("done", 4, 1, 1)
    assert count(Application) == 5
    twice = client.post(f"{API}/imports/{preview_id}/confirm", headers=bearer(world.officer(0, 0)))
    assert twice.status_code == 202 and twice.get_json()["id"] == job_id
    assert count(Job) == 2 and count(Application) == 5
    not_a_preview = client.post(f"{API}/imports/{job_id}/confirm", headers=bearer(world.officer(0, 0)))
    assert not_a_preview.status_code == 422 and error_of(not_a_preview)["code"] == "nominees_not_preview"


def test_a_failed_job_resumes_and_every_row_is_imported_once(app, client, world, inline, monkeypatch):
    real = kill_second_chunk(monkeypatch)
    n = CHUNK + 100  # the second chunk dies: the first stays written
    resp = upload(client, world, xlsx([person(i) for i in range(n)]))
    assert resp.status_code == 202 and resp.get_json()["status"] == "failed"
    job_id = resp.get_json()["id"]
    state = client.get(f"{API}/imports/{job_id}", headers=bearer(world.officer(0, 0))).get_json()
    assert (state["status"], state["done"], state["created"]) == ("failed", CHUNK, CHUNK)
    assert "worker killed" in state["failure"]
    monkeypatch.setattr(store, "write_chunk", real)
    resumed = client.post(f"{API}/imports/{job_id}/resume", headers=bearer(world.officer(0, 0)))
    assert resumed.status_code == 202 and resumed.get_json() == {"id": job_id, "status": "done"}
    state = client.get(f"{API}/imports/{job_id}", headers=bearer(world.officer(0, 0))).get_json()
    assert (state["status"], state["done"], state["created"], state["duplicates"]) == ("done", n, n, 0)
    assert count(Application) == n and count(AuditEvent, AuditEvent.action == "create") == n
    again = client.post(f"{API}/imports/{job_id}/resume", headers=bearer(world.officer(0, 0)))
    assert again.status_code == 422 and error_of(again)["code"] == "job_not_resumable"


def test_a_stalled_job_resumes_but_a_live_one_does_not(app, client, world, monkeypatch):
    from .test_imports_files import start

    job = start(world, xlsx([person(i) for i in range(5)]))  # queued, never launched
    officer = bearer(world.officer(0, 0))
    job.status, job.started_at, job.heartbeat_at = "running", clock.now(), clock.now()
    db.session.commit()
    live = client.post(f"{API}/imports/{job.id}/resume", headers=officer)
    assert live.status_code == 422 and error_of(live)["code"] == "job_not_resumable"
    job.heartbeat_at = job.started_at = clock.now() - timedelta(minutes=5)  # the worker died
    db.session.commit()
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", True)
    resumed = client.post(f"{API}/imports/{job.id}/resume", headers=officer)
    assert resumed.status_code == 202 and resumed.get_json()["status"] == "done"
    assert count(Application) == 5


def test_every_import_route_conforms_to_the_document(app, client, world, inline):
    c = Contract()
    officer, outsider = bearer(world.officer(0, 0)), bearer(world.officer(1, 0))
    template = f"{API}/campaigns/{{campaign_id}}/import-template"
    c.check(client.get(f"{API}/campaigns/{world.cdht.id}/import-template", headers=officer), "get", template)
    c.check(client.get(f"{API}/campaigns/{world.xht.id}/import-template", headers=officer), "get", template)
    c.check(client.get(f"{API}/campaigns/424242/import-template", headers=officer), "get", template)
    c.check(client.get(f"{API}/campaigns/{world.cdht.id}/import-template"), "get", template)
    rows = [person(1), person(2, born="x")]
    preview = c.check(upload(client, world, xlsx(rows), dry_run="true"), "post", IMPORTS)
    c.check(upload(client, world, PNG), "post", IMPORTS)
    c.check(upload(client, world, xlsx(rows), unit=world.branch(1, 0).code), "post", IMPORTS)
    c.check(upload(client, world, xlsx(rows), campaign=type("C", (), {"id": 424242})), "post", IMPORTS)
    with pytest.MonkeyPatch.context() as mp:  # the request itself over the limit: 413, nothing read
        mp.setitem(app.config, "IMPORT_MAX_MB", 0.01)
        c.check(upload(client, world, b"0" * 600_000), "post", IMPORTS)
    pid = preview["id"]
    c.check(client.get(f"{API}/imports/{pid}", headers=officer), "get", ONE)
    c.check(client.get(f"{API}/imports/{pid}", headers=outsider), "get", ONE)
    c.check(client.get(f"{API}/imports/{pid}/errors.xlsx", headers=officer), "get", f"{ONE}/errors.xlsx")
    c.check(client.get(f"{API}/imports/{pid}/errors.xlsx", headers=outsider), "get", f"{ONE}/errors.xlsx")
    job = c.check(client.post(f"{API}/imports/{pid}/confirm", headers=officer), "post", f"{ONE}/confirm")
    c.check(client.post(f"{API}/imports/{job['id']}/confirm", headers=officer), "post", f"{ONE}/confirm")
    c.check(client.post(f"{API}/imports/{pid}/confirm", headers=outsider), "post", f"{ONE}/confirm")
    c.check(client.post(f"{API}/imports/{job['id']}/resume", headers=officer), "post", f"{ONE}/resume")
    c.check(client.post(f"{API}/imports/{job['id']}/resume", headers=outsider), "post", f"{ONE}/resume")
    db.session.expire_all()
    done = db.session.get(Job, job["id"])
    done.status = "failed"
    db.session.commit()
    c.check(client.post(f"{API}/imports/{job['id']}/resume", headers=officer), "post", f"{ONE}/resume")
    from web.api.openapi import document

    ours = {(m, p) for p, item in document()["paths"].items() for m, op in item.items() if "imports" in op["tags"]}
    assert {(m, p) for m, p, _ in c.seen} == ours
    assert {s for _, _, s in c.seen} >= {"200", "202", "401", "403", "404", "413", "422"}


def test_with_redis_the_job_waits_queued_for_a_worker_then_finishes(app, client, world, monkeypatch, redis_server):
    """REDIS_URL set (a real redis-server of this test's own): the upload answers 202 "queued" and nothing is
    imported until an RQ worker runs the job; then the status says done with the counts."""
    from notifications import queue as nq
    from notifications.jobs import JOBS_QUEUE

    from .notif_services import work

    url = redis_server.url
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", False)
    nq.reset_clients()
    resp = upload(client, world, xlsx([person(i) for i in range(1, 11)] + [person(11, born="x")]))
    assert resp.status_code == 202 and resp.get_json()["status"] == "queued"
    assert count(Application) == 0
    assert nq.queue(JOBS_QUEUE).count == 1
    work((JOBS_QUEUE,))
    state = client.get(resp.headers["Location"], headers=bearer(world.officer(0, 0))).get_json()
    assert (state["status"], state["created"], state["error_count"]) == ("done", 10, 1)
    assert count(Application) == 10
    nq.reset_clients()
