"""The dashboards at /reports (issue 11, section 3) through the Flask client, on the demo (with its two previous
years of history): scope (a branch officer sees their branch only, another province is not found), drill-down
links province -> commune -> branch, every number links to the list of exactly the files it counts, the CSV and
XLSX of each table carry the page's numbers, the page shows names and never internal codes, the home page's
headline figures, and the demo history itself (closed campaigns, recognised and revoked files, the summary clean)."""
from __future__ import annotations

import csv
import html
import io
import re

import pytest
from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import func, select

from workflow import clock, demo
from workflow.db import db
from workflow.models import Application, Campaign, Unit, User

from .factories import build_other_province

PASSWORD = "pw-for-reports"


@pytest.fixture
def seeded(app):
    demo.seed(PASSWORD, current_app.config["UPLOAD_DIR"])
    db.session.commit()
    province = db.session.scalar(select(Unit).where(Unit.level == "province"))
    communes = list(db.session.scalars(select(Unit).where(Unit.level == "commune").order_by(Unit.id)))
    return province, communes


def login(client, username: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, username


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def visible_text(body: str) -> str:
    """What a person reads: no scripts, no tags, entities decoded."""
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def table(body: str, key: str) -> list[list[tuple[str, str | None]]]:
    """The rows of table #table-<key>: per cell (text, link or None)."""
    found = re.search(rf'<table[^>]*id="table-{re.escape(key)}".*?<tbody>(.*?)</tbody>', body, flags=re.S)
    assert found, key
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", found.group(1), flags=re.S):
        cells = []
        for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S):
            link = re.search(r'href="([^"]+)"', cell)
            cells.append((visible_text(cell).strip(), html.unescape(link.group(1)) if link else None))
        rows.append(cells)
    return rows


def number(text: str) -> float | None:
    """A Vietnamese-formatted number ("1.234", "12,5 %"); "–" is nothing."""
    text = text.replace("%", "").strip()
    if text in ("", "–"):
        return None
    return float(text.replace(".", "").replace(",", "."))


def queue_count(client, url: str) -> int:
    """The number of files the queue says its list holds; beyond the queue's cap ("more than 1,000") the files
    its pages list, walked to the end along the pager."""
    body = page(client, url)
    found = re.search(r'<p class="count">(.*?)</p>', body, flags=re.S)
    assert found, url
    said = visible_text(found.group(1))
    digits = re.search(r"\d[\d.,]*", said)
    if "Hơn" not in said and "More than" not in said:
        return int(digits.group(0).replace(".", "").replace(",", "")) if digits else 0
    seen: set[str] = set()
    link = url + "&per_page=200"
    while link:
        body = page(client, link)
        seen.update(re.findall(r'href="/applications/(\d+)[?"]', body))
        older = re.search(r'href="([^"]+)" rel="next"', body)
        link = older.group(1).replace("&amp;", "&") if older else None
    return len(seen)


def test_reports_open_at_the_top_unit_and_stay_within_scope(client, seeded):
    province, communes = seeded
    login(client, "tinh.pheduyet")
    assert client.get("/reports").headers["Location"].startswith(f"/reports/{province.id}")
    body = page(client, f"/reports/{province.id}")
    assert 'id="nav-reports"' in body and province.name in body

    login(client, "xa1.chihoi1")
    officer = db.session.scalar(select(User).where(User.username == "xa1.chihoi1"))
    branch = officer.grants[0].unit
    assert client.get("/reports").headers["Location"].startswith(f"/reports/{branch.id}")
    assert branch.name in page(client, f"/reports/{branch.id}")
    sibling = db.session.scalar(select(Unit).where(Unit.parent_id == branch.parent_id, Unit.id != branch.id))
    for outside in (branch.parent_id, province.id, sibling.id, communes[1].id):
        assert client.get(f"/reports/{outside}").status_code == 404
        assert client.get(f"/reports/{outside}/funnel.csv").status_code == 404
    assert "Tỉnh Bắc Ninh" not in visible_text(page(client, f"/reports/{branch.id}"))  # no trail above the grant

    other = build_other_province()
    login(client, "tinh.pheduyet")
    for outside in (other.province.id, other.communes[0].id, other.branch(0, 0).id):
        assert client.get(f"/reports/{outside}").status_code == 404
        assert client.get(f"/reports/{outside}/ranking.xlsx").status_code == 404
    assert client.get(f"/reports/{province.id}/nothing.csv").status_code == 404
    assert client.get("/reports/99999999").status_code == 404


def test_drill_down_province_commune_branch(client, seeded):
    province, communes = seeded
    login(client, "tinh.pheduyet")
    year = clock.today().year
    ranking = table(page(client, f"/reports/{province.id}?year={year}"), "ranking")
    linked = {link for row in ranking for _text, link in row[1:2]}
    assert {f"/reports/{c.id}?year={year}" for c in communes} == linked
    assert {row[1][0] for row in ranking} == {c.name for c in communes}

    commune_page = page(client, f"/reports/{communes[0].id}?year={year}")
    branches = list(db.session.scalars(select(Unit).where(Unit.parent_id == communes[0].id, Unit.level == "branch")))
    rows = table(commune_page, "ranking")
    assert {row[1][1] for row in rows} == {f"/reports/{b.id}?year={year}" for b in branches}
    assert f'href="/reports/{province.id}?year={year}"' in commune_page  # back up the trail

    branch_page = page(client, f"/reports/{branches[0].id}?year={year}")
    assert 'id="table-ranking"' not in branch_page  # a branch has nothing below it
    assert f'href="/reports/{communes[0].id}?year={year}"' in branch_page


def test_every_number_links_to_a_list_of_as_many_files(client, seeded):
    province, communes = seeded
    login(client, "tinh.pheduyet")
    cdht = db.session.scalar(select(Campaign).where(Campaign.title_code == "CDHT", Campaign.year == clock.today()
                                                    .year))
    body = page(client, f"/reports/{province.id}?campaign={cdht.id}")
    checked = 0
    for key in ("funnel", "headline", "ranking", "stages"):
        for row in table(body, key):
            for text, link in row:
                if link and link.startswith("/applications"):
                    assert "list=" in link, link
                    assert queue_count(client, link) == int(number(text)), (key, text, link)
                    checked += 1
    assert checked >= 12
    # the funnel equals a plain count of the campaign's files per state
    funnel = {row[0][0]: int(number(row[1][0])) for row in table(body, "funnel")}
    assert sum(funnel.values()) == db.session.scalar(select(func.count()).select_from(Application)
                                                     .where(Application.campaign_id == cdht.id))


def test_csv_and_xlsx_carry_the_page_numbers(client, seeded):
    province, _communes = seeded
    login(client, "tinh.pheduyet")
    year = clock.today().year
    body = page(client, f"/reports/{province.id}?year={year}")
    for key in ("headline", "coverage-years", "ranking", "funnel", "weekly", "stages", "lateness"):
        shown = [[number(t) if re.fullmatch(r"[\d.,]+( %)?|–", t) else t for t, _l in row]
                 for row in table(body, key)]
        csv_response = client.get(f"/reports/{province.id}/{key}.csv?year={year}")
        assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
        assert "attachment" in csv_response.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
        xlsx = client.get(f"/reports/{province.id}/{key}.xlsx?year={year}")
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.data)).active
        cells = [list(r) for r in sheet.iter_rows(min_row=2, max_row=len(rows), values_only=True)]
        assert len(rows) - 1 == len(shown) == len(cells), key
        for page_row, csv_row, xl_row in zip(shown, rows[1:], cells, strict=True):
            for shown_value, csv_value, xl_value in zip(page_row, csv_row, xl_row, strict=True):
                if isinstance(shown_value, float) or shown_value is None:
                    want = shown_value
                    assert (float(csv_value) if csv_value != "" else None) == want, (key, page_row, csv_row)
                    assert (float(xl_value) if xl_value not in (None, "") else None) == want, (key, xl_row)
                else:
                    assert csv_value.lstrip("'") == shown_value and str(xl_value).lstrip("'") == shown_value


def test_pages_show_names_and_say_what_they_count_never_codes(client, seeded):
    province, communes = seeded
    login(client, "tinh.pheduyet")
    branch = db.session.scalar(select(Unit).where(Unit.level == "branch").order_by(Unit.id))
    for unit in (province, communes[0], branch):
        body = page(client, f"/reports/{unit.id}")
        text = visible_text(body)
        for code in ("cdht_coverage", "xht_share", "digital_skills", "evidence_collection", "commune_appraisal",
                     "final_approval", "recognised", "late_recognised", "QD677", branch.code, communes[0].code,
                     "None", "nan"):
            assert code not in text, (unit.name, code)
        assert "trên số người từ 15 tuổi trở lên" in text  # what the coverage figure counts (indicators.json)
        assert re.search(r"<caption[^>]*>", body) and 'type="application/json"' in body
        assert "chart.umd.min.js" in body and "cdn" not in body.lower()
    client.get("/lang/en")
    english = visible_text(page(client, f"/reports/{province.id}"))
    assert "Headline figures" in english and "Share of people aged 15 and over" in english
    vendored = client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert vendored.status_code == 200 and b"Chart.js v4" in vendored.data[:200]


def test_home_shows_the_headline_figures_to_provincial_and_commune_officers(client, seeded):
    province, communes = seeded
    for username, unit in (("tinh.pheduyet", province), ("xa1.thamdinh", communes[0])):
        login(client, username)
        body = page(client, "/")
        assert 'id="home-headline"' in body and f'href="/reports/{unit.id}"' in body, username
        assert 'data-fragment="/reports/headline"' in body  # the figures come apart, the page does not wait
        figures = page(client, "/reports/headline")
        assert "Công dân học tập" in visible_text(figures) and f'href="/reports/{unit.id}"' in figures
    login(client, "xa1.chihoi1")
    assert 'id="home-headline"' not in page(client, "/")
    assert client.get("/reports/headline").status_code == 404  # a branch officer has no headline unit


def test_the_demo_has_two_previous_years_of_history(app, runner, seeded):
    year = clock.today().year
    counts = dict(db.session.execute(
        select(Campaign.year, func.count(Application.id)).join(Application, Application.campaign_id == Campaign.id)
        .where(Campaign.title_code == "CDHT").group_by(Campaign.year)).all())
    assert set(counts) == {year - 2, year - 1, year}
    assert 300 <= counts[year - 2] < counts[year - 1] <= 5000
    for back in (1, 2):
        states = dict(db.session.execute(
            select(Application.state, func.count()).join(Campaign, Campaign.id == Application.campaign_id)
            .where(Campaign.year == year - back, Campaign.title_code == "CDHT").group_by(Application.state)).all())
        assert states["revoked"] > 0 and states["rejected"] > 0
        assert 0.75 < states["recognised"] / sum(states.values()) < 0.95
        assert set(states) <= {"recognised", "revoked", "rejected", "withdrawn"}  # closed campaigns
    assert db.session.scalar(select(func.count()).select_from(Campaign).where(Campaign.year < year,
                                                                             Campaign.closed_at.is_(None))) == 0
    result = runner.invoke(args=["summary", "check"])
    assert result.exit_code == 0, result.output


def test_the_demo_history_gives_the_coverage_chart_a_trend(app, seeded):
    assert_trend(seeded[0])


@pytest.mark.parametrize("moment", ["2026-12-20 09:00:00+07:00", "2027-03-15 09:00:00+07:00"])
def test_the_demo_trend_holds_whenever_it_is_seeded(app, time_machine, moment):
    """Seeded a few days after the 15/12 report (last year's decisions still hold) or early in a year."""
    time_machine.move_to(moment, tick=True)
    demo.seed(PASSWORD, current_app.config["UPLOAD_DIR"])
    db.session.commit()
    assert_trend(db.session.scalar(select(Unit).where(Unit.level == "province")))


def assert_trend(province: Unit) -> None:
    from workflow.authz import actor_of
    from workflow.reports import indicators

    year = clock.today().year
    me = actor_of(db.session.scalar(select(User).where(User.username == "tinh.pheduyet")))
    figures = {f.year: f for f in indicators.coverage_by_year(me, province, [year - 2, year - 1, year])}
    for back in (2, 1):  # decided in December: on 31/12 the year's own recognitions hold, the year before's expired
        recognised = db.session.scalar(
            select(func.count()).select_from(Application).join(Campaign, Campaign.id == Application.campaign_id)
            .where(Campaign.year == year - back, Campaign.title_code == "CDHT", Application.state == "recognised"))
        assert figures[year - back].numerator == recognised
        assert figures[year - back].denominator and figures[year - back].value is not None
    assert 0 < figures[year - 2].value < figures[year - 1].value
    assert figures[year].numerator >= figures[year - 1].numerator  # last year's holders still hold today


def test_a_past_year_is_counted_on_its_last_day_with_its_own_campaign(client, seeded):
    province, _communes = seeded
    login(client, "tinh.pheduyet")
    last = clock.today().year - 1
    body = page(client, f"/reports/{province.id}?year={last}")
    text = visible_text(body)
    assert f"31/12/{last}" in text and f"Công dân học tập năm {last}" in text
    campaign = db.session.scalar(select(Campaign).where(Campaign.title_code == "CDHT", Campaign.year == last))
    funnel = {row[0][0]: int(number(row[1][0])) for row in table(body, "funnel")}
    assert sum(funnel.values()) == db.session.scalar(select(func.count()).select_from(Application)
                                                     .where(Application.campaign_id == campaign.id))
    for key in ("stages", "ranking"):  # the history's counts (bulk-inserted, triggers on) equal their lists too
        for row in table(body, key):
            for shown, link in row:
                if link and link.startswith("/applications"):
                    assert queue_count(client, link) == int(number(shown)), (key, shown, link)
    assert "Số liệu mẫu (demo)" in text  # the demo's denominators say so
    assert "677/QĐ-TTg" in text and "Kế hoạch xây dựng xã hội học tập tỉnh Bắc Ninh" in text  # the plans cited
    # a campaign asked for that lies after the year shown gives way to the year's own
    current = db.session.scalar(select(Campaign).where(Campaign.title_code == "CDHT",
                                                       Campaign.year == clock.today().year))
    again = page(client, f"/reports/{province.id}?year={last}&campaign={current.id}")
    assert f"Công dân học tập năm {last}" in visible_text(again)


def test_a_district_approver_reports_on_the_district(client, world3):
    from .factories import PASSWORD as WORLD_PASSWORD

    client.post("/login", data={"username": world3.approver.username, "password": WORLD_PASSWORD})
    assert client.get("/reports").headers["Location"].startswith(f"/reports/{world3.district.id}")
    body = page(client, f"/reports/{world3.district.id}")
    assert {row[1][0] for row in table(body, "ranking")} == {c.name for c in world3.communes}
    assert client.get(f"/reports/{world3.province.id}").status_code == 404
    assert 'id="home-headline"' in page(client, "/")
