"""Issue 13, safe actions and batches (findings 3, 4 and 6) through Flask's test client: irreversible steps are
taken only when confirmed, withdrawal needs a reason (page and API), a repeated nomination submit leads to the file
it created, the branch's steps are named for what they do (and one click sends a complete, scored file to the
commune, stage by stage), the batch offers only the role's actions with no default, and the queue's title column
and per-row marks cost the same few queries whatever the number of rows."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from workflow import engine
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.models import Application, AuditEvent
from workflow.rubrics import spec

from .factories import add_all_evidence, bulk_at_appraisal, cdht_at, score_all
from .test_api_support import API, bearer
from .test_web_flow import fresh, login, text


def events(app_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == app_id)
                                   .order_by(AuditEvent.id)))


def options(body: str, select_id: str) -> list[tuple[str, str]]:
    """(value, text) of a select box's options, in order."""
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', body, re.S)
    assert found, select_id
    return [(v, re.sub(r"\s+", " ", t).strip())
            for v, t in re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', found.group(1), re.S)]


# ---------------------------------------------------------------- withdraw needs a reason (finding 3)

def test_withdraw_needs_a_reason_in_the_engine_the_page_and_the_api(client, world):
    app = cdht_at(world, "evidence_collection", full_name="Phan Văn Rút")
    officer = world.officer()
    with pytest.raises(GuardRefused) as refused:
        engine.check(app, "withdraw", officer)
    assert refused.value.code == "reason_required"
    api = client.post(f"{API}/applications/{app.id}/actions/withdraw", headers=bearer(officer),
                      json={"version": app.version})
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "reason_required"
    login(client, officer)
    page = client.post(f"/applications/{app.id}/actions/withdraw", data={"version": app.version, "confirm": "yes"})
    assert page.status_code == 422 and "Vui lòng nêu lý do" in text(page)
    assert fresh(app.id).state == "evidence_collection" and [e.action for e in events(app.id)] == ["create"]
    detail = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert re.search(r'<textarea name="reason"[^>]*id="reason-withdraw"[^>]*required', detail)
    done = client.post(f"/applications/{app.id}/actions/withdraw", data={
        "version": app.version, "reason": "Người được đề cử chuyển nơi cư trú", "confirm": "yes"})
    assert done.status_code == 302 and fresh(app.id).state == "withdrawn"
    assert events(app.id)[-1].reason == "Người được đề cử chuyển nơi cư trú"
    assert "Người được đề cử chuyển nơi cư trú" in text(client.get(f"/applications/{app.id}"))


def test_the_openapi_document_says_which_actions_need_a_reason(client, world):
    doc = client.get(f"{API}/openapi.json").get_json()
    described = doc["paths"]["/api/v1/applications/{app_id}/actions/{action}"]["post"]["description"]
    assert "withdraw" in described and "reason" in described


# ---------------------------------------------------------------- confirmation before irreversible steps

def test_an_unconfirmed_approval_is_asked_not_taken(client, world):
    app = cdht_at(world, "commune_appraisal", full_name="Lê Văn Duyệt")
    seen = app.version
    login(client, world.appraiser())
    detail = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert re.search(r'data-confirm="«Phê duyệt»: hồ sơ của Lê Văn Duyệt \(1 hồ sơ\) sẽ chuyển sang «Chờ phê duyệt»',
                     detail)
    assert 'id="confirm-dialog"' in detail
    asked = client.post(f"/applications/{app.id}/actions/approve", data={"version": seen})
    assert asked.status_code == 200
    body = text(asked)
    assert "Xin xác nhận: Phê duyệt" in body and "(1 hồ sơ) sẽ chuyển sang «Chờ phê duyệt»" in body
    assert 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert fresh(app.id).state == "commune_appraisal" and [e.action for e in events(app.id)][-1] == "submit"
    done = client.post(f"/applications/{app.id}/actions/approve", data={"version": seen, "confirm": "yes"})
    assert done.status_code == 302 and fresh(app.id).state == "final_approval"
    # the same confirmation posted again (a double click, a stale tab): a conflict, never a second step
    again = client.post(f"/applications/{app.id}/actions/approve", data={"version": seen, "confirm": "yes"})
    assert again.status_code == 409 and [e.action for e in events(app.id)].count("approve") == 1


def test_a_refused_step_is_said_before_any_confirmation(client, world):
    app = cdht_at(world, "commune_appraisal")
    login(client, world.appraiser())
    no_reason = client.post(f"/applications/{app.id}/actions/reject", data={"version": app.version})
    assert no_reason.status_code == 422 and "Vui lòng nêu lý do" in text(no_reason)
    asked = client.post(f"/applications/{app.id}/actions/reject",
                        data={"version": app.version, "reason": "Minh chứng không xác thực"})
    assert asked.status_code == 200 and "sẽ chuyển sang «Không công nhận»" in text(asked)
    assert "Minh chứng không xác thực" in text(asked) and fresh(app.id).state == "commune_appraisal"
    stale = client.post(f"/applications/{app.id}/actions/reject", data={"version": app.version - 1,
                                                                         "reason": "Cũ"})
    assert stale.status_code == 409


# ---------------------------------------------------------------- the branch's steps (finding 4)

def test_the_branch_steps_are_named_for_what_they_do(client, world):
    collecting = cdht_at(world, "evidence_collection")
    scoring = cdht_at(world, "branch_scoring")
    login(client, world.officer())
    first = client.get(f"/applications/{collecting.id}").get_data(as_text=True)
    assert re.search(r'id="action-submit"[^>]*>Hoàn tất minh chứng, chuyển sang chấm điểm<', first)
    assert 'id="action-submit-through"' not in first  # not scored yet: only the step within the branch
    second = client.get(f"/applications/{scoring.id}").get_data(as_text=True)
    assert re.search(r'id="action-submit"[^>]*>Gửi lên xã thẩm định<', second)
    assert re.search(r'id="action-return"[^>]*>Quay lại bổ sung minh chứng<', second)
    assert "Trả lại để bổ sung</button>" not in second
    login(client, world.appraiser())  # the commune still returns "for completion"
    at_commune = cdht_at(world, "commune_appraisal")
    assert re.search(r'id="action-return"[^>]*>Trả lại để bổ sung<',
                     client.get(f"/applications/{at_commune.id}").get_data(as_text=True))


def test_a_complete_scored_file_goes_to_the_commune_in_one_click_stage_by_stage(client, world):
    app = world.new_cdht(full_name="Đặng Thị Một Lần")
    officer = world.officer()
    add_all_evidence(app, officer)
    score_all(app, officer)
    db.session.commit()
    login(client, officer)
    page = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert re.search(r'id="action-submit-through"[^>]*>Gửi lên xã thẩm định<', page)
    done = client.post(f"/applications/{app.id}/actions/submit", data={"version": fresh(app.id).version,
                                                                        "through": "1"})
    assert done.status_code == 302 and fresh(app.id).state == "commune_appraisal"
    steps = [(e.action, e.from_state, e.to_state) for e in events(app.id) if e.action == "submit"]
    assert steps == [("submit", "evidence_collection", "branch_scoring"),
                     ("submit", "branch_scoring", "commune_appraisal")]


def test_the_one_click_path_keeps_nothing_when_a_stage_refuses(client, world):
    app = world.new_cdht()
    officer = world.officer()
    add_all_evidence(app, officer)
    score_all(app, officer, 2)  # below the pass rule: branch scoring refuses to send it up
    db.session.commit()
    login(client, officer)
    refused = client.post(f"/applications/{app.id}/actions/submit", data={"version": fresh(app.id).version,
                                                                           "through": "1"})
    assert refused.status_code == 422 and fresh(app.id).state == "evidence_collection"
    assert [e.action for e in events(app.id)].count("submit") == 0


# ---------------------------------------------------------------- repeated nomination submit (finding 3)

def _nomination(world, token: str, cid: str = "027185009999") -> dict:
    return {"unit_id": world.branch().id, "full_name": "Nguyễn Thị Hai Lần", "date_of_birth": "1985-03-08",
            "citizen_id": cid, "subject_group": "1", "residence_id": world.branch().id, "form_token": token}


def test_a_repeated_nomination_submit_leads_to_the_file_it_created(client, world):
    login(client, world.officer())
    url = f"/campaigns/{world.cdht.id}/applications/new"
    token = re.search(r'name="form_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
    first = client.post(url, data=_nomination(world, token))
    second = client.post(url, data=_nomination(world, token))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1
    shown = text(client.get(second.headers["Location"]))
    assert "Hồ sơ đã được tạo" in shown and "Nguyễn Thị Hai Lần" in shown
    # a new form for the same person later is a real duplicate, said so
    fresh_token = re.search(r'name="form_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
    duplicate = client.post(url, data=_nomination(world, fresh_token))
    assert duplicate.status_code == 422 and db.session.scalar(select(func.count()).select_from(Application)) == 1
    forged = client.post(url, data=_nomination(world, token[:-2] + "xx"))
    assert forged.status_code == 422
    login(client, world.officer(0, 1))  # another officer's token is no token of theirs
    assert client.post(url, data=_nomination(world, token) | {"unit_id": world.branch(0, 1).id,
                                                              "residence_id": world.branch(0, 1).id}
                       ).status_code == 422


# ---------------------------------------------------------------- batches (findings 3 and 6)

def test_a_branch_officer_is_offered_only_the_branch_steps_with_no_default(client, world):
    cdht_at(world, "evidence_collection")
    cdht_at(world, "branch_scoring")
    login(client, world.officer())
    body = client.get("/applications").get_data(as_text=True)
    batch = options(body, "batch-action")
    assert batch[0] == ("", "Chọn thao tác…") and {v for v, _ in batch} == {"", "submit", "return"}
    assert '<option value="" selected>Chọn thao tác…</option>' in body
    mass = options(body, "mass-action-action")
    assert mass[0][0] == "" and "approve" not in {v for v, _ in mass} and "reject" not in {v for v, _ in mass}
    login(client, world.appraiser())
    cdht_at(world, "commune_appraisal")
    offered = {v for v, _ in options(client.get("/applications").get_data(as_text=True), "batch-action")}
    assert offered == {"", "approve", "return", "reject"}


def test_a_batch_without_an_action_or_a_confirmation_does_nothing(client, world):
    ids = bulk_at_appraisal(world, 3)
    login(client, world.appraiser())
    unchosen = client.post("/applications/batch", data={"action": "", "ids": ids, "confirm": "yes"})
    assert unchosen.status_code == 422 and "Vui lòng chọn thao tác cho các hồ sơ đã chọn." in text(unchosen)
    asked = client.post("/applications/batch", data={"action": "approve", "ids": ids})
    assert asked.status_code == 200
    assert "«Phê duyệt» sẽ được thực hiện trên 3 hồ sơ đã chọn." in text(asked)
    assert "Xác nhận: Phê duyệt, 3 hồ sơ" in text(asked)
    db.session.expire_all()
    assert set(db.session.scalars(select(Application.state).where(Application.id.in_(ids)))) == {
        "commune_appraisal"}
    done = client.post("/applications/batch", data={"action": "approve", "ids": ids, "confirm": "yes"})
    assert "3 thành công, 0 bị từ chối." in text(done)
    nothing = client.get("/applications/mass", query_string={"action": "", "state": "all"})
    assert nothing.status_code == 302 and "/applications" in nothing.headers["Location"]


def test_the_queue_shows_the_title_and_each_rows_marks(client, world):
    ready = cdht_at(world, "branch_scoring", full_name="Vũ Thị Đủ")
    returned = cdht_at(world, "commune_appraisal", full_name="Hồ Văn Trả")
    engine.fire(returned, "return", world.appraiser(), reason="Thiếu minh chứng")
    bare = cdht_at(world, "evidence_collection", full_name="Tạ Văn Thiếu")
    xht = world.new_xht()
    db.session.commit()
    login(client, world.officer())
    body = client.get("/applications", query_string={"state": "all"}).get_data(as_text=True)
    row = re.compile(r'<tr><td><input type="checkbox" name="ids" value="(\d+)".*?</tr>', re.S)
    rows = {m.group(1): m.group(0) for m in row.finditer(body)}
    need = sum(1 for c in spec(ready.rubric_id).criteria_for(1) if c.evidence_required)
    assert need and re.search(r"<th>Danh hiệu</th>", body)
    assert "Công dân học tập" in rows[str(ready.id)] and f">{need}/{need}<" in rows[str(ready.id)]
    assert "chưa đạt" in rows[str(ready.id)] and "đã bị trả lại" not in rows[str(ready.id)]
    assert "đã bị trả lại" in rows[str(returned.id)] and ">đạt<" in rows[str(returned.id)]
    assert f">0/{need}<" in rows[str(bare.id)]
    assert str(xht.id) not in rows  # a commune's file is not the branch's
    login(client, world.appraiser())
    mine = client.get("/applications", query_string={"state": "all"}).get_data(as_text=True)
    assert "Xã học tập" in mine and "Công dân học tập" in mine


def test_the_queue_costs_the_same_queries_for_3_or_25_rows(client, world, app):
    login(client, world.appraiser())
    bulk_at_appraisal(world, 3)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def page_cost() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/applications").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return list(statements)

    page_cost()  # the first request after a commit reloads the user: warm up each time
    few = page_cost()
    bulk_at_appraisal(world, 30)
    page_cost()
    many = page_cost()
    assert len(many) == len(few), (few, many)
    marks = [s for s in many if "evidence.criterion_code" in s or "DISTINCT audit_events.application_id" in s]
    assert len(marks) == 2  # the marks of the page's 25 rows: one query for evidence, one for returns
