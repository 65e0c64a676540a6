"""The dashboards as a person meets them (issue 11, section 3), on the demo with its two previous years: a
provincial officer opens Reports, the charts are drawn by the vendored Chart.js (each canvas painted, not blank),
drills down province -> commune -> branch by clicking the ranked table's names, and on a 390 px phone nothing
scrolls sideways (the tables scroll inside their own box). Screenshots at 1366x768 and 390x844 go to
test-artifacts/docs/reports-*.png; with UPDATE_DOC_SCREENSHOTS=1 they are copied to docs/screenshots/ as well (so
an ordinary run never rewrites the docs)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from flask import current_app
from playwright.sync_api import Page, expect
from sqlalchemy import select

from workflow import demo
from workflow.db import db
from workflow.models import Unit

PASSWORD = "hoctap-demo"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Every canvas that reports.js drew holds some non-white pixels (a blank canvas is all transparent/white).
PAINTED = """(canvas) => {
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240)) painted++;
  }
  return painted;
}"""


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("h1")).to_have_text("Việc chờ tôi xử lý")


def shoot(page: Page, shots: Path, name: str) -> None:
    path = shots / f"reports-{name}.png"
    page.screenshot(path=path, full_page=True)
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        DOC_SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, DOC_SHOTS / path.name)


def charts_drawn(page: Page) -> int:
    """How many charts are drawn; each one must be painted."""
    canvases = page.locator("canvas[data-drawn]")
    canvases.first.wait_for()  # (the page's CSP forbids eval, so no wait_for_function)
    for i in range(canvases.count()):
        assert canvases.nth(i).evaluate(PAINTED) > 200, f"canvas {i} is blank"
    return canvases.count()


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect();
        return r.right > document.documentElement.clientWidth + 0.5 && !e.closest('.table-wrap');
      }).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)""")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px: {wide}"


def test_reports_drill_down_with_charts(live, new_page, artifacts):
    demo.seed(PASSWORD, current_app.config["UPLOAD_DIR"])
    province = db.session.scalar(select(Unit).where(Unit.level == "province"))
    commune = db.session.scalar(select(Unit).where(Unit.level == "commune").order_by(Unit.id))
    branch = db.session.scalar(select(Unit).where(Unit.parent_id == commune.id).order_by(Unit.id))
    names = (province.name, commune.name, branch.name)
    db.session.remove()
    shots = artifacts / "docs"
    shots.mkdir(exist_ok=True)

    page = new_page()
    page.set_viewport_size(DESKTOP)
    log_in(page, live, "tinh.pheduyet")
    expect(page.locator("#home-headline")).to_be_visible()
    expect(page.locator("#home-figure-1")).to_be_visible()  # fetched into the section after the page
    page.click("#nav-reports")
    expect(page.locator("h1")).to_contain_text(names[0])
    assert charts_drawn(page) >= 5
    expect(page.locator("#table-coverage-years caption")).to_be_visible()
    expect(page.locator("#report-print")).to_be_visible()  # shown only when the script runs
    shoot(page, shots, "province")

    page.locator("#table-ranking a", has_text=names[1]).click()
    expect(page.locator("h1")).to_contain_text(names[1])
    expect(page.locator("nav.trail a", has_text=names[0])).to_be_visible()
    assert charts_drawn(page) >= 4
    shoot(page, shots, "commune")

    page.locator("#table-ranking a", has_text=names[2]).click()
    expect(page.locator("h1")).to_contain_text(names[2])
    assert charts_drawn(page) >= 3
    shoot(page, shots, "branch")
    page.locator("nav.trail a", has_text=names[1]).click()
    expect(page.locator("h1")).to_contain_text(names[1])

    page.set_viewport_size(PHONE)
    page.locator("nav.trail a", has_text=names[0]).click()
    expect(page.locator("h1")).to_contain_text(names[0])
    charts_drawn(page)
    no_sideways_scroll(page)
    for link in page.locator("#table-ranking a").all()[:3]:
        box = link.bounding_box()
        assert box and box["height"] >= 44, box  # touch targets
    shoot(page, shots, "province-phone")

    page.set_viewport_size(DESKTOP)
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#report-filters")).to_be_hidden()
    expect(page.locator("p.exports").first).to_be_hidden()
    expect(page.locator("#table-funnel")).to_be_visible()
    page.screenshot(path=shots / "reports-print.png", full_page=True)  # the print layout (not a doc image)
    page.emulate_media(media="screen")


def test_reports_without_javascript_are_the_tables(browser, live, artifacts):
    demo.seed(PASSWORD, current_app.config["UPLOAD_DIR"])
    db.session.remove()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live}/login")
        page.fill("#username", "xa1.thamdinh")
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.goto(f"{live}/reports")
        expect(page.locator("#table-funnel")).to_be_visible()
        expect(page.locator("figure.chart").first).to_be_hidden()  # nothing half-drawn without the script
        no_sideways_scroll(page)
    finally:
        context.close()
