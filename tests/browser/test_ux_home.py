"""Issue 13 in headless Chromium, as each role meets it: the branch's home offers «Lập hồ sơ mới» and its returned
files, an overseer's home opens on its own work; the header's «Hộp thư» carries the unread count on every page and
«mark all as read» clears it (CSRF on); the auditor searches the log by name without diacritics and by CCCD,
opens the queue on every file in scope, checks one file against the sealed chain; each criterion says what
evidence it expects, deadlines warn, the login page explains a forgotten password, /help names whom to contact;
the workflow page draws an SVG picture that fits a 390 px phone. Screenshots go to test-artifacts/ux-home/."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from workflow import audit, clock, engine
from workflow.db import db
from workflow.models import Notification

from ..factories import cdht_at
from .test_chain import log_in


def shots(artifacts):
    folder = artifacts / "ux-home"
    folder.mkdir(exist_ok=True)
    return folder


def test_branch_home_new_application_returns_and_inbox(live, new_page, world, artifacts):
    returned = cdht_at(world, "commune_appraisal", full_name="Đỗ Thị Lan")
    engine.fire(returned, "return", world.appraiser(), reason="Ảnh minh chứng 1.3 bị mờ")
    officer = world.officer()
    for i in range(3):
        db.session.add(Notification(user_id=officer.id, channel="inapp", kind="test", subject=f"Hồ sơ {i} bị trả lại"))
    db.session.commit()
    username, campaign = officer.username, world.cdht.id
    db.session.remove()

    page = new_page()
    log_in(page, live, username)
    expect(page.locator("#returned")).to_contain_text("Ảnh minh chứng 1.3 bị mờ")
    expect(page.locator("#nav-unread")).to_have_text("3 thông báo chưa đọc")
    page.screenshot(path=shots(artifacts) / "branch-home.png", full_page=True)
    button = page.locator("#new-application a.button.primary")
    expect(button).to_have_text("Lập hồ sơ mới")
    button.click()
    expect(page).to_have_url(f"{live}/campaigns/{campaign}/applications/new")
    expect(page.locator("#nav-unread")).to_contain_text("3")  # on every page, not only home

    page.click("#nav-inbox")
    expect(page.locator("h1")).to_have_text("Hộp thư")
    page.click("#mark-all-read-button")
    expect(page.locator(".flash.success")).to_have_text("Đã đánh dấu 3 thông báo là đã đọc.")
    expect(page.locator("#nav-unread")).to_have_count(0)
    expect(page.locator("#mark-all-read")).to_have_count(0)
    page.goto(f"{live}/")
    expect(page.locator("#nav-unread")).to_have_count(0)


def test_overseer_home_opens_on_own_work(live, new_page, world):
    returned = cdht_at(world, "commune_appraisal", full_name="Đỗ Thị Lan")
    engine.fire(returned, "return", world.appraiser(), reason="Thiếu biên bản bình xét")
    db.session.commit()
    approver = world.approver.username
    db.session.remove()
    page = new_page()
    log_in(page, live, approver)
    expect(page.locator("#my-work")).to_be_visible()
    expect(page.locator("#returned")).to_have_count(0)
    expect(page.locator("#new-application")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Thiếu biên bản bình xét")


def test_auditor_searches_queue_and_checks_one_file(live, new_page, world, artifacts):
    hanh = cdht_at(world, "commune_appraisal", full_name="Nguyễn Thị Hạnh", citizen_id="027185001234")
    other = world.new_cdht(full_name="Trần Văn Bình", citizen_id="031190009999")
    db.session.commit()
    audit.seal_all()
    hanh_id, other_id, auditor = hanh.id, other.id, world.auditor.username
    db.session.remove()

    page = new_page()
    log_in(page, live, auditor)
    page.click("nav >> text=Danh sách công việc")
    expect(page.locator("#queue tbody tr")).to_have_count(2)  # not "0 hồ sơ": every file in scope, newest first
    expect(page.locator("#queue tbody tr").first).to_contain_text("Trần Văn Bình")
    expect(page.locator("#filter-state")).to_have_value("all")

    page.goto(f"{live}/audit/log")
    page.fill("#log-q", "nguyen thi hanh")
    page.locator("#log-filters button[type=submit]").click()
    rows = page.locator("#log tbody tr")
    expect(rows.first).to_contain_text("Nguyễn Thị Hạnh")
    assert page.locator("#log tbody").inner_text().count("Trần Văn Bình") == 0
    expect(page.locator("#log-q")).to_have_value("nguyen thi hanh")
    page.fill("#log-q", "0311900")
    page.locator("#log-filters button[type=submit]").click()
    expect(page.locator("#log tbody tr")).to_have_count(1)
    expect(page.locator("#log tbody")).to_contain_text("Trần Văn Bình")
    page.screenshot(path=shots(artifacts) / "audit-log-search.png", full_page=True)

    page.goto(f"{live}/applications/{hanh_id}/timeline")
    expect(page.locator("#file-check-ok")).to_contain_text("Nhật ký của hồ sơ này còn nguyên vẹn")
    page.screenshot(path=shots(artifacts) / "timeline-check.png", full_page=True)
    page.goto(f"{live}/applications/{other_id}/timeline")
    expect(page.locator("#file-check-ok")).to_contain_text("còn nguyên vẹn")


def test_tampered_file_is_named_on_its_timeline(live, new_page, world):
    from sqlalchemy import select

    from workflow.models import AuditEvent

    from ..factories import tamper

    app = cdht_at(world, "commune_appraisal")
    audit.seal_all()
    victim = db.session.scalars(select(AuditEvent.id).where(AuditEvent.application_id == app.id)
                                .order_by(AuditEvent.id)).first()
    tamper(f"UPDATE audit_events SET actor_name = 'ai-do' WHERE id = {victim}")
    app_id, auditor = app.id, world.auditor.username
    db.session.remove()
    page = new_page()
    log_in(page, live, auditor)
    page.goto(f"{live}/applications/{app_id}/timeline")
    expect(page.locator("#file-check-bad")).to_contain_text(f"bị phá vỡ tại sự kiện #{victim}")
    expect(page.locator("#file-check-ok")).to_have_count(0)


def test_evidence_hints_and_deadline_warnings(live, new_page, world, artifacts):
    today = clock.today()
    world.cdht.submit_deadline = today + timedelta(days=3)
    db.session.commit()
    app = world.new_cdht(full_name="Vũ Văn Nam")
    late = cdht_at(world, "commune_appraisal", full_name="Lê Văn Muộn")
    db.session.commit()
    app_id, late_id, officer, appraiser = app.id, late.id, world.officer().username, world.appraiser().username
    campaign_id = world.cdht.id
    db.session.remove()

    page = new_page()
    log_in(page, live, officer)
    due = (today + timedelta(days=3)).strftime("%d/%m/%Y")
    expect(page.locator("#waiting")).to_contain_text(f"Còn 3 ngày đến hạn nộp hồ sơ ({due})")
    page.goto(f"{live}/applications/{app_id}")
    expect(page.locator("#stage-deadline")).to_contain_text(f"Còn 3 ngày đến hạn nộp hồ sơ ({due})")
    hint = page.locator("[id='hint-1.2']")
    expect(hint).to_contain_text("Minh chứng cần có:")
    expect(hint).to_contain_text("kế hoạch học tập cá nhân")
    hint.scroll_into_view_if_needed()
    page.screenshot(path=shots(artifacts) / "evidence-hints.png")

    from workflow.models import Campaign

    campaign = db.session.get(Campaign, campaign_id)  # later: nominations closed, appraisal two days late
    campaign.submit_deadline, campaign.appraisal_deadline = today - timedelta(days=5), today - timedelta(days=2)
    db.session.commit()
    db.session.remove()
    page2 = new_page()
    log_in(page2, live, appraiser)
    overdue = page2.locator("#waiting .due.overdue")
    expect(overdue.first).to_contain_text("Quá hạn thẩm định 2 ngày")
    color = overdue.first.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(164, 0, 0)"  # red
    page2.goto(f"{live}/applications/{late_id}/scores")
    expect(page2.locator("[id='hint-1.3']")).to_contain_text("trung tâm học tập cộng đồng")


def test_forgot_password_and_help_page(live, new_page, world, artifacts):
    admin_name, officer = world.admin.full_name, world.officer().username
    appraiser_name = world.appraiser().full_name
    db.session.remove()
    page = new_page()
    page.goto(f"{live}/login")
    page.click("#forgot summary")
    expect(page.locator("#forgot")).to_contain_text("Liên hệ quản trị viên của đơn vị bạn")
    expect(page.locator("#forgot-admins")).to_contain_text(admin_name)
    page.screenshot(path=shots(artifacts) / "login-forgot.png")

    log_in(page, live, officer)
    page.click("#footer-help")
    expect(page.locator("h1")).to_have_text("Trợ giúp")
    expect(page.locator("#help-admins")).to_contain_text(admin_name)
    expect(page.locator("#help-appraisers")).to_contain_text(appraiser_name)
    expect(page.locator("#help-steps")).to_contain_text("Lập hồ sơ mới")
    expect(page.locator("#help-faq")).to_contain_text("Tôi quên mật khẩu.")
    page.screenshot(path=shots(artifacts) / "help.png", full_page=True)
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Help")


def test_workflow_diagram_is_a_picture_that_fits_a_phone(live, new_page, world, artifacts):
    officer = world.officer().username
    db.session.remove()
    page = new_page()
    log_in(page, live, officer)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 844 if width == 390 else 768})
        page.goto(f"{live}/titles/CDHT/diagram")
        svg = page.locator("#flowchart svg.flowchart")
        expect(svg).to_be_visible()
        expect(svg.locator("text", has_text="Chi hội chấm điểm")).to_have_count(1)
        expect(svg.locator("[data-state='rejected']")).to_have_count(1)
        box = svg.bounding_box()
        assert box["width"] > 300 and box["x"] >= 0 and box["x"] + box["width"] <= width
        # every word of the picture is drawn inside it
        inside = svg.evaluate("""s => { const r = s.getBoundingClientRect();
            return [...s.querySelectorAll('text')].every(t => { const b = t.getBoundingClientRect();
              return b.left >= r.left - 1 && b.right <= r.right + 1
                && b.top >= r.top - 1 && b.bottom <= r.bottom + 1; }); }""")
        assert inside
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        expect(page.locator("#transitions")).to_contain_text("Trả lại để bổ sung")  # the table stays
        page.screenshot(path=shots(artifacts) / f"workflow-cdht-{width}.png", full_page=True)
    expect(page.locator("#mermaid-source")).to_have_count(0)
    expect(page.locator("#developers")).not_to_have_attribute("open", "")
    with page.expect_download() as download:
        page.click("#download-svg")
    assert download.value.suggested_filename == "quy-trinh-cdht.svg"
