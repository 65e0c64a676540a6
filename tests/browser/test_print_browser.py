"""Paper (issue 12 §4): every list and detail page prints without the menu, buttons, forms or flashed messages,
its tables spanning the page (web/static/app.css, the @media print block). Chromium emulates print media on the
queue, a file's detail (just after an action, so a flashed message is on screen), a decision, the decisions'
list and the expiry list; on screen the same elements are visible. A PDF of the detail goes to test-artifacts/."""
from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Page

from tests.factories import PASSWORD, cdht_at, xht_level1_history
from workflow import clock, operations, validity
from workflow.db import db

HIDDEN = ["header.top", "header.top nav", "form:not(:has(table))", "button", "a.button", "input", "select",
          ".flash[role=status]", ".pager"]
JS_DISPLAY = "(sel) => [...document.querySelectorAll(sel)].map(e => getComputedStyle(e).display)"
JS_WIDTHS = """() => [...document.querySelectorAll('table.list')].filter(t => t.checkVisibility())
  .map(t => [t.getBoundingClientRect().width,
  document.querySelector('main').getBoundingClientRect().width])"""


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_load_state()


def check_print(page: Page, *, flash: bool = False) -> None:
    page.emulate_media(media="screen")
    assert set(page.evaluate(JS_DISPLAY, "header.top")) == {"flex"}
    if flash:
        assert "none" not in page.evaluate(JS_DISPLAY, ".flash[role=status]")
    page.emulate_media(media="print")
    for sel in HIDDEN:
        assert set(page.evaluate(JS_DISPLAY, sel)) <= {"none"}, (page.url, sel)
    if flash:
        assert page.evaluate(JS_DISPLAY, ".flash[role=status]") == ["none"] * len(
            page.evaluate(JS_DISPLAY, ".flash[role=status]")) != []
    assert page.evaluate(JS_WIDTHS), page.url  # every page checked has a list
    for table, main in page.evaluate(JS_WIDTHS):
        assert abs(table - main) < 2, (page.url, table, main)
    assert page.locator("h1").first.is_visible()
    page.emulate_media(media="screen")


def test_pages_print_without_the_screen_furniture(live, new_page, world, artifacts):
    year = clock.today().year
    mine = cdht_at(world, "final_approval", full_name="Đặng Thị Hương", citizen_id="001190000001")
    decision, _ = operations.create_decision(world.cdht, world.province, world.approver, "42/QĐ-UBND",
                                             date(year, 1, 5), "Phó Chủ tịch Nguyễn Văn Ất", [mine.id])
    old = xht_level1_history(world, recognised_on=validity.shift_years(clock.today() + timedelta(days=30), -3))
    db.session.commit()
    approver, appraiser = world.approver.username, world.appraiser(0).username
    ids = (mine.id, decision.id, old.id)

    page = new_page()
    log_in(page, live, approver)
    for path in ("/applications?state=all", f"/applications/{ids[0]}", "/decisions", f"/decisions/{ids[1]}",
                 f"/validity/expiring?title=XHT&year={year}"):
        page.goto(f"{live}{path}")
        check_print(page)
    page.goto(f"{live}/applications/{ids[0]}")
    page.emulate_media(media="print")
    page.pdf(path=str(artifacts / "print-detail.pdf"))
    page.goto(f"{live}/decisions/{ids[1]}")
    page.emulate_media(media="print")
    page.screenshot(path=str(artifacts / "print-decision.png"), full_page=True)  # for a look (docs/papers.md)

    page = new_page()
    log_in(page, live, appraiser)
    page.goto(f"{live}/applications/{ids[2]}")
    page.click("#action-renew")  # the renewal's redirect flashes a message
    page.wait_for_load_state()
    assert page.locator("#renews").is_visible()
    check_print(page, flash=True)
