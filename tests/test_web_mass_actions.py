"""Mass actions as jobs, the pages: the queue offers "Áp dụng cho tất cả hồ sơ khớp bộ lọc" with its current filter;
the confirmation states the action and the exact count (the queue's own count for "waiting for me") and asks a
reason for a return; nothing starts unless the box is ticked or when the count has changed meanwhile; the job page
shows the result, the outcome workbook and, for a failed job, "Tiếp tục"; a running job's page refreshes itself
without JavaScript and its status is polled as JSON; another user's job answers 404; forms need their CSRF token."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from workflow import engine, mass_actions
from workflow.db import db
from workflow.mass_actions import QueueFilter
from workflow.models import Application, Job

from .factories import PASSWORD, bulk_at_appraisal
from .test_mass_actions import kill_second_chunk


@pytest.fixture
def inline(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", True)
    monkeypatch.setitem(app.config, "MASS_ACTION_CHUNK", 3)


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def in_state(state: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Application).where(Application.state == state))


def test_the_queue_offers_the_mass_action_with_its_filter(client, world, inline):
    bulk_at_appraisal(world, 3)
    login(client, world.appraiser(0))
    page = client.get(f"/applications?unit={world.branch(0, 0).id}&q=nguoi").get_data(as_text=True)
    assert page.count('id="mass-action"') == 1
    form = page[page.index('id="mass-action"'):]
    form = form[:form.index("</form>")]
    assert f'name="unit" value="{world.branch(0, 0).id}"' in form and 'name="q" value="nguoi"' in form
    assert "Áp dụng cho tất cả hồ sơ khớp bộ lọc" in form
    chosen = client.get(f"/applications/mass?action=approve&unit={world.branch(0, 0).id}&q=nguoi&state=")
    assert chosen.status_code == 302
    assert chosen.headers["Location"].startswith("/applications/mass/approve?")
    assert client.get("/applications/mass?action=withdraw").status_code == 404


def test_the_confirmation_states_the_queues_count_and_the_job_acts_on_it(client, world, inline):
    ids = bulk_at_appraisal(world, 7)
    bulk_at_appraisal(world, 2, commune=1)
    login(client, world.appraiser(0))
    queue = client.get("/applications")  # "waiting for me"
    assert "7 hồ sơ" in text(queue)
    confirm = client.get("/applications/mass/approve")
    assert confirm.status_code == 200
    body = text(confirm)
    assert 'data-total="7"' in confirm.get_data(as_text=True)
    assert "«Phê duyệt» sẽ được thực hiện với 7 hồ sơ." in body and "Đang chờ tôi xử lý" in body
    assert 'id="mass-reason"' not in confirm.get_data(as_text=True)
    unticked = client.post("/applications/mass/approve", data={"state": "", "expected": "7"})
    assert unticked.status_code == 422 and db.session.query(Job).count() == 0
    started = client.post("/applications/mass/approve", data={"state": "", "expected": "7", "confirm": "yes"})
    assert started.status_code == 302
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    page = client.get(started.headers["Location"])
    body = text(page)
    assert page.status_code == 200 and "Đã xong" in body
    assert re.search(r'id="mass-selection">Đang chờ tôi xử lý<', page.get_data(as_text=True))
    assert re.search(r'id="count-ok">7<', page.get_data(as_text=True))
    assert 'id="mass-resume"' not in page.get_data(as_text=True)
    assert in_state("final_approval") == 7
    book = client.get(f"/mass-actions/{job_id}/outcomes.xlsx")
    assert book.status_code == 200
    rows = list(load_workbook(io.BytesIO(book.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "Mã hồ sơ" and [r[0] for r in rows[1:]] == sorted(ids)
    assert all(r[5] == "Đã thực hiện" for r in rows[1:])


def test_a_return_asks_its_reason(client, world, inline):
    bulk_at_appraisal(world, 2)
    login(client, world.appraiser(0))
    confirm = client.get("/applications/mass/return")
    assert 'id="mass-reason"' in confirm.get_data(as_text=True)
    no_reason = client.post("/applications/mass/return", data={"expected": "2", "confirm": "yes"})
    assert no_reason.status_code == 422 and "lý do" in text(no_reason)
    assert db.session.query(Job).count() == 0
    done = client.post("/applications/mass/return", data={"expected": "2", "confirm": "yes",
                                                          "reason": "Bổ sung biên bản"})
    assert done.status_code == 302 and in_state("branch_scoring") == 2


def test_a_count_changed_meanwhile_starts_nothing(client, world, inline):
    ids = bulk_at_appraisal(world, 3)
    login(client, world.appraiser(0))
    assert 'data-total="3"' in client.get("/applications/mass/approve").get_data(as_text=True)
    engine.fire(ids[0], "approve", world.appraiser(0))  # a colleague, between the page and the click
    db.session.commit()
    resp = client.post("/applications/mass/approve", data={"expected": "3", "confirm": "yes"})
    assert resp.status_code == 409
    assert "bạn xác nhận 3, nay là 2" in text(resp) and 'data-total="2"' in resp.get_data(as_text=True)
    assert db.session.query(Job).count() == 0 and in_state("final_approval") == 1


def test_nothing_to_do_says_so(client, world, inline):
    login(client, world.appraiser(1))
    bulk_at_appraisal(world, 2)
    page = client.get("/applications/mass/approve")
    assert page.status_code == 200 and 'id="mass-nothing"' in page.get_data(as_text=True)
    assert 'id="mass-confirm-form"' not in page.get_data(as_text=True)


def test_a_failed_job_offers_resume_and_finishes_once(client, world, inline, monkeypatch):
    ids = bulk_at_appraisal(world, 7)
    login(client, world.appraiser(0))
    real = kill_second_chunk(monkeypatch)
    started = client.post("/applications/mass/approve", data={"expected": "7", "confirm": "yes"})
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert 'id="mass-resume"' in page and "Tiếp tục" in page
    assert 'id="outcomes-link"' in page
    monkeypatch.setattr(engine, "fire_batch", real)
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    resumed = client.post(f"/mass-actions/{job_id}/resume")
    assert resumed.status_code == 302
    page = client.get(f"/mass-actions/{job_id}").get_data(as_text=True)
    assert re.search(r'id="count-ok">7<', page) and 'id="mass-resume"' not in page
    assert in_state("final_approval") == len(ids)


def test_a_running_job_refreshes_itself_and_is_polled(client, world, monkeypatch):
    bulk_at_appraisal(world, 4)
    job, _new = mass_actions.start(world.appraiser(0), "approve", filter=QueueFilter())
    db.session.commit()  # queued, never launched: as while a worker is busy elsewhere
    login(client, world.appraiser(0))
    page = client.get(f"/mass-actions/{job.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and 'data-watch="yes"' in page and "jobs.js" in page
    state = client.get(f"/mass-actions/{job.id}/status.json")
    assert state.status_code == 200 and state.headers["Cache-Control"] == "no-store"
    body = state.get_json()
    assert (body["status"], body["total"], body["done"], body["percent"]) == ("queued", 4, 0, 0)
    assert [o["result_label"] for o in body["outcomes"]] == ["Chưa đến lượt"] * 4
    assert client.get("/static/jobs.js").status_code == 200


def test_another_users_job_is_404(client, world, inline):
    bulk_at_appraisal(world, 2)
    login(client, world.appraiser(0))
    started = client.post("/applications/mass/approve", data={"expected": "2", "confirm": "yes"})
    job_id = int(started.headers["Location"].rsplit("/", 1)[1])
    for outsider in (world.appraiser(1), world.approver):
        login(client, outsider)
        for resp in (client.get(f"/mass-actions/{job_id}"), client.get(f"/mass-actions/{job_id}/status.json"),
                     client.get(f"/mass-actions/{job_id}/outcomes.xlsx"),
                     client.post(f"/mass-actions/{job_id}/resume")):
            assert resp.status_code == 404


def test_forms_need_their_csrf_token(app, world):
    from web import create_app

    from .test_web_imports import Browser

    site = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "PASSWORD_HASH_FAST": True, "SECRET_KEY": "mass-test", "WTF_CSRF_ENABLED": True,
                       "UPLOAD_DIR": app.config["UPLOAD_DIR"], "JOBS_INLINE_SYNC": True})
    try:
        bulk_at_appraisal(world, 2)
        browser = Browser(site, world.appraiser(0).username)
        with site.app_context():
            bare = browser.client.post("/applications/mass/approve", data={"expected": "2", "confirm": "yes"})
        assert bare.status_code == 400
        ok = browser.post("/applications/mass/approve", {"expected": "2", "confirm": "yes"},
                          form_page="/applications/mass/approve")
        assert ok.status_code == 302
        assert in_state("final_approval") == 2
    finally:
        with site.app_context():
            db.session.remove()
            db.engine.dispose()
