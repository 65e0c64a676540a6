"""The demo as a person meets it: demo users log in with the documented password, the main pages render in
Vietnamese and switch to English, the upload form refuses a disguised file in the browser too. Screenshots of
the three main pages go to test-artifacts/docs/ (docs/screenshots/ holds a copy)."""
from __future__ import annotations

from flask import current_app
from playwright.sync_api import Page, expect
from sqlalchemy import select

from workflow import demo
from workflow.db import db
from workflow.models import Application

DEMO_PASSWORD = "hoctap-demo"


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-button")
    expect(page.locator("h1")).to_have_text("Việc chờ tôi xử lý")


def test_demo_main_pages(live, new_page, artifacts):
    demo.seed(DEMO_PASSWORD, current_app.config["UPLOAD_DIR"])
    target = db.session.scalar(select(Application.id).where(Application.state == "commune_appraisal")
                               .order_by(Application.id))
    returned = db.session.scalar(select(Application.id).where(Application.state == "recognised")
                                 .order_by(Application.id))
    db.session.remove()
    shots = artifacts / "docs"
    shots.mkdir(exist_ok=True)

    appraiser = new_page()
    log_in(appraiser, live, "xa1.thamdinh")
    expect(appraiser.locator("#waiting")).to_contain_text("Xã thẩm định")
    appraiser.goto(f"{live}/applications")
    expect(appraiser.locator("#queue")).to_contain_text("Xã thẩm định")
    appraiser.screenshot(path=shots / "work-queue.png")
    appraiser.goto(f"{live}/applications/{target}")
    expect(appraiser.locator("#actions")).to_contain_text("Phê duyệt")
    appraiser.screenshot(path=shots / "application-detail.png")

    appraiser.click("#lang-en")
    expect(appraiser.locator("#actions")).to_contain_text("Approve")
    expect(appraiser.locator("h2").first).to_have_text("Actions")
    appraiser.click("#lang-vi")
    expect(appraiser.locator("#actions")).to_contain_text("Phê duyệt")

    auditor = new_page()
    log_in(auditor, live, "tinh.kiemtoan")
    auditor.goto(f"{live}/applications/{returned}/timeline")
    expect(auditor.locator("#timeline")).to_contain_text("Đã công nhận")
    auditor.locator("#timeline tbody tr").last.scroll_into_view_if_needed()
    auditor.screenshot(path=shots / "audit-timeline.png")
    auditor.goto(f"{live}/audit/chain")
    expect(auditor.locator("#chain-ok")).to_be_visible()
    auditor.goto(f"{live}/titles/CDHT/diagram")
    expect(auditor.locator("#transitions")).to_contain_text("Trả lại để bổ sung")
    # issue 13: the workflow is drawn as a picture (SVG made by the app), the Mermaid source only as a download
    expect(auditor.locator("#flowchart svg.flowchart text", has_text="Xã thẩm định")).to_have_count(1)
    expect(auditor.locator("#mermaid-source")).to_have_count(0)
    expect(auditor.locator("#download-mermaid")).to_be_attached()
    auditor.screenshot(path=shots / "workflow-cdht.png", full_page=True)


def test_disguised_file_is_refused_in_the_browser(live, new_page, world):
    application = world.new_cdht(full_name="Hoàng Thị Lan")
    db.session.commit()
    officer, app_id = world.officer().username, application.id
    db.session.remove()
    page = new_page()
    page.goto(f"{live}/login")
    page.fill("#username", officer)
    page.fill("#password", "secret-pw")
    page.click("#login-button")
    page.goto(f"{live}/applications/{app_id}")
    row = page.locator("[id='criterion-1.1']")
    row.locator("input[type=file]").set_input_files(
        {"name": "giấy khen.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00" + b"\x00" * 64})
    page.click("#several-submit")  # the evidence section's one upload (issue 13): the refusal beside the row
    expect(page.locator("[id='criterion-1.1'] .row-result.fail")).to_have_text(
        "«giấy khen.pdf»: Tệp không được nhận: Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX (nội dung tệp không khớp).")
    expect(page.locator("[id='criterion-1.1'] ul.files li")).to_have_count(0)
