"""One CDHT application through the whole chain in headless Chromium, as three people (branch officer, commune
appraiser, provincial approver), with a return and a resubmission, then an auditor reading the timeline.
Screenshots of each step are saved in test-artifacts/."""
from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from workflow.db import db
from workflow.models import Application
from workflow.rubrics import spec

from ..factories import PASSWORD

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("h1")).to_have_text("Việc chờ tôi xử lý")


def upload(page: Page, code: str, name: str) -> None:
    """One file in a criterion's row, sent by the evidence section's one upload button (issue 13)."""
    row = page.locator(f"[id='criterion-{code}']")
    row.locator(f"[id='evidence-file-{code}']").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": PDF})
    page.click("#several-submit")
    expect(page.locator(f"[id='criterion-{code}'] .row-result.pass")).to_have_text(f"Đã tải lên «{name}».")


def test_cdht_through_the_chain(live, new_page, world, artifacts):
    officer, appraiser, approver, auditor = (world.officer().username, world.appraiser().username,
                                             world.approver.username, world.auditor.username)
    appraiser_name = world.appraiser().full_name  # issue 13: pages name people, not their accounts
    codes = [c.code for c in spec(world.cdht.rubric_id).criteria_for(1)]
    campaign_id = world.cdht.id
    db.session.remove()

    # 1. The branch officer nominates, uploads evidence, scores (live total) and submits.
    branch = new_page()
    log_in(branch, live, officer)
    branch.goto(f"{live}/campaigns")
    branch.click("#new-CDHT")
    branch.fill("#full_name", "Nguyễn Văn An")
    branch.fill("#date_of_birth", "1980-05-17")
    branch.fill("#citizen_id", "027080001234")
    branch.select_option("#subject_group", "1")
    branch.click("#create")
    expect(branch.locator("h1")).to_contain_text("Nguyễn Văn An")
    app_id = int(re.search(r"/applications/(\d+)", branch.url).group(1))
    for code in codes:
        upload(branch, code, f"minh chứng {code}.pdf")
    branch.screenshot(path=artifacts / "01-branch-evidence.png")
    branch.click("#action-submit")
    expect(branch.locator("h1")).to_contain_text("Chi hội chấm điểm")
    branch.click("#score-link")
    for code in codes:
        branch.fill(f"[id='score-{code}']", "9")
    expect(branch.locator("#live-total")).to_have_text("90")
    expect(branch.locator("#live-verdict")).to_have_text("đạt")
    branch.fill("#score-1\\.1", "4")  # below the per-indicator minimum: the verdict flips as you type
    expect(branch.locator("#live-verdict")).to_have_text("chưa đạt")
    branch.fill("#score-1\\.1", "9")
    branch.screenshot(path=artifacts / "02-branch-scoring.png")
    branch.click("#save-scores")
    expect(branch.locator(".flash.success")).to_contain_text("tổng 90")
    branch.click("#action-submit")
    expect(branch.locator("h1")).to_contain_text("Xã thẩm định")

    # 2. The commune appraiser finds it without diacritics and returns it with a reason.
    commune = new_page()
    log_in(commune, live, appraiser)
    commune.click("text=Danh sách công việc")
    commune.fill("#q", "nguyen van an")
    commune.click("#filter")
    commune.click("#queue >> text=Nguyễn Văn An")
    commune.fill("#reason-return", "Bổ sung chứng chỉ tin học (tiêu chí 2.1)")
    commune.screenshot(path=artifacts / "03-appraiser-detail.png")
    commune.click("#action-return")
    expect(commune.locator("h1")).to_contain_text("Chi hội chấm điểm")

    # 3. The branch sees the reason on its home page, adds the file and resubmits.
    branch.goto(f"{live}/")
    expect(branch.locator("#returned")).to_contain_text("Bổ sung chứng chỉ tin học (tiêu chí 2.1)")
    branch.screenshot(path=artifacts / "04-branch-returned.png")
    branch.click("#returned >> text=Nguyễn Văn An")
    expect(branch.locator("#returned-reason")).to_contain_text("tiêu chí 2.1")
    upload(branch, "2.1", "chứng chỉ tin học.pdf")
    branch.click("#action-submit")
    expect(branch.locator("h1")).to_contain_text("Xã thẩm định")

    # 4. The appraiser approves; a stale tab gets a clear conflict message.
    commune.goto(f"{live}/applications/{app_id}")
    stale = commune.context.new_page()
    stale.goto(f"{live}/applications/{app_id}")
    commune.click("#action-approve")
    commune.click("#confirm-dialog-yes")  # issue 13: an approval asks first
    expect(commune.locator("h1")).to_contain_text("Chờ phê duyệt")
    stale.click("#action-approve")
    stale.click("#confirm-dialog-yes")
    expect(stale.locator("#error")).to_contain_text("đã thay đổi hồ sơ này lúc")  # issue 13: who, when, what
    expect(stale.locator("#error")).to_contain_text("sang «Chờ phê duyệt»")
    expect(stale.locator("#reload")).to_have_text("Tải lại")
    stale.close()

    # 5. The provincial approver issues the recognition decision and downloads the list.
    province = new_page()
    log_in(province, live, approver)
    province.goto(f"{live}/decisions/new?campaign={campaign_id}")
    province.fill("#number", "125/QĐ-UBND")
    province.fill("#signed_on", "2025-12-01")
    province.fill("#signer", "Nguyễn Văn Hùng")
    province.check(f"#pick-{app_id}")
    province.screenshot(path=artifacts / "05-approver-decision.png")
    province.click("#issue")
    expect(province.locator("#confirm-count")).to_contain_text("Quyết định này sẽ công nhận 1 hồ sơ.")
    province.click("#confirm-issue")
    expect(province.locator("#decision-list")).to_contain_text("Nguyễn Văn An")
    with province.expect_download() as download:
        province.click("#download-csv")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[1][1] == "Nguyễn Văn An" and rows[1][6] == "125/QĐ-UBND"

    # 6. The auditor reads the timeline: who, what, when, from/to and the reasons.
    auditor_page = new_page()
    log_in(auditor_page, live, auditor)
    auditor_page.goto(f"{live}/applications/{app_id}/timeline")
    timeline = auditor_page.locator("#timeline")
    expect(timeline).to_contain_text("Bổ sung chứng chỉ tin học (tiêu chí 2.1)")
    expect(timeline).to_contain_text(appraiser_name)
    expect(timeline).not_to_contain_text(appraiser)
    expect(timeline).to_contain_text("Đã công nhận")
    auditor_page.screenshot(path=artifacts / "06-auditor-timeline.png", full_page=True)
    auditor_page.goto(f"{live}/audit/chain")
    expect(auditor_page.locator("h1")).to_have_text("Tình trạng chuỗi kiểm toán")
    forged = auditor_page.request.post(f"{live}/applications/{app_id}/actions/revoke",
                                       form={"version": "99", "reason": "giả mạo"})
    assert forged.status == 400 and "Biểu mẫu đã hết hạn" in forged.text()  # CSRF is on in the live server

    db.session.remove()
    final = db.session.get(Application, app_id)
    assert final.state == "recognised" and final.decision_id is not None
    assert db.session.scalar(select(Application.score_total).where(Application.id == app_id)) == 90
