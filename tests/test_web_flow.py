"""The pages end to end through Flask's test client: nomination form, scoring, submit, return with reason and
resubmission, appraisal with score adjustment, stale-version conflict, batch approve, recognition decision with
CSV/XLSX, work queue filters, paging and search, audit pages, workflow diagram, inbox."""
from __future__ import annotations

import csv
import io
import re
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from workflow import audit
from workflow.db import db
from workflow.models import Application, AuditEvent, Decision, Notification
from workflow.rubrics import spec

from .factories import PASSWORD, add_all_evidence, bulk_at_appraisal, cdht_at

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def login(client, user):
    client.post("/logout")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def link(response, rel: str) -> str:
    return re.search(rf'href="([^"]+)" rel="{rel}"', response.get_data(as_text=True)).group(1).replace("&amp;", "&")


def fresh(app_id: int) -> Application:
    db.session.expire_all()
    return db.session.get(Application, app_id)


def test_nomination_form_validates_and_creates(client, world):
    login(client, world.officer())
    form = client.get(f"/campaigns/{world.cdht.id}/applications/new")
    assert form.status_code == 200 and "Số CCCD (12 chữ số)" in form.get_data(as_text=True)
    bad = client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "unit_id": world.branch().id, "full_name": "", "date_of_birth": "1985-13-40", "citizen_id": "12345",
        "subject_group": "9"})
    assert bad.status_code == 422
    body = text(bad)
    for message in ("Vui lòng nhập họ và tên.", "Nhập ngày sinh theo dạng dd/mm/yyyy, ví dụ 17/05/1980.",
                    "Số CCCD phải gồm đúng 12 chữ số.", "Vui lòng chọn nhóm đối tượng."):
        assert message in body
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0
    assert "Vui lòng chọn nơi cư trú." in body
    foreign = client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "unit_id": world.branch().id, "full_name": "Nguyễn Thị Hạnh", "date_of_birth": "1985-03-08",
        "citizen_id": "027185001234", "subject_group": "1", "residence_id": world.branch(1).id})
    assert foreign.status_code == 422  # a village of another commune is not offered, nor accepted
    good = client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "unit_id": world.branch().id, "full_name": "  Nguyễn   Thị Hạnh ", "date_of_birth": "1985-03-08",
        "citizen_id": "027185001234", "subject_group": "1", "residence_id": world.branch(0, 1).id})
    assert good.status_code == 302
    created = db.session.scalar(select(Application))
    assert created.full_name == "Nguyễn Thị Hạnh" and created.date_of_birth == date(1985, 3, 8)
    assert created.residence_unit_id == world.branch(0, 1).id
    assert good.location == f"/applications/{created.id}"
    twin = client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "unit_id": world.branch().id, "full_name": "Người Khác", "date_of_birth": "1990-01-01",
        "citizen_id": "027185001234", "subject_group": "2", "residence_id": world.branch().id})
    assert twin.status_code == 422 and "đã có hồ sơ trong đợt đánh giá này" in text(twin)


def test_commune_nominates_itself_for_xht(client, world):
    login(client, world.appraiser())
    page = client.get("/campaigns").get_data(as_text=True)
    assert 'id="new-XHT"' in page and 'id="new-CDHT"' not in page
    response = client.post(f"/campaigns/{world.xht.id}/applications/new",
                           data={"unit_id": world.communes[0].id, "target_level": "1"})
    assert response.status_code == 302
    created = db.session.scalar(select(Application))
    assert created.full_name == world.communes[0].name and created.state == "evidence_collection"
    again = client.post(f"/campaigns/{world.xht.id}/applications/new",
                        data={"unit_id": world.communes[0].id, "target_level": "1"})
    assert again.status_code == 422 and "Xã này đã có hồ sơ trong đợt đánh giá này." in text(again)


def test_campaigns_of_the_year_offer_nomination_to_branch_officers_only(client, world):
    login(client, world.officer())
    page = client.get("/campaigns").get_data(as_text=True)
    assert "Lập hồ sơ đề nghị" in page and 'id="new-CDHT"' in page and 'id="new-XHT"' not in page
    login(client, world.approver)
    assert "Lập hồ sơ đề nghị" not in client.get("/campaigns").get_data(as_text=True)
    assert client.get(f"/campaigns/{world.cdht.id}/applications/new").status_code == 403


def _score_form(application, value: int, **extra) -> dict:
    codes = [c.code for c in spec(application.rubric_id).criteria_for(application.target_level)]
    return {f"score-{c}": str(value) for c in codes} | {"version": str(application.version)} | extra


def test_whole_chain_with_return_and_resubmission(client, world):
    officer, appraiser = world.officer(), world.appraiser()
    application = world.new_cdht(full_name="Trần Văn Bình")
    add_all_evidence(application, officer)
    db.session.commit()
    app_id = application.id
    login(client, officer)
    detail = client.get(f"/applications/{app_id}")
    assert "Thu thập minh chứng" in text(detail)
    v = fresh(app_id).version
    assert client.post(f"/applications/{app_id}/actions/submit", data={"version": v}).status_code == 302
    assert fresh(app_id).state == "branch_scoring"
    scoring = client.get(f"/applications/{app_id}/scores")
    assert scoring.status_code == 200 and 'id="live-total"' in scoring.get_data(as_text=True)
    bad = client.post(f"/applications/{app_id}/scores", data=_score_form(fresh(app_id), 11))
    assert bad.status_code == 422 and "phải từ 0 đến 10" in text(bad)
    assert client.post(f"/applications/{app_id}/scores", data=_score_form(fresh(app_id), 9)).status_code == 302
    assert fresh(app_id).score_total == 90
    assert client.post(f"/applications/{app_id}/actions/submit",
                       data={"version": fresh(app_id).version}).status_code == 302
    assert fresh(app_id).state == "commune_appraisal"

    login(client, appraiser)
    assert "Trần Văn Bình" in text(client.get("/applications"))
    no_reason = client.post(f"/applications/{app_id}/actions/return", data={"version": fresh(app_id).version})
    assert no_reason.status_code == 422 and "Vui lòng nêu lý do" in text(no_reason)
    assert client.post(f"/applications/{app_id}/actions/return", data={
        "version": fresh(app_id).version, "reason": "Bổ sung chứng chỉ tin học (tiêu chí 2.1)"}).status_code == 302
    assert fresh(app_id).state == "branch_scoring"

    login(client, officer)
    home = text(client.get("/"))
    assert "Hồ sơ bị trả lại để bổ sung" in home and "Bổ sung chứng chỉ tin học (tiêu chí 2.1)" in home
    assert "Bổ sung chứng chỉ tin học" in text(client.get(f"/applications/{app_id}"))
    response = client.post(f"/applications/{app_id}/evidence", content_type="multipart/form-data", data={
        "criterion": "2.1", "version": fresh(app_id).version, "file": (io.BytesIO(PDF), "chứng chỉ tin học.pdf")})
    assert response.status_code == 302
    assert client.post(f"/applications/{app_id}/actions/submit",
                       data={"version": fresh(app_id).version}).status_code == 302
    assert fresh(app_id).state == "commune_appraisal"

    login(client, appraiser)
    adjust = _score_form(fresh(app_id), 9) | {"score-2.1": "10"}
    refused = client.post(f"/applications/{app_id}/scores", data=adjust)
    assert refused.status_code == 422 and "Vui lòng nêu lý do" in text(refused)
    adjust["reason"] = "Chứng chỉ bổ sung đạt chuẩn"
    assert client.post(f"/applications/{app_id}/scores", data=adjust).status_code == 302
    assert fresh(app_id).score_total == 91
    assert client.post(f"/applications/{app_id}/actions/approve",
                       data={"version": fresh(app_id).version, "confirm": "yes"}).status_code == 302
    assert fresh(app_id).state == "final_approval"

    login(client, world.approver)
    assert client.post(f"/applications/{app_id}/actions/approve",
                       data={"version": fresh(app_id).version, "confirm": "yes"}).status_code == 302
    assert fresh(app_id).state == "recognised"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == app_id)
                                                   .order_by(AuditEvent.id))]
    assert actions.count("return") == 1 and actions.count("submit") == 3 and actions[-1] == "approve"


def test_stale_page_gets_a_clear_conflict(client, world):
    application = cdht_at(world, "commune_appraisal")
    seen = application.version
    login(client, world.appraiser())
    assert client.post(f"/applications/{application.id}/actions/return",
                       data={"version": seen, "reason": "Thiếu biên bản bình xét"}).status_code == 302
    stale = client.post(f"/applications/{application.id}/actions/approve", data={"version": seen, "confirm": "yes"})
    assert stale.status_code == 409
    body = text(stale)
    # issue 13 (finding 12): who changed the file, when and what, and "Tải lại"; never a version number
    appraiser = world.appraiser().full_name
    assert re.search(rf"{re.escape(appraiser)} đã thay đổi hồ sơ này lúc \d\d:\d\d \d\d/\d\d/\d{{4}}, sau khi bạn "
                     r"mở trang: chuyển hồ sơ từ «Xã thẩm định» sang «Chi hội chấm điểm»", body)
    assert "Tải lại" in body and "phiên bản" not in body.lower()
    assert fresh(application.id).state == "branch_scoring"


def test_guard_refusal_explains_why(client, world):
    application = cdht_at(world, "branch_scoring")
    login(client, world.officer())
    response = client.post(f"/applications/{application.id}/actions/submit", data={"version": application.version})
    assert response.status_code == 422 and "Chưa chấm điểm đủ các tiêu chí" in text(response)


def test_batch_approve_reports_per_item(client, world):
    ids = bulk_at_appraisal(world, 3)
    failing = bulk_at_appraisal(world, 1, total=50)
    other = cdht_at(world, "commune_appraisal", commune=1)
    login(client, world.appraiser())
    response = client.post("/applications/batch", data={"action": "approve", "ids": ids + failing + [other.id],
                                                        "confirm": "yes"})
    assert response.status_code == 200
    body = text(response)
    assert "3 thành công, 2 bị từ chối." in body
    assert "Tổng điểm 50 chưa đạt mức tối thiểu 80." in body
    assert "Không tìm thấy hồ sơ." in body and other.full_name not in body.split("Kết quả xử lý hàng loạt")[-1]
    db.session.expire_all()
    states = dict(db.session.execute(select(Application.id, Application.state)).all())
    assert [states[i] for i in ids] == ["final_approval"] * 3
    assert states[failing[0]] == "commune_appraisal" and states[other.id] == "commune_appraisal"


def test_batch_return_needs_a_reason(client, world):
    ids = bulk_at_appraisal(world, 2)
    login(client, world.appraiser())
    body = text(client.post("/applications/batch", data={"action": "return", "ids": ids, "confirm": "yes"}))
    assert "0 thành công, 2 bị từ chối." in body
    body = text(client.post("/applications/batch", data={"action": "return", "ids": ids, "reason": "Thiếu minh chứng",
                                                          "confirm": "yes"}))
    assert "2 thành công, 0 bị từ chối." in body


def test_recognition_decision_and_its_lists(client, world):
    awaiting = [cdht_at(world, "final_approval", full_name=f"Phạm Thị Mai {i}") for i in range(2)]
    already = cdht_at(world, "recognised", full_name="Đỗ Văn Đạt")
    login(client, world.approver)
    page = client.get(f"/decisions/new?campaign={world.cdht.id}")
    assert page.status_code == 200 and "Phạm Thị Mai 0" in text(page) and "Đỗ Văn Đạt" in text(page)
    missing = client.post(f"/decisions/new?campaign={world.cdht.id}", data={"number": "", "ids": [already.id]})
    assert missing.status_code == 422 and "Vui lòng nhập số quyết định" in text(missing)
    chosen = {"number": "125/QĐ-UBND", "signed_on": "2025-12-01", "signer": "Nguyễn Văn Hùng",
              "ids": [a.id for a in awaiting] + [already.id]}
    confirm = client.post(f"/decisions/new?campaign={world.cdht.id}", data=chosen)  # first the count, nothing stored
    assert confirm.status_code == 200 and "Quyết định này sẽ công nhận 3 hồ sơ." in text(confirm)
    assert db.session.scalar(select(Decision)) is None
    response = client.post(f"/decisions/new?campaign={world.cdht.id}", data=chosen | {"confirm": "yes"})
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision))
    assert decision.number == "125/QĐ-UBND"
    db.session.expire_all()
    for a in awaiting + [already]:
        got = db.session.get(Application, a.id)
        assert got.state == "recognised" and got.decision_id == decision.id
    listing = client.get(f"/decisions/{decision.id}.csv")
    rows = list(csv.reader(io.StringIO(listing.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["STT", "Họ và tên"] and len(rows) == 4
    assert {r[1] for r in rows[1:]} == {"Phạm Thị Mai 0", "Phạm Thị Mai 1", "Đỗ Văn Đạt"}
    book = load_workbook(io.BytesIO(client.get(f"/decisions/{decision.id}.xlsx").data))
    values = [[c.value for c in row] for row in book.active.iter_rows()]
    assert "125/QĐ-UBND" in values[0][0] and values[1][1] == "Họ và tên" and len(values) == 5
    twice = client.post(f"/decisions/new?campaign={world.cdht.id}", data={
        "number": "125/QĐ-UBND", "signed_on": "2025-12-01", "signer": "X", "ids": [already.id]})
    assert twice.status_code == 422 and "đã dùng" in text(twice)
    login(client, world.appraiser())
    assert client.get("/decisions/new").status_code == 403


def test_queue_search_ignores_diacritics_and_case(client, world):
    cdht_at(world, "commune_appraisal", full_name="Nguyễn Văn An")
    cdht_at(world, "commune_appraisal", full_name="Đặng Thị Bích")
    login(client, world.appraiser())
    for q in ("nguyen van an", "NGUYEN VAN", "Nguyễn Văn An", "văn an"):
        body = text(client.get("/applications", query_string={"q": q}))
        assert "Nguyễn Văn An" in body and "Đặng Thị Bích" not in body, q
    body = text(client.get("/applications", query_string={"q": "dang thi bich"}))
    assert "Đặng Thị Bích" in body and "Nguyễn Văn An" not in body


def test_queue_filters_and_paging(client, world):
    bulk_at_appraisal(world, 30)
    bulk_at_appraisal(world, 3, commune=1)
    cdht_at(world, "branch_scoring")
    login(client, world.appraiser())
    resp = client.get("/applications")
    first = text(resp)
    assert "30 hồ sơ" in first and "Cũ hơn" in first and "Mới hơn" not in first and "Người thứ 0" not in first
    older = link(resp, "next")
    assert "before=" in older and "page=" not in older  # keyset: the id at the page's edge, never an OFFSET
    resp = client.get(older)
    second = text(resp)
    assert "Người thứ 0" in second and "30 hồ sơ" in second and "Cũ hơn" not in second and "Mới hơn" in second
    assert text(client.get(link(resp, "prev"))) == first  # back to the same first page
    assert "31 hồ sơ" in text(client.get("/applications?state=all"))
    assert "1 hồ sơ" in text(client.get("/applications?state=branch_scoring"))
    unit = world.branch(0, 1).id
    assert "0 hồ sơ" in text(client.get(f"/applications?state=all&unit={unit}"))
    assert "30 hồ sơ" in text(client.get(f"/applications?campaign={world.cdht.id}"))
    assert "0 hồ sơ" in text(client.get(f"/applications?campaign={world.xht.id}&state=all"))


def test_home_shows_what_waits_per_grant(client, world):
    bulk_at_appraisal(world, 4)
    login(client, world.appraiser())
    body = text(client.get("/"))
    assert "Cán bộ thẩm định xã" in body and "Xã thẩm định 4" in body


def test_audit_pages(client, world):
    application = cdht_at(world, "commune_appraisal", full_name="Lê Thị Thu")
    login(client, world.appraiser())
    client.post(f"/applications/{application.id}/actions/reject",
                data={"version": application.version, "reason": "Minh chứng không xác thực", "confirm": "yes"})
    audit.seal_all()
    login(client, world.auditor)
    timeline = text(client.get(f"/applications/{application.id}/timeline"))
    assert "Minh chứng không xác thực" in timeline and "Không công nhận" in timeline
    assert world.appraiser().full_name in timeline and world.appraiser().username not in timeline
    log = text(client.get("/audit/log", query_string={"action": "reject"}))
    assert "1 sự kiện" in log and "Lê Thị Thu" in log
    assert "0 sự kiện" in text(client.get("/audit/log", query_string={"unit": world.communes[1].id}))
    assert "0 sự kiện" in text(client.get("/audit/log", query_string={"actor": "nobody"}))
    assert "0 sự kiện" in text(client.get("/audit/log", query_string={"from": "2999-01-01"}))
    exported = client.get("/audit/log.csv", query_string={"actor": world.appraiser().username})
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Số sự kiện" and len(rows) == 2 and rows[1][4] == "Từ chối"  # issue 13: labels
    chain = client.get("/audit/chain")
    assert "Đã kiểm tra" in text(chain) and 'id="sealed">' in chain.get_data(as_text=True)
    login(client, world.officer())
    assert client.get("/audit/log").status_code == 403
    assert client.get("/audit/chain").status_code == 403


def test_csv_export_neutralises_formulas(client, world):
    application = cdht_at(world, "commune_appraisal")
    login(client, world.appraiser())
    client.post(f"/applications/{application.id}/actions/reject",
                data={"version": application.version, "reason": "=HYPERLINK(\"http://evil\")", "confirm": "yes"})
    login(client, world.auditor)
    exported = client.get("/audit/log.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in exported


def test_workflow_diagram_pages(client, world):
    login(client, world.officer())
    page = client.get("/titles/CDHT/diagram")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in body and "Chi hội chấm điểm" in body  # drawn (issue 13)
    assert "stateDiagram" in client.get("/titles/CDHT/diagram.mmd").get_data(as_text=True)  # source: a download
    assert "XHT" in client.get("/titles").get_data(as_text=True)
    assert "Tự đánh giá" in client.get("/titles/XHT/diagram").get_data(as_text=True)
    assert client.get("/titles/NOPE/diagram").status_code == 404


def test_inbox_reads_my_notifications(client, world):
    officer = world.officer()
    db.session.add_all([
        Notification(user_id=officer.id, channel="inapp", kind="returned", subject="Hồ sơ bị trả lại",
                     body="Bổ sung minh chứng"),
        Notification(user_id=world.officer(1).id, channel="inapp", kind="returned", subject="Của người khác"),
    ])
    db.session.commit()
    login(client, officer)
    assert "1 thông báo chưa đọc" in text(client.get("/"))
    inbox = client.get("/inbox")
    assert "Hồ sơ bị trả lại" in text(inbox) and "Của người khác" not in text(inbox)
    note = db.session.scalar(select(Notification).where(Notification.user_id == officer.id))
    other = db.session.scalar(select(Notification).where(Notification.user_id != officer.id))
    client.post(f"/inbox/{note.id}/read")
    client.post(f"/inbox/{other.id}/read")
    db.session.expire_all()
    assert note.read_at is not None and other.read_at is None


def test_control_characters_in_a_form_get_the_friendly_400_and_store_nothing(client, world):
    from workflow.models import Application

    login(client, world.officer())
    response = client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "full_name": "Nguyễn\x00 Văn An", "date_of_birth": "1980-05-17", "citizen_id": "027180001234",
        "subject_group": "1", "unit_id": world.branch().id})
    assert response.status_code == 400 and "Yêu cầu không hợp lệ" in text(response)
    assert Application.query.count() == 0
