"""Phones (issue 13, finding 7): every page of every role, on the demo, fits a 390x844 phone and a 1366x768 desktop
without scrolling sideways, and on the phone every control is a 44 px touch target; the header is one row (brand,
language, a Menu button that unfolds the nav and the account) that works without JavaScript too.

The walk: `tests/page_catalog.pages_by_role` lists what each demo user can open; the pages are grouped by role and
each path is opened once per role (one browser context per role, one tab reused), by the first user of that role
who can open it. Each page is measured at 390x844, then the same tab is resized to 1366x768 and measured again.

What counts (all measured in the page, see FITS and TARGETS below):
- no sideways scroll: `document.documentElement.scrollWidth <= innerWidth`, and no element sticks out past either
  edge of the viewport unless it sits inside an explicit scroll container (an ancestor with overflow-x auto or
  scroll: the figure tables of the reports, a list without scripts). Elements wholly off screen to the left (a skip
  link waiting for focus) and elements of zero size are not drawn, so they do not count.
- touch targets (phone only): every visible a[href], button, summary, select and input of type checkbox, radio,
  submit or button in the header, main content and footer has a hit area of at least 44x44 px (WCAG 2.5.5). The
  hit area of a checkbox or radio is the larger of its own box and its label's. Exempt, per WCAG 2.5.8's inline
  exception: a link displayed inline inside running text, i.e. whose nearest block is a p, li, dd, figcaption or
  blockquote holding at least 12 characters of text outside the controls (not in a table, the nav or a pager).
  Every exemption used is listed in test-artifacts/phones-exempt.txt.
- the header, menu closed, is at most 64 px tall on the phone.

Screenshots of the main pages at both sizes go to test-artifacts/docs/ (phone-*.png, desktop-*.png); with
UPDATE_DOC_SCREENSHOTS=1 they are copied to docs/screenshots/ (docs/web.md shows them)."""
from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

from flask import current_app
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from tests import page_catalog
from tests.factories import PASSWORD, bulk_at_appraisal
from workflow import demo
from workflow.db import db
from workflow.models import Application, Campaign, Decision, Unit

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
HEADER_MAX = 64
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Two frames, so that what a resize sets off has been laid out, and a chart has redrawn at its box's new size.
# Only where scripts run: with scripts off no frame callback ever comes, and an evaluate has no timeout.
SETTLE = """async () => {
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  await frame(); await frame();
  const chartsWide = () => [...document.querySelectorAll('canvas')].some(
    (c) => c.getBoundingClientRect().width > c.parentElement.getBoundingClientRect().width + 1);
  for (let i = 0; i < 60 && chartsWide(); i++) await frame();
}"""

FITS = """() => {
  const vw = window.innerWidth;
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
      const ox = getComputedStyle(p).overflowX;
      if (ox === 'auto' || ox === 'scroll') return true;
    }
    return false;
  };
  const sticksOut = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= 0) return false;
    return (r.right > vw + 0.5 || r.left < -0.5) && !inScroller(el);
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!sticksOut(el) || (el.parentElement !== document.body && sticksOut(el.parentElement))) continue;
    const r = el.getBoundingClientRect();
    const text = (el.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (text ? ' "' + text + '"' : '')
              + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + vw + ']');
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, wide: wide.slice(0, 10),
          header: (document.querySelector('header.top') || document.createElement('p')).getBoundingClientRect().height};
}"""

TARGETS = """() => {
  const SEL = 'a[href], button, summary, select, input[type=checkbox], input[type=radio], input[type=submit], '
            + 'input[type=button]';
  const MIN = 44;
  const PROSE = new Set(['P', 'LI', 'DD', 'FIGCAPTION', 'BLOCKQUOTE']);
  const drawn = (r) => r.width > 1 && r.height > 1;
  const name = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim()
      .replace(/\\s+/g, ' ').slice(0, 40);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (text ? ' "' + text + '"' : '');
  };
  const inRunningText = (el) => {
    if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
    if (el.closest('nav, td, th, .pager')) return false;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
    if (!block || !PROSE.has(block.tagName)) return false;
    let text = '';
    const walk = (node) => {
      for (const c of node.childNodes) {
        if (c.nodeType === 3) text += c.textContent;
        else if (c.nodeType === 1 && !c.matches(SEL)) walk(c);
      }
    };
    walk(block);
    return text.replace(/\\s+/g, '').length >= 12;
  };
  const small = [], exempt = [];
  for (const root of document.querySelectorAll('header.top, main, body > footer')) {
    for (const el of root.querySelectorAll(SEL)) {
      const own = el.getBoundingClientRect();
      if (!drawn(own) || getComputedStyle(el).visibility === 'hidden') continue;
      let best = own;
      for (const label of el.labels || []) {
        const r = label.getBoundingClientRect();
        if (drawn(r) && Math.min(r.width, r.height) > Math.min(best.width, best.height)) best = r;
      }
      if (best.width + 0.5 >= MIN && best.height + 0.5 >= MIN) continue;
      const size = Math.round(best.width) + 'x' + Math.round(best.height);
      (inRunningText(el) ? exempt : small).push(name(el) + ' ' + size);
    }
  }
  return {small, exempt};
}"""

BOTH = f"async () => {{ await ({SETTLE})(); return {{fits: ({FITS})(), targets: ({TARGETS})()}}; }}"

# which page of which role is photographed, under which name (the path is looked up after seeding)
SHOTS = ("home", "queue", "detail", "nomination", "timeline", "reports", "decision-new", "decision")


def _role_pages(catalog: dict[str, list[str]]) -> dict[str, list[tuple[str, list[str]]]]:
    """role -> [(username, the paths this user opens that no earlier user of the role did)]."""
    roles = {u["username"]: u["role"] for u in demo.demo_users()}
    out: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    covered: dict[str, set[str]] = defaultdict(set)
    for username, paths in catalog.items():
        role = roles[username]
        new = [p for p in paths if p not in covered[role]]
        covered[role].update(new)
        if new:
            out[role].append((username, new))
    return out


def log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", page_catalog.DEMO_PASSWORD)
    page.click("#login-button")
    expect(page.locator("#menu-button")).to_be_visible()


def _measure(page: Page, label: str, problems: list[str], exempt: set[str]) -> None:
    """The page as it is now at the viewport's size, then at the other one (the viewport is left there: the next
    page starts at that size, which saves a resize per page)."""
    first = PHONE if page.viewport_size == PHONE else DESKTOP
    for viewport in (first, DESKTOP if first == PHONE else PHONE):
        if page.viewport_size != viewport:
            page.set_viewport_size(viewport)
        at = f"{label} @{viewport['width']}"
        if viewport == PHONE:
            found = page.evaluate(BOTH)
            fits, targets = found["fits"], found["targets"]
            problems.extend(f"{at}: touch target under 44 px: {t}" for t in targets["small"])
            exempt.update(f"{label}: {t}" for t in targets["exempt"])
            if fits["header"] > HEADER_MAX:
                problems.append(f"{at}: header {fits['header']:.0f} px tall")
        else:
            page.evaluate(SETTLE)
            fits = page.evaluate(FITS)
        if fits["scrollWidth"] > fits["innerWidth"]:
            problems.append(f"{at}: scrolls sideways ({fits['scrollWidth']} px wide)")
        problems.extend(f"{at}: wider than the screen: {w}" for w in fits["wide"])


def _menu(page: Page, label: str, problems: list[str]) -> None:
    """The Menu button unfolds the nav and the account on the phone; each item a 44 px target within the screen."""
    page.set_viewport_size(PHONE)
    page.click("#menu-button")
    expect(page.locator("#menu nav a").first).to_be_visible()
    expect(page.locator("#logout")).to_be_visible()
    fits = page.evaluate(FITS)
    problems += [f"{label} menu open: wider than the screen: {w}" for w in fits["wide"]]
    problems += [f"{label} menu open: touch target under 44 px: {t}" for t in page.evaluate(TARGETS)["small"]]
    page.keyboard.press("Escape")
    expect(page.locator("#menu nav")).to_be_hidden()


def _context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, accept_downloads=True)
    context.set_default_timeout(15_000)
    return context


def _shot(page: Page, shots: Path, name: str) -> None:
    if page.locator("[data-chart]").count():
        page.locator("canvas[data-drawn]").first.wait_for()  # reports.js has drawn the charts
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        path = shots / f"{size}-{name}.png"
        page.screenshot(path=path)
        if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
            DOC_SHOTS.mkdir(exist_ok=True)
            shutil.copy(path, DOC_SHOTS / path.name)
    page.set_viewport_size(PHONE)


def _shot_paths() -> dict[str, tuple[str, str]]:
    """name -> (username, path) of the pages photographed for the docs."""
    appraisal = db.session.scalar(select(Application.id).where(Application.state == "commune_appraisal")
                                  .order_by(Application.id))
    recognised = db.session.scalar(select(Application.id).where(Application.state == "recognised")
                                   .order_by(Application.id))
    cdht = db.session.scalar(select(Campaign.id).where(Campaign.title_code == "CDHT").order_by(Campaign.year.desc()))
    province = db.session.scalar(select(Unit.id).where(Unit.level == "province"))
    decision = db.session.scalar(select(Decision.id).join(Unit, Unit.id == Decision.unit_id)
                                 .where(Unit.level == "province").order_by(Decision.id))
    return {"home": ("xa1.thamdinh", "/"), "queue": ("xa1.thamdinh", "/applications"),
            "detail": ("xa1.thamdinh", f"/applications/{appraisal}"),
            "nomination": ("xa1.chihoi1", f"/campaigns/{cdht}/applications/new"),
            "timeline": ("tinh.kiemtoan", f"/applications/{recognised}/timeline"),
            "reports": ("tinh.pheduyet", f"/reports/{province}"),
            "decision-new": ("tinh.pheduyet", "/decisions/new"),
            "decision": ("tinh.pheduyet", f"/decisions/{decision}")}


def test_the_checks_catch_what_they_must(live, browser):
    """The measures are not vacuous: a block wider than the phone, a 20 px button and a 13 px checkbox are caught;
    a wide block inside a scroll container and a link in a sentence are not."""
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{live}/login")
    clean = page.evaluate(FITS)
    assert clean["scrollWidth"] <= clean["innerWidth"] and clean["wide"] == [] and clean["header"] <= HEADER_MAX
    assert page.evaluate(TARGETS)["small"] == []
    page.evaluate("""() => {
      const main = document.querySelector('main');
      main.insertAdjacentHTML('beforeend', '<div id="too-wide" style="width:600px">x</div>'
        + '<div style="overflow-x:auto"><div id="scrolls" style="width:900px">y</div></div>'
        + '<button id="tiny" style="all:unset;font-size:12px">z</button>'
        + '<input type="checkbox" id="box" style="all:revert;width:13px;height:13px;appearance:auto">'
        + '<p>Đọc hướng dẫn chi tiết ở <a href="#x" id="prose" style="padding:0;display:inline">trang này</a>.</p>');
    }""")
    fits = page.evaluate(FITS)
    assert fits["scrollWidth"] > fits["innerWidth"]
    assert [w for w in fits["wide"] if w.startswith("div#too-wide")] and not [w for w in fits["wide"] if "scrolls" in w]
    targets = page.evaluate(TARGETS)
    assert any(t.startswith("button#tiny") for t in targets["small"])
    assert any(t.startswith("input#box") for t in targets["small"])
    assert [t for t in targets["exempt"] if t.startswith("a#prose")] and not [
        t for t in targets["small"] if t.startswith("a#prose")]
    context.close()


def test_every_page_of_every_role_fits_a_phone(app, live, browser, artifacts):
    demo.seed(page_catalog.DEMO_PASSWORD, current_app.config["UPLOAD_DIR"])
    catalog = page_catalog.pages_by_role(app)
    by_role = _role_pages(catalog)
    assert {"branch_officer", "commune_appraiser", "provincial_approver", "auditor", "admin"} <= set(by_role)
    shots_at = _shot_paths()
    db.session.remove()
    shots = artifacts / "docs"
    shots.mkdir(exist_ok=True)
    problems: list[str] = []
    exempt: set[str] = set()
    taken: set[str] = set()
    seen = 0
    for role, users in by_role.items():
        context = _context(browser)
        page = context.new_page()
        for index, (username, paths) in enumerate(users):
            log_in(page, live, username)
            if index == 0:
                _menu(page, f"{role} ({username})", problems)
            for path in paths:
                response = page.goto(f"{live}{path}", wait_until="domcontentloaded")
                assert response is not None and response.status == 200, (username, path)
                _measure(page, f"{username} {path}", problems, exempt)
                seen += 1
            for name, (who, path) in shots_at.items():
                if who == username:
                    assert page.goto(f"{live}{path}").status == 200, (who, path)
                    _shot(page, shots, name)
                    taken.add(name)
        context.close()
    context = _context(browser)  # visitors: the login page and a certificate's public check
    page = context.new_page()
    for path in page_catalog.public_pages():
        page.goto(f"{live}{path}", wait_until="domcontentloaded")
        _measure(page, f"(visitor) {path}", problems, exempt)
    context.close()
    (artifacts / "phones-exempt.txt").write_text("\n".join(sorted(exempt)) + "\n", encoding="utf-8")
    assert seen > 250
    assert taken == set(SHOTS)
    assert not problems, f"{len(problems)} layout problems:\n" + "\n".join(problems)


CELL_LABEL = """(sel) => getComputedStyle(document.querySelector(sel), '::before').content"""


def test_phone_header_menu_and_cards_with_and_without_javascript(live, browser, world):
    """On a phone the header is one row and the Menu button unfolds the nav and the account, with scripts or
    without (details/summary); the queue's rows are cards whose cells carry their column's heading; without
    scripts the same list scrolls inside its own box and the page still does not scroll sideways. On a desktop
    the nav and the account show in the header with no button."""
    ids = bulk_at_appraisal(world, 3)
    db.session.commit()
    appraiser = world.appraiser().username
    db.session.remove()
    for scripts in (True, False):
        context = browser.new_context(viewport=PHONE, java_script_enabled=scripts)
        page = context.new_page()
        page.goto(f"{live}/login")
        page.fill("#username", appraiser)
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.goto(f"{live}/applications?state=commune_appraisal")
        expect(page.locator("#queue tbody tr")).to_have_count(3)
        assert page.locator("header.top").bounding_box()["height"] <= HEADER_MAX
        expect(page.locator("#menu nav")).to_be_hidden()
        expect(page.locator("#account")).to_be_hidden()
        page.click("#menu-button")
        expect(page.locator("#menu nav a[href='/applications']")).to_be_visible()
        expect(page.locator("#account")).to_be_visible()
        expect(page.locator("#logout")).to_be_visible()
        assert page.locator("header.top").bounding_box()["height"] <= HEADER_MAX  # the panel lies over the page
        page.click("#menu-button")
        expect(page.locator("#menu nav")).to_be_hidden()
        fits = page.evaluate(FITS)
        assert fits["scrollWidth"] <= fits["innerWidth"] and fits["wide"] == [], fits
        row = f"#queue tbody tr:has(input[value='{ids[0]}'])"
        if scripts:
            assert "cards" in page.get_attribute("#queue", "class")
            name_cell = page.locator(f"{row} td:has(a)").first
            assert name_cell.get_attribute("data-label") == "Họ và tên"
            assert page.evaluate(CELL_LABEL, f"{row} td[data-label='Họ và tên']") == '"Họ và tên"'
            box = page.locator(f"{row} input[type=checkbox]").bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44
            card = page.locator(row).bounding_box()
            assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"]
        else:
            assert "cards" not in (page.get_attribute("#queue", "class") or "")
            assert page.evaluate("getComputedStyle(document.querySelector('#queue')).overflowX") == "auto"
        context.close()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live}/login")
    page.fill("#username", appraiser)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("#menu-button")).to_be_hidden()
    expect(page.locator("header.top nav a[href='/applications']")).to_be_visible()
    expect(page.locator("#account")).to_be_visible()
    assert page.locator("header.top").bounding_box()["height"] <= 70  # one row for a commune appraiser
    page.goto(f"{live}/applications?state=commune_appraisal")
    assert page.evaluate("getComputedStyle(document.querySelector('#queue tbody td')).display") == "table-cell"
    context.close()
