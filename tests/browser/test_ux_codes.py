"""Issue 13, findings 1 (the text) and 12, in Chromium as an officer meets them: refusals, the nomination form's
error, the history, sizes, the auditor's timeline, the inbox, the subject group name all in words; a conflict says
who changed the file, when and what, with "Tải lại", and never a version number."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.factories import PASSWORD, add_all_evidence, cdht_at, make_user
from workflow import clock, engine
from workflow.db import db
from workflow.models import Application, User

CODES = re.compile(r"\b(None|Bytes|evidence_collection|commune_appraisal|branch_scoring|final_approval|approve|"
                   r"date_of_birth|subject_key|unit_id|sha256|score_total|CDHT)\b|\{'|Hồ sơ số \d|/applications/\d")


def log_in(page: Page, base: str, user: User | str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user if isinstance(user, str) else user.username)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("h1")).to_have_text("Việc chờ tôi xử lý")


def no_codes(page: Page) -> None:
    text = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
    assert not CODES.search(text), CODES.search(text).group(0)


def test_refusals_errors_history_and_timeline_read_as_words(live, new_page, world):
    officer, appraiser = world.officer(), world.appraiser()
    waiting = cdht_at(world, "commune_appraisal", full_name="Trần Thị Bích")
    fresh = world.new_cdht(full_name="Lê Văn Cường", subject_group="2")
    add_all_evidence(fresh, officer)
    world.cdht.name = "Đánh giá, công nhận Công dân học tập"  # the factory names campaigns by their code
    db.session.commit()
    ids = (waiting.id, fresh.id)
    people = {u.username: u.full_name for u in (officer, appraiser)}
    officer, appraiser, auditor_name = officer.username, appraiser.username, world.auditor.username
    branch_name, campaign_id = world.branch().name, world.cdht.id
    db.session.remove()

    # The officer: a nomination refused beside its field, with the field's label and the date as dd/mm/yyyy.
    page = new_page()
    log_in(page, live, officer)
    page.goto(f"{live}/campaigns/{campaign_id}/applications/new")
    page.fill("#full_name", "Phạm Thị Dung")
    page.evaluate("document.querySelector('#date_of_birth').type = 'text'")  # what a browser without a picker sends
    page.fill("#date_of_birth", "01/12/2999")
    page.fill("#citizen_id", "001190000555")
    page.select_option("#subject_group", "1")
    page.click("#create")
    beside = page.locator("label:has(#date_of_birth) .field-error")
    expect(beside).to_contain_text("01/01/1900")
    expect(page.locator("#error")).to_have_count(0)  # one field wrong: beside it, not at the top
    no_codes(page)

    # Two fields wrong at once: each beside its field, and a summary at the top naming them by label.
    page.fill("#date_of_birth", "31/02/1980")
    page.fill("#citizen_id", "12345")
    page.click("#create")
    expect(page.locator("#error-summary")).to_contain_text("Ngày sinh")
    expect(page.locator("#error-summary")).to_contain_text("Số CCCD")
    no_codes(page)

    # The file's page: the subject group by name, sizes in Vietnamese, the history without "None", by full name.
    page.goto(f"{live}/applications/{ids[1]}")
    expect(page.locator("#subject-group")).to_have_text("Công nhân, thợ thủ công, thợ sửa chữa, lao động tự do")
    expect(page.locator("#evidence")).to_contain_text(re.compile(r"\d+ byte\b"))
    history = page.locator("#history")
    expect(history).to_contain_text(f"{people[officer]} Tạo hồ sơ → Thu thập minh chứng")
    expect(history).not_to_contain_text(officer)
    no_codes(page)

    # The appraiser: a batch refusal names the action and the stage by their labels.
    appraiser_page = new_page()
    log_in(appraiser_page, live, appraiser)
    response = appraiser_page.request.post(f"{live}/applications/batch", form={
        "action": "approve", "ids": str(ids[1]), "confirm": "yes",
        "csrf_token": appraiser_page.locator("input[name=csrf_token]").first.get_attribute("value") or ""})
    assert response.ok
    appraiser_page.set_content(response.text())
    refused = appraiser_page.locator("#batch-results")
    expect(refused).to_contain_text("Thu thập minh chứng")
    expect(refused).to_contain_text("Phê duyệt")
    no_codes(appraiser_page)

    # English when chosen: sizes in English, labels in English, still no codes.
    page.click("#lang-en")
    expect(page.locator("#evidence")).to_contain_text(re.compile(r"\d+ bytes\b"))
    expect(page.locator("#history")).to_contain_text("Create → Collecting evidence")
    no_codes(page)

    # The auditor's timeline: labels, the unit's name, score changes as lines, the file's check code shortened.
    auditor = new_page()
    log_in(auditor, live, auditor_name)
    auditor.goto(f"{live}/applications/{ids[0]}/timeline")
    timeline = auditor.locator("#timeline")
    expect(timeline).to_contain_text(f"Đơn vị: {branch_name}")
    expect(timeline).to_contain_text(re.compile(r"tiêu chí 1\.1: — → 9"))
    expect(timeline).to_contain_text(re.compile(r"Mã kiểm tra tệp: [0-9a-f]{12}…"))
    expect(timeline).to_contain_text("Tổng điểm: ")
    no_codes(auditor)


def test_the_inbox_names_the_file_its_title_and_the_person(live, new_page, app, world):
    officer, appraiser = world.officer(), world.appraiser()
    keys = ("REDIS_URL", "NOTIFY_INLINE")
    saved = {k: app.config.get(k) for k in keys}
    application = cdht_at(world, "commune_appraisal", full_name="Đỗ Thị Hạnh")
    db.session.commit()
    try:
        from notifications import delivery
        from workflow.models import OutboxMessage

        engine.fire(application.id, "return", appraiser, reason="Bổ sung giấy khen tiêu chí 1.3")
        db.session.commit()
        try:
            delivery.deliver(list(db.session.scalars(select(OutboxMessage.id))))
        except delivery.DeliveryFailed:
            pass  # no SMTP server here: the in-app notices are in
    finally:
        app.config.update(saved)
    officer, appraiser_name, appraiser = officer.username, appraiser.full_name, appraiser.username
    db.session.remove()
    page = new_page()
    log_in(page, live, officer)
    page.goto(f"{live}/inbox")
    inbox = page.locator("#inbox")
    expect(inbox).to_contain_text("Hồ sơ Đỗ Thị Hạnh (Công dân học tập) bị trả lại để bổ sung")
    expect(inbox).to_contain_text(f"người thực hiện: {appraiser_name}")
    expect(inbox).not_to_contain_text(appraiser)
    no_codes(page)
    page.goto(f"{live}/")
    returned = page.locator("main")
    expect(returned).to_contain_text("Bổ sung giấy khen tiêu chí 1.3")
    expect(returned).not_to_contain_text(appraiser)


def test_a_conflict_says_who_changed_the_file_when_and_what(live, new_page, world):
    application = cdht_at(world, "commune_appraisal", full_name="Vũ Minh Khoa")
    other = make_user("commune_appraiser", world.communes[0], username="xa1.thamdinh2")
    other.full_name = "Hoàng Văn Thẩm"
    db.session.commit()
    first, app_id, other = world.appraiser().username, application.id, other.username
    db.session.remove()

    mine = new_page()  # the first appraiser opens the file and starts writing a return
    log_in(mine, live, first)
    mine.goto(f"{live}/applications/{app_id}")
    expect(mine.locator("main")).not_to_contain_text("Phiên bản")
    mine.fill("#reason-return", "Bổ sung minh chứng tiêu chí 2.1")

    theirs = new_page()  # meanwhile the other appraiser adjusts a score, with a reason
    log_in(theirs, live, other)
    theirs.goto(f"{live}/applications/{app_id}/scores")
    theirs.fill("#score-1\\.1", "7")
    theirs.fill("#reason", "Minh chứng 1.1 chưa đủ")
    theirs.click("#save-scores")
    expect(theirs.locator(".flash.success")).to_be_visible()

    mine.click("#action-return")
    conflict = mine.locator("#conflict")
    expect(conflict).to_contain_text("Hoàng Văn Thẩm đã thay đổi hồ sơ này lúc")
    expect(conflict).to_contain_text(re.compile(r"lúc \d{2}:\d{2} \d{2}/\d{2}/\d{4}"))
    expect(conflict).to_contain_text(clock.today().strftime("%d/%m/%Y"))  # Vietnam's date
    expect(conflict).to_contain_text("thay đổi điểm")
    text = mine.locator("#error").inner_text()
    assert not re.search(r"phiên bản|version|\b\d+\b(?! ?[:/])", text.replace(re.search(
        r"\d{2}:\d{2} \d{2}/\d{2}/\d{4}", text).group(0), "")), text
    reload_link = mine.locator("#reload")
    expect(reload_link).to_have_text("Tải lại")
    reload_link.click()
    expect(mine).to_have_url(re.compile(rf"/applications/{app_id}$"))
    expect(mine.locator("#score-total")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Application, app_id).state == "commune_appraisal"  # the return was not taken


def test_a_conflict_over_a_state_change_names_both_stages(live, new_page, world):
    application = cdht_at(world, "commune_appraisal", full_name="Ngô Thị Lan")
    db.session.commit()
    appraiser, app_id, full_name = world.appraiser().username, application.id, world.appraiser().full_name
    db.session.remove()
    page = new_page()
    log_in(page, live, appraiser)
    page.goto(f"{live}/applications/{app_id}")
    page.fill("#reason-return", "Bổ sung")
    other = new_page()  # the same appraiser, in another tab of another browser, returns the file first
    log_in(other, live, appraiser)
    other.goto(f"{live}/applications/{app_id}")
    other.fill("#reason-return", "Thiếu giấy khen")
    other.click("#action-return")
    expect(other.locator(".flash.success")).to_be_visible()
    page.click("#action-return")
    expect(page.locator("#conflict")).to_contain_text("chuyển hồ sơ từ «Xã thẩm định» sang «Chi hội chấm điểm»")
    expect(page.locator("#conflict")).to_contain_text(full_name)
    expect(page.locator("#reload")).to_have_attribute("href", f"/applications/{app_id}")
    page.click("#lang-en")  # the language switch reloads the page: the file as it is now, in English
    expect(page.locator("h1")).to_contain_text("Branch scoring")
