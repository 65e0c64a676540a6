"""Issue 13, findings 9 and 11 in headless Chromium: approve from the queue, then "Hồ sơ tiếp theo" opens the next
file waiting in the same filter; the appraiser's sheet shows the branch's score beside the adjusted one; a PDF
opens in a preview tab (inline, sandboxed) while an HTML or SVG file in disguise only downloads; the decision form
is a full-width table with birth dates, CCCD and communes, a commune filter, and "Ban hành" disabled (and refused
by the server) with nothing selected; the scoring sheet marks 15 and 7.5 and its live total counts neither.
Screenshots go to test-artifacts/."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import func, select

from workflow import operations
from workflow.db import db
from workflow.models import Application, Decision, Score

from ..factories import cdht_at
from ..test_evidence_bulk import one_page_pdf
from .test_chain import log_in

HTML = b"<html><body><h1 id=owned>owned</h1><script>document.title='owned'</script></body></html>"


def _confirm(page) -> None:
    """The actions' confirmation (a <dialog>; without it, the server's own page)."""
    if page.locator("#confirm-dialog").is_visible():
        page.click("#confirm-dialog-yes")
    elif page.locator("#confirm-yes").count():
        page.click("#confirm-yes")


def test_approve_then_next_file_lands_on_the_next_waiting_file(live, new_page, world, artifacts):
    first = cdht_at(world, "commune_appraisal", full_name="Người Thứ Nhất").id
    cdht_at(world, "branch_scoring", full_name="Người Chưa Tới")  # in between, not waiting for the appraiser
    last = cdht_at(world, "commune_appraisal", full_name="Người Thứ Ba").id
    appraiser = world.appraiser().username
    db.session.remove()

    page = new_page()
    log_in(page, live, appraiser)
    page.goto(f"{live}/applications?state=commune_appraisal")
    page.get_by_role("link", name="Người Thứ Ba").click()
    expect(page.locator("h1")).to_contain_text("Người Thứ Ba")
    page.click("#action-approve")
    _confirm(page)
    expect(page.locator(".flash.success")).to_contain_text("Người Thứ Ba")
    nxt = page.locator("#next-file")
    expect(nxt).to_have_text("Hồ sơ tiếp theo: Người Thứ Nhất →")
    expect(page.locator("#back-to-queue")).to_have_attribute("href", "/applications?state=commune_appraisal")
    page.screenshot(path=artifacts / "ux-appraisal-next-file.png", full_page=True)
    nxt.click()
    assert page.url.endswith(f"/applications/{first}?from=state%3Dcommune_appraisal")
    expect(page.locator("h1")).to_contain_text("Người Thứ Nhất")
    page.click("#action-approve")
    _confirm(page)
    expect(page.locator(".flash.success")).to_contain_text("Người Thứ Nhất")
    expect(page.locator("#no-next-file")).to_have_text("Không còn hồ sơ nào khác đang chờ trong danh sách này.")
    page.click("#back-to-queue")
    expect(page.locator("#filter-state")).to_have_value("commune_appraisal")  # the filter they came from
    states = dict(db.session.execute(select(Application.id, Application.state)
                                     .where(Application.id.in_([first, last]))).all())
    assert states == {first: "final_approval", last: "final_approval"}


def test_the_branchs_score_stands_beside_the_adjusted_one(live, new_page, world, artifacts):
    app_id = cdht_at(world, "commune_appraisal").id  # the branch scored 9 on every criterion
    appraiser = world.appraiser().username
    db.session.remove()

    page = new_page()
    log_in(page, live, appraiser)
    page.goto(f"{live}/applications/{app_id}/scores")
    expect(page.locator("[id='original-1.1']")).to_have_text("9")
    expect(page.locator("#original-total")).to_have_text("90")
    page.fill("[id='score-1.1']", "6")
    expect(page.locator("[id='diff-1.1']")).to_have_text(re.compile(r"^[-−]3$"))  # live, as typed
    expect(page.locator("#live-total")).to_have_text("87")
    expect(page.locator("#diff-total")).to_have_text(re.compile(r"^[-−]3$"))
    page.fill("#reason", "Giấy khen 1.1 hết hạn")
    page.click("#save-scores")
    expect(page.locator(".flash.success")).to_be_visible()
    page.goto(f"{live}/applications/{app_id}/scores")
    expect(page.locator("[id='original-1.1']")).to_have_text("9")
    expect(page.locator("[id='score-1.1']")).to_have_value("6")
    expect(page.locator("[id='diff-1.1']")).to_have_text(re.compile(r"^[-−]3$"))
    expect(page.locator("[id='diff-1.2']")).to_have_text("0")
    history = page.locator("#adjustments li")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("tiêu chí 1.1 9 → 6")
    expect(history).to_contain_text("Giấy khen 1.1 hết hạn")
    page.screenshot(path=artifacts / "ux-appraisal-adjusted-scores.png", full_page=True)


def _stored(live_app, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(live_app.config["UPLOAD_DIR"], digest[:2], digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Path(path).write_bytes(data)
    return digest


def test_a_pdf_opens_in_a_preview_and_a_disguised_file_does_not(live, live_app, new_page, world, artifacts):
    application = cdht_at(world, "evidence_collection")
    officer = world.officer()
    pdf = operations.add_evidence(application, officer, criterion_code="1.1", original_name="giấy khen.pdf",
                                  size=1, sha256=_stored(live_app, one_page_pdf()), media_type="application/pdf")
    fake = operations.add_evidence(application, officer, criterion_code="1.2", original_name="bảng điểm.pdf",
                                   size=1, sha256=_stored(live_app, HTML), media_type="application/pdf")
    db.session.commit()
    app_id, pdf_id, fake_id, username = application.id, pdf.id, fake.id, officer.username
    db.session.remove()

    page = new_page()
    log_in(page, live, username)
    page.goto(f"{live}/applications/{app_id}")
    downloads: list[str] = []
    page.context.on("page", lambda p: p.on("download", lambda d: downloads.append(d.suggested_filename)))
    with page.expect_popup() as popup_info:
        page.click(f"#open-evidence-{pdf_id}")  # the file's name: a preview in a new tab
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.endswith(f"/evidence/{pdf_id}/inline")
    answer = page.request.get(f"{live}/evidence/{pdf_id}/inline")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline")
    assert "sandbox" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    for _ in range(50):  # drawn by the browser's PDF viewer, not downloaded
        if any(f.url.startswith("chrome-extension://") for f in popup.frames):
            break
        popup.wait_for_timeout(100)
    assert any(f.url.startswith("chrome-extension://") for f in popup.frames) and not downloads
    popup.screenshot(path=artifacts / "ux-appraisal-pdf-preview.png")
    popup.close()
    # An HTML page saved as .pdf is never shown: its "preview" is only a download, so nothing in it runs here.
    disguised = page.request.get(f"{live}/evidence/{fake_id}/inline")
    assert disguised.headers["content-disposition"].startswith("attachment")
    assert "html" not in disguised.headers["content-type"]
    with page.expect_download() as got:
        page.evaluate("url => { window.location.href = url; }", f"/evidence/{fake_id}/inline")
    assert got.value.suggested_filename.endswith(".pdf")
    assert page.title() != "owned"


def test_the_decision_form_filters_shows_birth_dates_and_refuses_nothing_selected(live, new_page, world,
                                                                                  artifacts):
    here = cdht_at(world, "final_approval", full_name="Phạm Thị Hai").id
    there = cdht_at(world, "final_approval", commune=1, full_name="Lò Văn Một").id
    there_cccd = db.session.get(Application, there).citizen_id
    campaign, approver, far = world.cdht.id, world.approver.username, world.communes[1].id
    db.session.remove()

    page = new_page()
    log_in(page, live, approver)
    page.goto(f"{live}/decisions/new?campaign={campaign}")
    table = page.locator("#candidates")
    assert table.bounding_box()["width"] > 900  # the table spans the page, not a 34em column
    head = [t.strip() for t in table.locator("thead th").all_inner_texts()]
    assert head[1:6] == ["Họ và tên", "Ngày sinh", "Số CCCD", "Xã", "Chi hội"], head
    row = page.locator(f"#candidate-{there}")
    expect(row.locator("td.dob")).to_have_text("17/05/1980")
    expect(row.locator("td.cccd")).to_have_text(there_cccd)
    expect(row.locator("td.commune")).to_have_text("Xã Yên Lư")
    issue = page.locator("#issue")
    expect(issue).to_be_disabled()
    expect(page.locator("#issue-hint")).to_contain_text("Đánh dấu ít nhất một hồ sơ")
    page.select_option("#filter-commune", str(far))
    page.click("#filter")
    expect(page.locator("#candidates tbody tr")).to_have_count(1)
    expect(page.locator(f"#candidate-{here}")).to_have_count(0)
    page.check(f"#pick-{there}")
    expect(issue).to_be_enabled()
    page.uncheck(f"#pick-{there}")
    expect(issue).to_be_disabled()
    page.check("#select-all-matching")
    expect(issue).to_be_enabled()
    page.uncheck("#select-all-matching")
    page.screenshot(path=artifacts / "ux-appraisal-decision-form.png", full_page=True)
    # The server refuses too, for a request that skipped the page's script.
    page.fill("#number", "15/QĐ-UBND")
    page.fill("#signer", "Chủ tịch")
    with page.expect_navigation():
        page.evaluate("document.getElementById('decision-form').submit()")  # as if no script had run
    expect(page.locator("#error")).to_contain_text("Chưa chọn hồ sơ nào")
    expect(page.locator("#number")).to_have_value("15/QĐ-UBND")
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0


def test_the_live_total_marks_15_and_7_5_and_the_server_refuses_them(live, new_page, world, artifacts):
    app_id = cdht_at(world, "branch_scoring").id
    officer = world.officer().username
    db.session.remove()

    page = new_page()
    log_in(page, live, officer)
    page.goto(f"{live}/applications/{app_id}/scores")
    for code in ("1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"):
        page.fill(f"[id='score-{code}']", "9")
    page.fill("[id='score-1.1']", "10")
    page.fill("[id='score-1.2']", "7")
    expect(page.locator("#live-total")).to_have_text("89")
    expect(page.locator("#live-verdict")).to_have_text("đạt")
    page.fill("[id='score-1.1']", "15")  # over the rubric's maximum of 10
    first = page.locator("[id='score-1.1']")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[id='score-1.1-error']")).to_have_text("Tối đa 10 điểm.")
    page.fill("[id='score-1.2']", "7.5")  # not truncated to 7: the rubric takes whole points
    expect(page.locator("[id='score-1.2']")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[id='score-1.2-error']")).to_have_text("Chỉ nhập số nguyên.")
    expect(page.locator("#live-total")).to_have_text("72")  # 8 x 9: neither marked value counted
    expect(page.locator("#live-skipped")).to_have_text("(chưa tính 2 ô bị đánh dấu)")
    expect(page.locator("#live-verdict")).to_have_text("chưa đạt")
    assert page.evaluate("document.getElementById('scoring').checkValidity()") is False
    page.screenshot(path=artifacts / "ux-appraisal-scoring-marked.png", full_page=True)
    # The server judges by the same rubric: sent anyway, each value is refused beside its field.
    page.evaluate("document.getElementById('scoring').noValidate = true")
    page.click("#save-scores")
    expect(page.locator("#error")).to_have_text("Vui lòng kiểm tra các điểm được đánh dấu bên dưới.")
    expect(first).to_have_value("15")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[id='score-1.1-error']")).to_have_text("Điểm tiêu chí 1.1 phải từ 0 đến 10 (đã nhập 15).")
    expect(page.locator("[id='score-1.2-error']")).to_have_text("Điểm tiêu chí 1.2 là số nguyên (đã nhập 7.5).")
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0
    page.fill("[id='score-1.1']", "10")
    page.fill("[id='score-1.2']", "7")
    expect(page.locator("#live-total")).to_have_text("89")
    expect(first).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("[id='score-1.1-error']")).to_have_text("")
    page.click("#save-scores")
    expect(page.locator(".flash.success")).to_contain_text("89")
