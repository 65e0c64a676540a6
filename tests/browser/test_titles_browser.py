"""Issue 14 in the browser, on the demo: the commune appraiser opens the clan's file, sees the counted criterion
beside the self-assessed value, opens the list behind it and recognises the clan after the confirmation; the admin
loads a new procedure version, reads the dry run and migrates after the confirmation. Screenshots go to
test-artifacts/docs/ (docs/screenshots/ holds a copy)."""
from __future__ import annotations

import json

from flask import current_app
from playwright.sync_api import expect
from sqlalchemy import select

from workflow import demo
from workflow.db import db
from workflow.models import Application, Collective

from .test_demo_pages import DEMO_PASSWORD, log_in


def test_the_clan_is_recognised_from_its_counted_figure(live, new_page, artifacts):
    demo.seed(DEMO_PASSWORD, current_app.config["UPLOAD_DIR"])
    clan = db.session.scalar(select(Application.id).join(Collective, Collective.id == Application.collective_id)
                             .where(Collective.kind == "clan"))
    db.session.remove()
    shots = artifacts / "docs"
    shots.mkdir(exist_ok=True)
    page = new_page()
    log_in(page, live, "xa1.thamdinh")
    page.goto(f"{live}/applications/{clan}")
    expect(page.locator("#counted-1")).to_contain_text("4/5 hộ gia đình đạt Gia đình học tập (80%)")
    expect(page.locator("#criterion-1")).to_contain_text("tự đánh giá")
    page.screenshot(path=shots / "titles-counted.png", full_page=True)
    page.click("#counted-list-1")
    expect(page.locator("#counted-list")).to_contain_text("Hộ ông Nguyễn Quang Long")
    expect(page.locator("#counted-list tbody tr")).to_have_count(5)
    page.screenshot(path=shots / "titles-counted-list.png")
    page.go_back()
    page.click("#action-approve")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.click("#confirm-dialog-yes")
    expect(page.locator("h1")).to_contain_text("Đã công nhận")


def test_the_admin_migrates_files_in_flight_after_the_dry_run(live, new_page, artifacts, tmp_path):
    demo.seed(DEMO_PASSWORD, current_app.config["UPLOAD_DIR"])
    waiting = db.session.scalar(select(Application.id).where(Application.state == "branch_scoring")
                                .order_by(Application.id))
    db.session.remove()
    version = tmp_path / "cdht-v2.json"
    version.write_text(json.dumps({"code": "CDHT", "version": "2", "stages": [
        "evidence_collection", "commune_appraisal", "final_approval"],
        "state_map": {"branch_scoring": "evidence_collection"}}), encoding="utf-8")
    page = new_page()
    page.goto(f"{live}/login")
    page.fill("#username", "tinh.quantri")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-button")
    page.goto(f"{live}/admin/definitions/")
    page.set_input_files("#definition-file", str(version))
    page.click("#definition-upload")
    expect(page.locator("#plan-counts")).to_contain_text("Sẽ chuyển")
    expect(page.locator(f"#plan-{waiting}")).to_contain_text("Thu thập minh chứng")
    page.screenshot(path=artifacts / "docs" / "titles-dry-run.png")
    page.click("#migrate")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.click("#confirm-dialog-yes")
    expect(page.locator(".flash.success")).to_contain_text("Đã chuyển")
    expect(page.locator("#plan-rows")).not_to_contain_text("Chi hội chấm điểm")
