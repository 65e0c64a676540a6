"""Issue 13, findings 3, 4 and 6 in Chromium: irreversible steps ask first (a <dialog> with the file and the count,
or without scripts the server's own page), withdrawal needs a reason (page and API), a double click on "Tạo hồ sơ"
makes one file and a success page (with scripts: one request, the button busy; without: the server leads the second
submit to the file), the branch's steps say what they do and a complete, scored file goes to the commune in one
click, and the batch offers only the role's actions, with no default, a title column and per-row marks."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from tests.factories import PASSWORD, add_all_evidence, bulk_at_appraisal, cdht_at, score_all
from tests.test_api_support import API
from workflow.db import db
from workflow.models import Application, AuditEvent


def log_in(page: Page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("h1")).to_have_text("Việc chờ tôi xử lý")


@pytest.fixture
def no_script(browser):
    """A page of a browser context with JavaScript off (every page must work without it)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def state_of(app_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Application, app_id).state


def test_approve_and_reject_ask_in_a_dialog_stating_the_file_and_the_count(live, new_page, world, artifacts):
    app = cdht_at(world, "commune_appraisal", full_name="Lê Văn Duyệt")
    other = cdht_at(world, "commune_appraisal", full_name="Mai Thị Loại")
    appraiser, app_id, other_id = world.appraiser().username, app.id, other.id
    db.session.remove()
    page = new_page()
    log_in(page, live, appraiser)
    page.goto(f"{live}/applications/{app_id}")
    page.click("#action-approve")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-dialog-text")).to_have_text(
        "«Phê duyệt»: hồ sơ của Lê Văn Duyệt (1 hồ sơ) sẽ chuyển sang «Chờ phê duyệt». Bạn không thể hoàn tác "
        "thao tác này.")
    page.screenshot(path=artifacts / "ux-actions-confirm-dialog.png")
    page.click("#confirm-dialog-no")
    expect(dialog).to_be_hidden()
    assert state_of(app_id) == "commune_appraisal"
    page.click("#action-approve")
    page.click("#confirm-dialog-yes")
    expect(page.locator("h1")).to_contain_text("Chờ phê duyệt")
    assert state_of(app_id) == "final_approval"

    page.goto(f"{live}/applications/{other_id}")
    page.fill("#reason-reject", "Minh chứng không xác thực")
    page.click("#action-reject")
    expect(page.locator("#confirm-dialog-text")).to_contain_text("sẽ chuyển sang «Không công nhận»")
    page.keyboard.press("Escape")  # closing the dialog is a "no"
    expect(dialog).to_be_hidden()
    assert state_of(other_id) == "commune_appraisal"


def test_without_scripts_the_server_asks_on_its_own_page(live, no_script, world):
    app = cdht_at(world, "commune_appraisal", full_name="Lê Văn Không Script")
    appraiser, app_id = world.appraiser().username, app.id
    db.session.remove()
    page = no_script()
    log_in(page, live, appraiser)
    page.goto(f"{live}/applications/{app_id}")
    page.click("#action-approve")
    expect(page.locator("h1")).to_have_text("Xin xác nhận: Phê duyệt")
    expect(page.locator("#confirm-text")).to_contain_text("hồ sơ của Lê Văn Không Script (1 hồ sơ) sẽ chuyển sang "
                                                          "«Chờ phê duyệt»")
    assert state_of(app_id) == "commune_appraisal"
    page.click("#confirm-yes")
    expect(page.locator("h1")).to_contain_text("Chờ phê duyệt")
    assert state_of(app_id) == "final_approval"


def test_withdraw_without_a_reason_is_refused_on_the_page_and_by_the_api(live, new_page, world):
    app = cdht_at(world, "evidence_collection", full_name="Phan Văn Rút")
    officer, app_id, version = world.officer().username, app.id, app.version
    db.session.remove()
    page = new_page()
    log_in(page, live, officer)
    token = page.request.post(f"{live}{API}/tokens", data={"username": officer, "password": PASSWORD}).json()
    api = page.request.post(f"{live}{API}/applications/{app_id}/actions/withdraw",
                            headers={"Authorization": f"Bearer {token['token']}"}, data={"version": version})
    assert api.status == 422 and api.json()["error"]["code"] == "reason_required"
    page.goto(f"{live}/applications/{app_id}")
    page.click("#action-withdraw")  # the reason is a required field: nothing is sent, nothing asked
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    assert page.locator("#reason-withdraw").evaluate("el => el.validity.valueMissing")
    # a form that skips the browser's check (an old page, a crafted post) meets the server's refusal
    page.locator("#reason-withdraw").evaluate("el => { el.removeAttribute('required'); el.setCustomValidity(''); }")
    page.click("#action-withdraw")
    page.click("#confirm-dialog-yes")
    expect(page.locator("#error")).to_contain_text("Vui lòng nêu lý do")
    assert state_of(app_id) == "evidence_collection"
    page.fill("#reason-withdraw", "Người được đề cử chuyển nơi cư trú")
    page.click("#action-withdraw")
    expect(page.locator("#confirm-dialog-text")).to_contain_text("sẽ chuyển sang «Đã rút»")
    page.click("#confirm-dialog-yes")
    expect(page.locator("h1")).to_contain_text("Đã rút")
    expect(page.locator("#history")).to_contain_text("Người được đề cử chuyển nơi cư trú")
    assert state_of(app_id) == "withdrawn"


def _fill_nomination(page: Page, cccd: str) -> None:
    page.fill("#full_name", "Nguyễn Thị Bấm Đúp")
    page.fill("#date_of_birth", "1985-03-08")
    page.fill("#citizen_id", cccd)
    page.select_option("#subject_group", "1")


def _files_of(cccd: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Application).where(Application.citizen_id == cccd))


def test_a_double_click_on_create_sends_one_request_and_shows_the_file(live, new_page, world):
    officer, campaign = world.officer().username, world.cdht.id
    db.session.remove()
    page = new_page()
    log_in(page, live, officer)
    form = f"{live}/campaigns/{campaign}/applications/new"
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url == form else None)
    # 1. While the post runs, the button is disabled and says so: answered "204 No Content" here, the page stays.
    page.goto(form)
    _fill_nomination(page, "027185004320")
    page.route(form, lambda route: route.fulfill(status=204) if route.request.method == "POST"
               else route.continue_())
    page.dblclick("#create")
    expect(page.locator("#create")).to_be_disabled()
    expect(page.locator("#create")).to_have_text("Đang xử lý…")
    assert len(posts) == 1
    page.unroute(form)
    # 2. For real: a double click creates one file and shows it with the success message.
    posts.clear()
    page.goto(form)
    _fill_nomination(page, "027185004321")
    page.dblclick("#create")
    expect(page.locator("h1")).to_contain_text("Nguyễn Thị Bấm Đúp")
    expect(page.locator(".flash.success").first).to_contain_text("tạo hồ sơ")
    expect(page.locator("#error")).to_have_count(0)
    assert len(posts) == 1 and _files_of("027185004321") == 1
    page.go_back()  # back on the form, the button is usable again
    expect(page.locator("#create")).to_be_enabled()


def test_without_scripts_a_second_submit_leads_to_the_file_the_first_created(live, no_script, world):
    officer, campaign = world.officer().username, world.cdht.id
    db.session.remove()
    page = no_script()
    log_in(page, live, officer)
    form = f"{live}/campaigns/{campaign}/applications/new"
    page.goto(form)
    _fill_nomination(page, "027185004322")
    answered = []

    def first_post(route) -> None:
        """The first click's post reaches the server, but its answer never shows (the second click came first)."""
        if route.request.method != "POST" or answered:
            route.continue_()
            return
        answered.append(route.fetch(max_redirects=0))
        route.fulfill(status=204)

    page.route(form, first_post)
    page.click("#create")
    assert answered and answered[0].status == 302 and _files_of("027185004322") == 1
    page.click("#create")  # the second click of the double click: the same form, the same token
    expect(page.locator("h1")).to_contain_text("Nguyễn Thị Bấm Đúp")
    expect(page.locator(".flash.success", has_text="Hồ sơ đã được tạo")).to_have_count(1)
    expect(page.locator("#error")).to_have_count(0)
    assert _files_of("027185004322") == 1


def test_the_branch_steps_say_what_they_do_and_one_click_reaches_the_commune(live, new_page, world, artifacts):
    officer = world.officer()
    name = officer.username
    ready = world.new_cdht(full_name="Đặng Thị Một Lần")
    add_all_evidence(ready, officer)
    score_all(ready, officer)
    scoring = cdht_at(world, "branch_scoring", full_name="Vũ Văn Chấm")
    db.session.commit()
    ready_id, scoring_id = ready.id, scoring.id
    db.session.remove()
    page = new_page()
    log_in(page, live, name)
    page.goto(f"{live}/applications/{scoring_id}")
    expect(page.locator("#action-submit")).to_have_text("Gửi lên xã thẩm định")
    expect(page.locator("#action-return")).to_have_text("Quay lại bổ sung minh chứng")
    page.goto(f"{live}/applications/{ready_id}")
    expect(page.locator("#action-submit")).to_have_text("Hoàn tất minh chứng, chuyển sang chấm điểm")
    expect(page.locator("#action-submit-through")).to_have_text("Gửi lên xã thẩm định")
    page.screenshot(path=artifacts / "ux-actions-branch-steps.png")
    page.click("#action-submit-through")
    expect(page.locator("h1")).to_contain_text("Xã thẩm định")
    db.session.expire_all()
    steps = [(e.from_state, e.to_state) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.application_id == ready_id, AuditEvent.action == "submit")
        .order_by(AuditEvent.id))]
    assert steps == [("evidence_collection", "branch_scoring"), ("branch_scoring", "commune_appraisal")]
    expect(page.locator("#history")).to_contain_text("Chi hội chấm điểm")
    expect(page.locator("#actions")).to_have_count(0)  # out of the branch's hands: nothing more to do here


def test_batch_choices_follow_the_role_with_no_default_a_title_column_and_marks(live, new_page, world, artifacts):
    officer, appraiser = world.officer(), world.appraiser()
    returned = cdht_at(world, "commune_appraisal", full_name="Hồ Văn Trả")
    from workflow import engine
    engine.fire(returned, "return", appraiser, reason="Thiếu minh chứng")
    cdht_at(world, "evidence_collection", full_name="Tạ Văn Thiếu")
    db.session.commit()
    ids = bulk_at_appraisal(world, 3)
    returned_id, officer, appraiser = returned.id, officer.username, appraiser.username
    db.session.remove()

    branch = new_page()
    log_in(branch, live, officer)
    branch.goto(f"{live}/applications")
    values = branch.locator("#batch-action option").evaluate_all("os => os.map(o => o.value)")
    assert values[0] == "" and "approve" not in values and "reject" not in values and "submit" in values
    expect(branch.locator("#batch-action")).to_have_value("")
    expect(branch.locator("#batch-action option").first).to_have_text("Chọn thao tác…")
    mass = branch.locator("#mass-action-action option").evaluate_all("os => os.map(o => o.value)")
    assert mass[0] == "" and "approve" not in mass and "reject" not in mass
    expect(branch.locator("#queue thead")).to_contain_text("Danh hiệu")
    row = branch.locator(f"#queue tr:has(#select-{returned_id})")
    expect(row).to_contain_text("Công dân học tập")
    expect(row).to_contain_text("đã bị trả lại")
    expect(row.locator(".evidence-mark")).to_have_text(re.compile(r"^\s*(\d+)/\1\s*$"))
    expect(branch.locator("#queue tr:has-text('Tạ Văn Thiếu') .evidence-mark")).to_have_text(re.compile(r"^\s*0/\d+"))
    branch.screenshot(path=artifacts / "ux-actions-branch-queue.png")

    commune = new_page()
    log_in(commune, live, appraiser)
    commune.goto(f"{live}/applications")
    values = commune.locator("#batch-action option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["", "approve", "return", "reject"]
    commune.check("[data-select-all='ids']")
    commune.click("#batch-submit")  # no action chosen: nothing is sent, nothing asked
    expect(commune.locator("#confirm-dialog")).to_be_hidden()
    assert commune.locator("#batch-action").evaluate("el => el.validity.valueMissing")
    commune.select_option("#batch-action", "approve")
    commune.click("#batch-submit")
    expect(commune.locator("#confirm-dialog-text")).to_have_text(
        "«Phê duyệt» sẽ được thực hiện trên 3 hồ sơ đã chọn. Bạn không thể hoàn tác thao tác này.")
    commune.screenshot(path=artifacts / "ux-actions-batch-confirm.png")
    commune.click("#confirm-dialog-yes")
    expect(commune.locator("#batch-summary")).to_contain_text("3 thành công, 0 bị từ chối.")
    db.session.expire_all()
    assert set(db.session.scalars(select(Application.state).where(Application.id.in_(ids)))) == {"final_approval"}
