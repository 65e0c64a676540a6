"""A province set up from nothing in headless Chromium, as the issue tells it: an admin imports the province's
commune list from the CSV in shared/data (preview, then confirm), adds a branch to one commune, creates a commune
appraiser and a branch officer (no e-mail: the one-time set-password link is shown once), opens this year's CDHT
campaign; then the new branch officer sets a password through the link, logs in and nominates. Screenshots of the
admin pages go to test-artifacts/docs/ (docs/screenshots/ holds a copy)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from workflow import clock
from workflow.db import db
from workflow.loader import add_unit, load_reference_data
from workflow.models import Application, AuditEvent, Campaign, RoleGrant, Unit, User

from ..factories import PASSWORD, make_user

REPO = Path(__file__).resolve().parents[2]
CSV_NAME = "thai_nguyen_communes_2025.csv"
PROVINCE = "Tỉnh Thái Nguyên"
COMMUNE = "Tân Cương"
COMMUNE_UNIT = f"Xã {COMMUNE}"  # the stored name: kind and name, as the official list reads
BRANCH = "Chi hội khuyến học thôn Đồng Kết"
NOMINEE = "Trần Thị Hương Giang"
NEW_PASSWORD = "Đồi chè Tân Cương 2025"
SHOTS = ("admin-index.png", "admin-units-import.png", "admin-user-new.png", "admin-campaign-new.png",
         "set-password.png", "admin-units-phone.png")
ENGLISH = ("Administration", "Units", "Officers", "Campaigns", "Import the commune list", "Preview", "Save",
           "New user", "Create user", "Open the campaign", "Set your password", "New nomination", "Log in")


def communes_csv() -> Path:
    """The official list lives in shared/data next to the checkout (or inside it)."""
    for base in (REPO.parent, REPO, *REPO.parents):
        path = base / "shared" / "data" / CSV_NAME
        if path.is_file():
            return path
    raise AssertionError(f"{CSV_NAME} not found in shared/data beside or above {REPO}")


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("h1")).to_have_text("Việc chờ tôi xử lý")


def assert_vietnamese(page: Page) -> None:
    """The page is served in Vietnamese and none of its headings or buttons are left in English."""
    assert page.locator("html").get_attribute("lang") == "vi"
    texts = page.locator("h1, h2, button, nav a").all_inner_texts()
    left = [t for t in texts if t.strip() in ENGLISH]
    assert not left, f"untranslated on {page.url}: {left}"


def dmy(d) -> str:
    return d.strftime("%d/%m/%Y")


def create_user(page: Page, base: str, username: str, full_name: str, role: str, unit: str,
                shot: Path | None = None) -> str:
    """Fill the new-user form (no e-mail) and return the one-time link shown on the result page."""
    page.goto(f"{base}/admin/users/")
    page.goto(f"{base}/admin/users/new")
    expect(page.locator("h1")).to_have_text("Thêm người dùng")
    form = page.locator("#new-user-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=full_name]").fill(full_name)
    form.locator("select[name=role]").select_option(role)
    form.locator("select[name=unit]").select_option(label=unit)
    assert_vietnamese(page)
    if shot:
        page.screenshot(path=shot)
    page.click("#create-user")
    link = page.locator("#set-password-link")
    expect(link).to_be_visible()
    expect(page.locator(".flash.success")).to_contain_text(full_name)
    value = link.input_value()
    assert re.search(r"/password/set/[^/]+$", value), value
    return value


def test_admin_sets_up_a_province_and_the_new_officer_nominates(live, live_app, new_page, artifacts, monkeypatch):
    # Links are minted from PUBLIC_URL (docs/admin.md), not from the request: point it at the live server.
    monkeypatch.setitem(live_app.config, "PUBLIC_URL", live)
    province = add_unit("TN", PROVINCE, "province")
    admin = make_user("admin", province, username="tn.quantri")
    load_reference_data()
    db.session.commit()
    admin_name, province_id = admin.username, province.id
    db.session.remove()
    shots = artifacts / "docs"
    shots.mkdir(exist_ok=True)
    today = clock.today()

    # 1. The admin's starting page leads to the units; the commune list is previewed, then imported.
    page = new_page()
    log_in(page, live, admin_name, PASSWORD)
    page.click("#nav-admin")
    expect(page.locator("h1")).to_have_text("Quản trị")
    for section in ("#admin-admin_units", "#admin-admin_officers", "#admin-admin_campaigns"):
        expect(page.locator(section)).to_be_visible()
    assert_vietnamese(page)
    page.screenshot(path=shots / "admin-index.png")
    page.click("#admin-admin_units")
    expect(page.locator("#communes")).to_contain_text("Chưa có xã nào")
    page.click("#import-communes")
    expect(page.locator("#province")).to_have_value(PROVINCE)
    page.set_input_files("#file", communes_csv())
    page.click("#preview")
    expect(page.locator("#import-summary")).to_contain_text("92")
    expect(page.locator("#import-rows tbody tr")).to_have_count(92)
    expect(page.locator("#import-rows")).to_contain_text(COMMUNE)
    assert_vietnamese(page)
    page.screenshot(path=shots / "admin-units-import.png")
    with db.session.begin():  # a preview stores nothing
        assert db.session.scalar(select(func.count()).select_from(Unit).where(Unit.level == "commune")) == 0
    db.session.remove()
    page.click("#confirm")
    expect(page.locator(".flash.success")).to_contain_text("92")
    expect(page.locator("h1")).to_have_text("Đơn vị")
    page.fill("#q", "tan cuong")
    page.click("#unit-filters button[type=submit]")
    page.click(f"#communes >> text={COMMUNE}")
    expect(page.locator("h1")).to_have_text(COMMUNE_UNIT)
    expect(page.locator("#former")).to_contain_text("Thịnh Đức")

    # 2. A branch of that commune, by the form.
    page.fill("#add-unit #name", BRANCH)
    page.select_option("#add-unit #level", "branch")
    page.click("#add")
    expect(page.locator(".flash.success")).to_contain_text(BRANCH)
    expect(page.locator("#children")).to_contain_text(BRANCH)
    assert_vietnamese(page)

    # 3. A commune appraiser and a branch officer, both without e-mail: each gets a link shown once.
    create_user(page, live, "tancuong.thamdinh", "Lê Văn Thẩm", "commune_appraiser", COMMUNE_UNIT)
    link = create_user(page, live, "dongket.chihoi", "Phạm Thị Hoa", "branch_officer", BRANCH,
                       shot=shots / "admin-user-new.png")
    assert link.startswith(live), link

    # 4. This year's CDHT campaign in the province, deadlines ahead.
    page.click("#nav-admin")
    page.click("#admin-admin_campaigns")
    page.goto(f"{live}/admin/campaigns/new")
    expect(page.locator("h1")).to_have_text("Mở đợt đánh giá")
    expect(page.locator("#year")).to_have_value(str(today.year))
    page.select_option("#title", "CDHT")
    page.select_option("#province_id", str(province_id))
    page.fill("#name", f"Công dân học tập năm {today.year}")
    page.fill("#opens_on", dmy(today))
    page.fill("#submit_deadline", dmy(today + timedelta(days=30)))
    page.fill("#scoring_deadline", dmy(today + timedelta(days=45)))
    page.fill("#appraisal_deadline", dmy(today + timedelta(days=60)))
    page.fill("#decision_deadline", dmy(today + timedelta(days=90)))
    assert_vietnamese(page)
    page.screenshot(path=shots / "admin-campaign-new.png", full_page=True)
    page.click("#save")
    expect(page.locator(".flash.success")).to_contain_text(f"Công dân học tập năm {today.year}")

    # The units list on a phone.
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                             has_touch=True, device_scale_factor=2)
    try:
        mobile = phone.new_page()
        log_in(mobile, live, admin_name, PASSWORD)
        mobile.goto(f"{live}/admin/units/")
        expect(mobile.locator("#communes tbody tr")).to_have_count(50)
        mobile.screenshot(path=shots / "admin-units-phone.png")
        overflow = mobile.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    finally:
        phone.close()

    # 5. The new branch officer, in a browser of their own: the link, a password, then the nomination.
    officer = new_page()
    officer.goto(link)
    expect(officer.locator("h1")).to_have_text("Đặt mật khẩu")
    expect(officer.locator("main, body").first).to_contain_text("dongket.chihoi")
    assert_vietnamese(officer)
    officer.fill("input[name=new_password]", NEW_PASSWORD)
    officer.fill("input[name=confirm_password]", NEW_PASSWORD)
    officer.screenshot(path=shots / "set-password.png")
    officer.click("#set-password")
    expect(officer.locator(".flash.success")).to_contain_text("Đã đặt mật khẩu")
    log_in(officer, live, "dongket.chihoi", NEW_PASSWORD)
    officer.goto(link)  # the link works once
    expect(officer.locator("#link-refused")).to_be_visible()
    officer.goto(f"{live}/campaigns")
    expect(officer.locator("#campaigns")).to_contain_text(f"Công dân học tập năm {today.year}")
    officer.click("#new-CDHT")
    expect(officer.locator("#unit_id option")).to_have_text([BRANCH])
    officer.fill("#full_name", NOMINEE)
    officer.fill("#date_of_birth", "1985-09-02")
    officer.fill("#citizen_id", "019185004321")
    officer.select_option("#subject_group", "1")
    assert_vietnamese(officer)
    officer.click("#create")
    expect(officer.locator("h1")).to_contain_text(NOMINEE)
    expect(officer.locator(".flash.success")).to_contain_text("Đã tạo hồ sơ")
    assert_vietnamese(officer)
    app_id = int(re.search(r"/applications/(\d+)", officer.url).group(1))

    # 6. What the database holds now.
    with db.session.begin():
        communes = db.session.scalars(select(Unit).where(Unit.level == "commune", Unit.parent_id == province_id))
        assert len(communes.all()) == 92
        branch = db.session.scalar(select(Unit).where(Unit.name == BRANCH))
        assert branch.level == "branch" and branch.parent.name == COMMUNE_UNIT
        application = db.session.get(Application, app_id)
        assert application.unit_id == branch.id and application.full_name == NOMINEE
        assert application.state == "evidence_collection"
        campaign = db.session.get(Campaign, application.campaign_id)
        assert (campaign.title_code, campaign.year, campaign.province_id) == ("CDHT", today.year, province_id)
        grants = {(u, r, n) for u, r, n in db.session.execute(
            select(User.username, RoleGrant.role, Unit.name).join(RoleGrant.user).join(RoleGrant.unit))}
        assert {("tancuong.thamdinh", "commune_appraiser", COMMUNE_UNIT),
                ("dongket.chihoi", "branch_officer", BRANCH)} <= grants
        actions = dict(db.session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all())
        assert actions.get("unit.create") == 93  # 92 communes and the branch
        assert actions.get("user.create") == 2
        assert actions.get("campaign.create") == 1
    db.session.remove()

    assert overflow <= 0, f"the units page is {overflow}px wider than a 390px phone"
