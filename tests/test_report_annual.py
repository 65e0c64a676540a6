"""The annual report (issue 11, part D): its rows are the figures of workflow.reports.indicators for the same unit and
year, with the target that applies and its plan cited; the XLSX opens and holds the rows; the PDF's text carries the
Vietnamese names, the title, the unit, the year and the generation date. A commune's appraiser closes the year
(audited; nobody else may), a provincial admin or approver reopens it with a reason (audited). The December
reminders go only to communes that have not closed, once a day, only in the window (time-machine). The API answers
JSON, XLSX and PDF, 404 outside the caller's scope and 400 on bad parameters."""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from notifications import closing as closing_job
from notifications import delivery
from workflow import clock
from workflow.authz import actor_of
from workflow.db import db
from workflow.errors import NotAuthorized, NotFound, WorkflowError
from workflow.models import AuditEvent, ClosingReminder, Notification, OutboxMessage, ReportDenominator
from workflow.reports import annual, closing, indicators, targets

from .factories import PASSWORD, build_other_province, cdht_at, make_user
from .test_api_support import API, bearer, error_of

pytest_plugins = ["tests.notif_fixtures"]

COMPUTED = {"cdht_coverage": indicators.coverage, "xht_share": indicators.xht_share,
            "digital_skills": indicators.digital_skills}


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def adults(world, year: int, values=(400, 600)) -> None:
    """Adults aged 15 and over per commune (A's denominators), so coverage has a denominator."""
    for commune, value in zip(world.communes, values, strict=True):
        db.session.add(ReportDenominator(unit_id=commune.id, year=year, kind="adults", value=value,
                                         source="Chi cục Thống kê (thử nghiệm)"))
    db.session.commit()


@pytest.fixture
def files(world):
    """Recognised, revoked and open CDHT files in both communes, and the adults they are counted over."""
    year = clock.today().year
    adults(world, year)
    held = [cdht_at(world, "recognised", 0) for _ in range(3)] + [cdht_at(world, "recognised", 1)]
    from workflow import engine

    engine.fire(held[0], "revoke", world.approver, reason="Khai báo sai")  # revoked: never counted
    db.session.commit()
    cdht_at(world, "commune_appraisal", 1)
    return year


def closure_close(world, commune: int, year: int, **values):
    data = closing.parse_form({"year": str(year), **{k: str(v) for k, v in values.items()}})
    c = closing.close_year(world.appraiser(commune), world.communes[commune], data)
    db.session.commit()
    return c


# --------------------------------------------------------------------------------------------------------- the rows

def test_rows_equal_the_indicators_figures(world, files):
    year = files
    actor = actor_of(world.admin)
    report = annual.build(actor, world.province, year)
    codes = [r.indicator for r in report.rows]
    assert codes == ["cdht_coverage", "xht_share", "digital_skills", "cdht_trained", "cdht_unit_staff"]
    by_code = {r.indicator: r for r in report.rows}
    for code, fn in COMPUTED.items():
        own, children = fn(actor, world.province, year)
        row = by_code[code]
        assert (row.numerator, row.denominator, row.value) == (own.numerator, own.denominator, own.value), code
        assert row.list_name == own.list_name and row.list_args == own.list_args
        kids = {f.unit_id: f for f in children}
        for unit_id, _name, rows in report.communes:
            r = next(x for x in rows if x.indicator == code)
            f = kids[unit_id]
            assert (r.numerator, r.denominator, r.value) == (f.numerator, f.denominator, f.value), (code, unit_id)
    assert [name for _id, name, _rows in report.communes] == ["Xã Đông Phong", "Xã Yên Lư"]
    cov = by_code["cdht_coverage"]
    assert cov.numerator == 3 and cov.denominator == 1000  # 4 recognised, one revoked; 400 + 600 adults
    assert report.sources["holders"] == 3 and report.sources["files"] == 5
    # a commune's own report: its own figures, no per-commune part
    commune = annual.build(actor_of(world.appraiser(0)), world.communes[0], year)
    own, _kids = indicators.coverage(actor_of(world.appraiser(0)), world.communes[0], year)
    assert commune.rows[0].numerator == own.numerator == 2 and commune.communes == []


def test_targets_are_cited(world):
    """2025: QĐ 677's national 40% applies to a province without its own plan; the plan is cited on the row and in
    the header."""
    report = annual.build(actor_of(world.admin), world.province, 2025)
    row = next(r for r in report.rows if r.indicator == "cdht_coverage")
    ref = targets.target_for(world.province, "cdht_coverage", 2025)
    assert ref is not None and row.target == ref.value == 40 and "677" in row.target_plan
    assert row.target_plan == ref.plan_citation and ref.plan_citation in report.plans
    for _id, _name, rows in report.communes:
        assert next(r for r in rows if r.indicator == "cdht_coverage").target_plan == ref.plan_citation
    staff = next(r for r in report.rows if r.indicator == "cdht_unit_staff")
    assert staff.target == 60 and staff.value is None and staff.met is None  # nobody reported: not judged


def test_a_communes_own_target_is_its_own(world):
    """The report reads the province's target once per indicator; a commune with a target of its own gets that
    one (targets.target_for's rule), its sibling the province's."""
    from workflow.models import ReportPlan, ReportTarget

    plan = db.session.scalar(select(ReportPlan).where(ReportPlan.province_id.is_(None),
                                                      ReportPlan.first_year <= 2025, ReportPlan.last_year >= 2025))
    db.session.add(ReportTarget(plan_id=plan.id, unit_id=world.communes[0].id, indicator="cdht_coverage",
                                year=2025, value=55))
    db.session.commit()
    report = annual.build(actor_of(world.admin), world.province, 2025)
    per = {uid: next(r for r in rows if r.indicator == "cdht_coverage") for uid, _n, rows in report.communes}
    for commune in world.communes:
        assert per[commune.id].target == targets.target_for(commune, "cdht_coverage", 2025).value
    assert per[world.communes[0].id].target == 55 and per[world.communes[1].id].target == 40


def test_reported_values_and_met(world, files):
    year = files
    closure_close(world, 0, year, cdht_trained_numerator=30, cdht_trained_denominator=40,
                  cdht_unit_staff_numerator=5, cdht_unit_staff_denominator=10)
    closure_close(world, 1, year, cdht_trained_numerator=10, cdht_trained_denominator=60)
    report = annual.build(actor_of(world.admin), world.province, year)
    trained = next(r for r in report.rows if r.indicator == "cdht_trained")
    assert (trained.numerator, trained.denominator, trained.value) == (40, 100, 40.0)
    staff = next(r for r in report.rows if r.indicator == "cdht_unit_staff")
    assert (staff.numerator, staff.denominator) == (5, 10) and "1/2" in staff.note
    per = {name: {r.indicator: r for r in rows} for _i, name, rows in report.communes}
    assert per["Xã Đông Phong"]["cdht_trained"].value == 75.0 and per["Xã Yên Lư"]["cdht_unit_staff"].value is None
    assert all(c.closed for c in report.closures)


# ----------------------------------------------------------------------------------------------------- the renders

def test_xlsx_opens_and_holds_the_rows(world, files):
    report = annual.build(actor_of(world.admin), world.province, files)
    wb = load_workbook(io.BytesIO(annual.to_xlsx(report)))
    sheet = [list(r) for r in wb[annual.word("sheet_report")].iter_rows(values_only=True)]
    assert sheet[0][0] == "Báo cáo kết quả xây dựng xã hội học tập"
    assert ["Đơn vị", "Tỉnh Thử Nghiệm"] == sheet[1][:2] and ["Năm", str(files)] == sheet[2][:2]
    assert ["Ngày lập báo cáo", clock.today().strftime("%d/%m/%Y")] in [r[:2] for r in sheet]
    header = sheet.index(["Mã chỉ tiêu", "Chỉ tiêu", "Chỉ tiêu kế hoạch (%)", "Căn cứ", "Kết quả (%)", "Tử số",
                          "Mẫu số", "Đạt / chưa đạt", "Ghi chú"])
    body = sheet[header + 1:header + 6]
    assert [r[1] for r in body] == [r.name for r in report.rows]
    assert [(r[4], r[5], r[6]) for r in body] == [(r.value, r.numerator, r.denominator) for r in report.rows]
    assert all(r[0] is None for r in body)  # the official code slot, empty until a circular names one
    communes = [list(r) for r in wb[annual.word("sheet_communes")].iter_rows(values_only=True)]
    assert len(communes) == 1 + 2 * 5 and {r[0] for r in communes[1:]} == {"Xã Đông Phong", "Xã Yên Lư"}
    closures = [list(r) for r in wb[annual.word("sheet_closures")].iter_rows(values_only=True)]
    assert [r[:2] for r in closures[1:]] == [["Xã Đông Phong", "Chưa chốt số liệu"], ["Xã Yên Lư", "Chưa chốt số liệu"]]


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages)


def test_pdf_prints_vietnamese(world, files):
    report = annual.build(actor_of(world.admin), world.province, files)
    found = pdf_text(annual.to_pdf(report))
    for part in ("BÁO CÁO KẾT QUẢ XÂY DỰNG XÃ HỘI HỌC TẬP", "Tỉnh Thử Nghiệm", f"Năm {files}", "Công dân học tập",
                 "Xã Đông Phong", "Xã Yên Lư", clock.today().strftime("%d/%m/%Y"), "Ngày lập báo cáo",
                 "Thông tư 03/2024/TT-BGDĐT"):
        assert part in found, part


# ------------------------------------------------------------------------------------------ closing and reopening

def test_closing_is_audited_and_only_the_communes_appraiser_closes(world, files):
    year, c0 = files, world.communes[0]
    data = closing.parse_form({"year": str(year), "cdht_trained_numerator": "30", "cdht_trained_denominator": "40"})
    for who in (world.admin, world.approver, world.auditor):
        with pytest.raises(NotAuthorized):
            closing.close_year(who, c0, data)
    for who in (world.appraiser(1), world.officer(0)):  # another commune's appraiser, a branch below: not found
        with pytest.raises(NotFound):
            closing.close_year(who, c0, data)
    closure = closing.close_year(world.appraiser(0), c0, data)
    db.session.commit()
    assert closure.closed_at is not None and closure.closed_by_id == world.appraiser(0).id
    assert closure.reported == {"cdht_trained": {"numerator": 30, "denominator": 40}}
    own, _ = indicators.coverage(actor_of(world.appraiser(0)), c0, year)
    assert closure.snapshot["cdht_coverage"] == {"numerator": own.numerator, "denominator": own.denominator,
                                                 "value": own.value}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.close")).all()
    assert len(events) == 1 and events[0].actor_id == world.appraiser(0).id
    assert events[0].payload["unit_id"] == c0.id and events[0].payload["after"]["reported"] == closure.reported
    with pytest.raises(WorkflowError) as again:
        closing.close_year(world.appraiser(0), c0, data)
    assert again.value.code == "year_already_closed"


def test_reopening_needs_a_provincial_role_and_a_reason(world, files):
    year, c0 = files, world.communes[0]
    closure_close(world, 0, year)
    for who in (world.appraiser(0), world.auditor):
        with pytest.raises(NotAuthorized):
            closing.reopen_year(who, c0, year, "Sai số liệu")
    other = build_other_province()
    with pytest.raises(NotFound):
        closing.reopen_year(other.admin, c0, year, "Sai số liệu")
    with pytest.raises(WorkflowError) as no_reason:
        closing.reopen_year(world.admin, c0, year, "  ")
    assert no_reason.value.code == "reopen_reason_required"
    closing.reopen_year(world.approver, c0, year, "Xã báo cáo sai số người được tập huấn")
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.reopen")).one()
    assert event.actor_id == world.approver.id and event.reason == "Xã báo cáo sai số người được tập huấn"
    assert event.payload["before"]["closed"] is True and event.payload["after"]["closed"] is False
    assert closing.closure_of(c0.id, year).closed_at is None
    closure_close(world, 0, year)  # closed again after the correction
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.close")).all()) == 2


# ------------------------------------------------------------------------------------------------------- reminders

def reminded() -> list[tuple[int, int]]:
    return sorted(db.session.execute(select(ClosingReminder.user_id, ClosingReminder.unit_id)).all())


def test_reminders_only_unclosed_once_a_day_only_in_the_window(world, time_machine):
    time_machine.move_to(datetime(2026, 11, 30, 7, 0, tzinfo=clock.VN), tick=False)
    closure_close(world, 0, 2026)  # commune 0 has closed its year
    second = make_user("commune_appraiser", world.communes[1])  # commune 1 has two officers
    db.session.commit()
    assert closing_job.run() == {"reminders": 0}  # 30/11: not yet
    time_machine.move_to(datetime(2026, 12, 1, 7, 0, tzinfo=clock.VN), tick=False)
    assert closing_job.run() == {"reminders": 2}
    assert reminded() == sorted([(world.appraiser(1).id, world.communes[1].id), (second.id, world.communes[1].id)])
    assert closing_job.run() == {"reminders": 0}  # the same day again: nothing more
    outbox = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "closing_reminder")).all()
    delivery.deliver(outbox)
    notices = db.session.execute(select(Notification.user_id, Notification.subject)
                                 .where(Notification.kind == "closing_reminder", Notification.channel == "inapp")
                                 .order_by(Notification.user_id)).all()
    assert [n.user_id for n in notices] == sorted([world.appraiser(1).id, second.id])
    assert notices[0].subject == "Nhắc chốt số liệu năm 2026: Xã Yên Lư chưa chốt (hạn 15/12/2026)"
    time_machine.move_to(datetime(2026, 12, 5, 7, 0, tzinfo=clock.VN), tick=False)
    assert closing_job.run() == {"reminders": 2}  # a new day in the window: reminded again
    closure_close(world, 1, 2026)
    time_machine.move_to(datetime(2026, 12, 5, 9, 0, tzinfo=clock.VN), tick=False)
    later = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "closing_reminder")
                               .order_by(OutboxMessage.id.desc()).limit(2)).all()
    delivery.deliver(later)  # closed before delivery: no notice
    assert db.session.scalar(select(db.func.count()).select_from(Notification).where(
        Notification.kind == "closing_reminder", Notification.channel == "inapp")) == 2
    time_machine.move_to(datetime(2026, 12, 6, 7, 0, tzinfo=clock.VN), tick=False)
    closing.reopen_year(world.admin, world.communes[1], 2026, "Sửa số liệu")
    db.session.commit()
    assert closing_job.run() == {"reminders": 0}  # 6/12: the window is over


def test_the_daily_rq_job_sends_them(notif_app, world, time_machine):
    """The daily reminders job (RQ, at NOTIFY_REMINDER_HOUR) also runs the closing reminders; its commit hands the
    outbox rows to the relay and a worker delivers them."""
    from notifications import jobs
    from notifications import queue as nq

    from .notif_services import work

    time_machine.move_to(datetime(2026, 12, 2, 7, 0, tzinfo=clock.VN), tick=False)
    nq.queue(nq.MAINTENANCE).enqueue(jobs.reminders)
    work()
    work()  # the delivery job the reminder job's commit handed over
    assert reminded() == sorted((world.appraiser(i).id, world.communes[i].id) for i in (0, 1))
    assert db.session.scalar(select(db.func.count()).select_from(Notification).where(
        Notification.kind == "closing_reminder", Notification.channel == "inapp")) == 2


def test_the_window_is_data():
    assert closing.in_window(datetime(2026, 12, 1).date()) and closing.in_window(datetime(2026, 12, 5).date())
    assert not closing.in_window(datetime(2026, 12, 6).date()) and not closing.in_window(datetime(2026, 11, 1).date())
    assert closing.due_date(2027).isoformat() == "2027-12-15"


# ----------------------------------------------------------------------------------------------------------- pages

def test_pages_close_with_confirmation_and_list_closures(client, world, files):
    year, c0 = files, world.communes[0]
    login(client, world.appraiser(0))
    page = client.get(f"/reports/annual?unit={c0.id}&year={year}")
    assert page.status_code == 200 and "Xã Đông Phong" in text(page) and 'id="close-form"' in page.get_data(True)
    assert client.get(f"/reports/annual?unit={world.communes[1].id}&year={year}").status_code == 404
    form = {"unit": c0.id, "year": year, "cdht_trained_numerator": "30", "cdht_trained_denominator": "40"}
    confirm = client.post("/reports/annual/close", data=form)
    assert confirm.status_code == 200 and 'id="what-closes"' in confirm.get_data(True)
    assert closing.closure_of(c0.id, year) is None  # nothing closed before the confirmation
    bad = client.post("/reports/annual/close", data={**form, "cdht_trained_numerator": "50"})
    assert bad.status_code == 422 and closing.closure_of(c0.id, year) is None
    done = client.post("/reports/annual/close", data={**form, "confirm": "1"})
    assert done.status_code == 302 and closing.closure_of(c0.id, year).closed_at is not None
    xlsx = client.get(f"/reports/annual.xlsx?unit={c0.id}&year={year}")
    assert xlsx.status_code == 200 and xlsx.mimetype == annual.XLSX
    login(client, world.approver)
    province = client.get(f"/reports/annual?unit={world.province.id}&year={year}")
    body = province.get_data(as_text=True)
    assert province.status_code == 200 and f'id="closure-{c0.id}" class="closed"' in body
    assert f'id="closure-{world.communes[1].id}" class="open"' in body
    assert "Xã, phường đã chốt số liệu: 1/2" in text(province)
    pdf = client.get(f"/reports/annual.pdf?unit={world.province.id}&year={year}")
    assert pdf.status_code == 200 and "Xã Yên Lư" in pdf_text(pdf.data)
    reopened = client.post("/reports/annual/reopen", data={"unit": c0.id, "year": year, "reason": "Sai số liệu",
                                                            "back": world.province.id})
    assert reopened.status_code == 302 and closing.closure_of(c0.id, year).closed_at is None
    home = client.get("/")
    assert 'id="home-annual-report"' in home.get_data(as_text=True)
    dashboard = client.get(f"/reports/{world.province.id}?year={year}")
    assert dashboard.status_code == 200 and 'id="annual-report-link"' in dashboard.get_data(as_text=True)


# -------------------------------------------------------------------------------------------------------------- API

def test_api_coverage_and_annual(client, world, files):
    year = files
    headers = bearer(world.approver)
    resp = client.get(f"{API}/reports/coverage?unit={world.province.id}&year={year}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    own, children = indicators.coverage(actor_of(world.approver), world.province, year)
    assert body["unit"] == {"id": world.province.id, "name": "Tỉnh Thử Nghiệm", "level": "province"}
    assert body["figure"]["numerator"] == own.numerator and body["figure"]["denominator"] == own.denominator
    assert [c["unit_id"] for c in body["children"]] == [f.unit_id for f in children]
    assert {c["unit_name"] for c in body["children"]} == {"Xã Đông Phong", "Xã Yên Lư"}
    assert all(set(c) >= {"value", "target", "target_plan", "list_url"} for c in body["children"])
    if own.list_name:
        link = body["figure"]["list_url"]
        assert f"list={own.list_name}" in link and f"unit={own.unit_id}" in link
    annual_json = client.get(f"{API}/reports/annual?unit={world.province.id}&year={year}", headers=headers)
    data = annual_json.get_json()
    assert annual_json.status_code == 200 and [r["indicator"] for r in data["rows"]][0] == "cdht_coverage"
    assert data["rows"][0]["numerator"] == own.numerator and len(data["communes"]) == 2
    xlsx = client.get(f"{API}/reports/annual?unit={world.province.id}&year={year}&format=xlsx", headers=headers)
    assert xlsx.status_code == 200 and xlsx.mimetype == annual.XLSX and load_workbook(io.BytesIO(xlsx.data))
    pdf = client.get(f"{API}/reports/annual?unit={world.communes[1].id}&year={year}&format=pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and "Xã Yên Lư" in pdf_text(pdf.data)


def test_api_scope_and_bad_parameters(client, world):
    other = build_other_province()
    year = clock.today().year
    mine = bearer(world.appraiser(0))
    for path in ("coverage", "annual"):
        outside = client.get(f"{API}/reports/{path}?unit={other.province.id}&year={year}", headers=mine)
        assert outside.status_code == 404 and error_of(outside)["code"] == "unit_not_found"
        sibling = client.get(f"{API}/reports/{path}?unit={world.communes[1].id}&year={year}", headers=mine)
        assert sibling.status_code == 404
        missing = client.get(f"{API}/reports/{path}", headers=mine)
        assert missing.status_code == 400 and set(error_of(missing)["fields"]) == {"unit", "year"}
        bad_year = client.get(f"{API}/reports/{path}?unit={world.communes[0].id}&year=1800", headers=mine)
        assert bad_year.status_code == 400 and set(error_of(bad_year)["fields"]) == {"year"}
        assert client.get(f"{API}/reports/{path}?unit=abc&year={year}", headers=mine).status_code == 400
        assert client.get(f"{API}/reports/{path}?unit={world.communes[0].id}&year={year}").status_code == 401
    bad_format = client.get(f"{API}/reports/annual?unit={world.communes[0].id}&year={year}&format=doc",
                            headers=mine)
    assert bad_format.status_code == 400 and set(error_of(bad_format)["fields"]) == {"format"}
    branch = client.get(f"{API}/reports/annual?unit={world.branch(0).id}&year={year}", headers=bearer(world.admin))
    assert branch.status_code == 400 and error_of(branch)["code"] == "report_unit_level"


def test_api_responses_conform_to_the_document(client, world, files):
    from .test_api_openapi import Contract

    c = Contract()
    headers = bearer(world.admin)
    cov, ann = f"{API}/reports/coverage", f"{API}/reports/annual"
    c.check(client.get(f"{cov}?unit={world.province.id}&year={files}", headers=headers), "get", cov)
    c.check(client.get(f"{cov}?year={files}", headers=headers), "get", cov)
    c.check(client.get(f"{cov}?unit=999999&year={files}", headers=headers), "get", cov)
    c.check(client.get(f"{cov}?unit=1&year={files}"), "get", cov)
    c.check(client.get(f"{ann}?unit={world.province.id}&year={files}", headers=headers), "get", ann)
    c.check(client.get(f"{ann}?unit={world.province.id}&year=x", headers=headers), "get", ann)
    c.check(client.get(f"{ann}?unit=999999&year={files}", headers=headers), "get", ann)
    c.check(client.get(f"{ann}?unit=1&year={files}"), "get", ann)
    assert {(m, p, s) for m, p, s in c.seen} >= {("get", cov, "200"), ("get", cov, "400"), ("get", cov, "404"),
                                                 ("get", ann, "200"), ("get", ann, "400"), ("get", ann, "404")}
