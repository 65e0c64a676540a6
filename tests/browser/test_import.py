"""Spreadsheet import of nominees in headless Chromium, the job running in a background thread (no
JOBS_INLINE_SYNC, no Redis) as it does without a queue: a branch officer goes from the campaigns page to "Nhập danh
sách từ bảng tính", uploads 3,000 rows of which 30 are bad, watches the progress bar move (an intermediate value
is seen, the page reloaded mid-way still shows the job) up to 100%, reads the preview's counts and errors,
downloads the error file, confirms the import through the confirmation dialog, fixes the error file with openpyxl,
uploads it again and confirms: every row ends up imported exactly once. The chunks are slowed down (a pause before
the real write) so that a one-second poll surely sees a chunk in between. Screenshots for docs/import.md go to
test-artifacts/docs/import-*.png (desktop and phone width; docs/screenshots/ holds a copy)."""
from __future__ import annotations

import io
import re
import time

from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from workflow.db import db
from workflow.imports import store
from workflow.models import Application, AuditEvent

from ..test_imports_files import person, xlsx
from .conftest import ARTIFACTS
from .test_chain import log_in

ROWS, BAD_EVERY = 3000, 100
DOCS = ARTIFACTS / "docs"
PHONE = {"width": 390, "height": 844}


def shot(page: Page, artifacts, name: str, *, phone: bool = False) -> None:
    """Desktop (and, when asked, phone-width) screenshots, in test-artifacts/docs/."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=DOCS / f"import-{name}.png", full_page=True)
    if phone:
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        page.screenshot(path=DOCS / f"import-{name}-phone.png", full_page=True)
        page.set_viewport_size(size)


def slowed(monkeypatch, seconds: float = 1.2) -> None:
    """Each chunk pauses before its real work (the preview's lookup, the import's write), in the server's thread."""
    for name in ("live_keys", "write_chunk"):
        real = getattr(store, name)

        def pausing(*args, _real=real, **kw):
            time.sleep(seconds)
            return _real(*args, **kw)

        monkeypatch.setattr(store, name, pausing)


def watch_to_the_end(page: Page, artifacts, name: str | None = None) -> None:
    """The bar moves: a value strictly between 0 and the total is seen, the page reloaded then still shows the job
    where it is, and the poll ends on the finished page."""
    page.wait_for_function("() => { const p = document.getElementById('import-progress');"
                           " return p && p.value > 0 && p.value < p.max; }", timeout=30_000)
    counters = page.locator("#import-counters").inner_text()
    assert re.search(r"\d+% · [\d.]+ / 3\.000 dòng · [\d.,]+ dòng/giây · \d+ lỗi đến lúc này", counters), counters
    if name:
        shot(page, artifacts, name)
    page.reload()  # the job id is in the address: the page reads the row again
    expect(page.locator("#import-file-name")).not_to_be_empty()
    expect(page.locator("#import-counts")).to_be_visible(timeout=60_000)
    expect(page.locator("#import-status")).to_have_text("Đã xong")
    assert page.locator("#import-progress").get_attribute("value") == str(ROWS)
    expect(page.locator("#import-percent")).to_have_text("100")


def test_officer_imports_three_thousand_rows_fixes_the_errors_and_uploads_again(live, new_page, world, artifacts,
                                                                               monkeypatch):
    officer, campaign_id, branch_id = world.officer(0, 0).username, world.cdht.id, world.branch(0, 0).id
    db.session.remove()
    rows = [person(i, born="99/99/1980" if i % BAD_EVERY == 0 else "17/05/1980") for i in range(ROWS)]
    bad = ROWS // BAD_EVERY
    slowed(monkeypatch)

    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation before the irreversible import
    log_in(page, live, officer)
    page.goto(f"{live}/campaigns")
    page.click("#import-CDHT")
    expect(page.locator("h1")).to_have_text("Nhập danh sách từ bảng tính")
    with page.expect_download() as template:
        page.click("#template-link")
    assert template.value.suggested_filename.startswith("mau-nhap-CDHT-")
    header = next(load_workbook(io.BytesIO(template.value.path().read_bytes())).active.iter_rows(values_only=True))
    assert header[:6] == ("Họ và tên", "Ngày sinh", "Số CCCD", "Nhóm đối tượng", "Nơi cư trú", "Chi hội")
    shot(page, artifacts, "page", phone=True)

    page.locator("#import-file").set_input_files({"name": "danh sách chi hội thôn 1.xlsx", "buffer": xlsx(rows),
                                                  "mimeType": "application/octet-stream"})
    page.click("#import-submit")
    expect(page.locator("h1")).to_have_text("Xem trước danh sách nhập")
    watch_to_the_end(page, artifacts, "progress")
    expect(page.locator("#count-valid")).to_have_text(f"{ROWS - bad:,}".replace(",", "."))
    expect(page.locator("#count-errors")).to_have_text(str(bad))
    expect(page.locator("#count-duplicates")).to_have_text("0")
    errors = page.locator("#import-error-list tbody tr")
    expect(errors).to_have_count(20)  # the first 20 of 30
    expect(errors.first).to_contain_text("Ngày sinh")
    expect(errors.first).to_contain_text("Ngày «99/99/1980» không hợp lệ")
    expect(page.locator("#confirm-import")).to_have_text(f"Nhập {ROWS - bad:,} hồ sơ".replace(",", "."))
    shot(page, artifacts, "preview", phone=True)
    with page.expect_download() as error_file:
        page.click("#error-file-link")
    book = load_workbook(io.BytesIO(error_file.value.path().read_bytes()))
    sheet = book.active
    assert sheet.max_row == bad + 1 and sheet.cell(row=1, column=sheet.max_column).value == "Lỗi"
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Application)) == 0  # a preview writes nothing

    page.check("#confirm-box")
    page.click("#confirm-import")
    expect(page.locator("h1")).to_have_text("Nhập hồ sơ đề nghị")
    watch_to_the_end(page, artifacts)
    expect(page.locator("#count-created")).to_have_text(f"{ROWS - bad:,}".replace(",", "."))
    expect(page.locator("#count-errors")).to_have_text(str(bad))
    expect(page.locator("#campaign-files")).to_be_visible()
    shot(page, artifacts, "result", phone=True)

    # the officer fixes the dates in the error file («Lỗi» column left in) and uploads it again
    for r in range(2, sheet.max_row + 1):
        sheet.cell(row=r, column=2).value = "17/05/1980"
    fixed = io.BytesIO()
    book.save(fixed)
    page.click("#upload-again")
    expect(page.locator("#import-unit")).to_have_value(str(branch_id))
    page.locator("#import-file").set_input_files({"name": "đã sửa.xlsx", "buffer": fixed.getvalue(),
                                                  "mimeType": "application/octet-stream"})
    page.click("#import-submit")
    expect(page.locator("#count-valid")).to_have_text(str(bad), timeout=30_000)
    expect(page.locator("#count-errors")).to_have_text("0")
    expect(page.locator("#error-file-link")).to_have_count(0)
    page.check("#confirm-box")
    page.click("#confirm-import")
    expect(page.locator("#count-created")).to_have_text(str(bad), timeout=30_000)
    page.goto(f"{live}/campaigns/{campaign_id}/import")
    expect(page.locator("#recent-imports tbody tr")).to_have_count(4)
    shot(page, artifacts, "recent")

    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Application)) == ROWS
        assert conn.scalar(select(func.count(func.distinct(Application.citizen_id)))) == ROWS
        assert conn.scalar(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "create")) == ROWS
