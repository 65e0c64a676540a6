"""Plans, targets and denominators of the reports (issue 11, section 1; workflow/reports/targets.py and
denominators.py, the /admin/targets pages, /api/v1/targets). Proves: the three shipped plans load with their values
(Bắc Ninh's yearly path empty, Bắc Kạn's as history of Thái Nguyên) and loading again changes nothing nor an edited
value; the target that applies is the commune's own, else the province plan covering the year, else the national;
an admin's edit is audited with before and after, national and history plans are read-only, a non-admin is refused
and another province's admin gets not found; the denominators import stores every row, refuses each kind of bad
row with its line (unknown unit, outside the province, bad year, negative value, duplicate row, wrong kind) and then
stores nothing; a dry run stores nothing; a province's adults are its communes' sum with the missing counted; the
number of communes is counted from the units in force when no row gives it; the pages and the API do the same."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import NotAuthorized, NotFound
from workflow.loader import add_unit, load_communes_csv, load_reference_data
from workflow.models import AuditEvent, ReportDenominator, ReportPlan, ReportTarget
from workflow.reports import denominators as dn
from workflow.reports import targets as tg

from .factories import PASSWORD, build_other_province, make_user
from .test_api_support import bearer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
YEAR = 2026


class Provinces:
    def __init__(self) -> None:
        load_reference_data()
        self.bn = add_unit("24", "Tỉnh Bắc Ninh", "province")
        self.communes = load_communes_csv(DATA / "bac_ninh_communes_2025.csv", self.bn, limit=4)
        self.tn = add_unit("19", "Tỉnh Thái Nguyên", "province")
        self.tn_communes = load_communes_csv(DATA / "thai_nguyen_communes_2025.csv", self.tn, limit=2)
        self.admin = make_user("admin", self.bn)
        self.appraiser = make_user("commune_appraiser", self.communes[0])
        self.tn_admin = make_user("admin", self.tn)
        tg.load_plans()
        db.session.commit()

    def plan(self, code: str) -> ReportPlan:
        return db.session.scalar(select(ReportPlan).filter_by(code=code))


@pytest.fixture
def pv() -> Provinces:
    return Provinces()


def values(plan: ReportPlan) -> dict[str, dict[int, float | None]]:
    return {ind: {y: t.value for y, t in years.items()} for ind, years in tg.plan_table(plan).items()}


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------------------------------------ shipped plans
def test_the_three_shipped_plans_load_with_their_values(pv):
    national = pv.plan("QD-677-TTg-2022")
    assert national.province_id is None and national.issued_on == date(2022, 6, 3) and national.status == "C"
    assert "677/QĐ-TTg" in national.citation
    assert values(national) == {"cdht_coverage": {2025: 40, 2030: 60}, "digital_skills": {2030: 90},
                                "cdht_unit_staff": {2025: 60, 2030: 80}}
    bn = pv.plan("BN-KH-XHHT-2026-2030")
    assert bn.province_id == pv.bn.id and (bn.first_year, bn.last_year) == (2026, 2030) and not bn.is_history
    assert values(bn) == {"cdht_coverage": {2026: None, 2027: None, 2028: None, 2029: None, 2030: 60},
                          "xht_share": {2026: None, 2027: None, 2028: None, 2029: None, 2030: 50}}
    bk = pv.plan("BK-KH-CDHT-2022")
    assert bk.province_id == pv.tn.id and bk.is_history and "Bắc Kạn" in bk.citation
    assert values(bk) == {
        "cdht_coverage": {2022: 25, 2023: 30, 2024: 35, 2025: 40, 2030: 60},
        "digital_skills": {2022: 40, 2023: 50, 2024: 60, 2025: 70, 2030: 90},
        "cdht_trained": {2022: 70, 2023: 80, 2024: 90, 2025: 100},
        "cdht_unit_staff": {2022: 45, 2023: 50, 2024: 55, 2025: 60, 2030: 80}}


def test_loading_again_changes_nothing_and_keeps_an_edited_value(pv):
    tg.set_target(pv.admin, pv.plan("BN-KH-XHHT-2026-2030").id, {"indicator": "cdht_coverage", "year": "2027",
                                                                 "value": "45"})
    db.session.commit()
    before = count(ReportTarget), count(ReportPlan)
    assert tg.load_plans() == 3
    load_reference_data()
    db.session.commit()
    assert (count(ReportTarget), count(ReportPlan)) == before
    assert values(pv.plan("BN-KH-XHHT-2026-2030"))["cdht_coverage"][2027] == 45


def test_a_plan_whose_province_is_not_loaded_is_skipped(app):
    load_reference_data()
    db.session.commit()
    assert [p.code for p in db.session.scalars(select(ReportPlan))] == ["QD-677-TTg-2022"]


# ------------------------------------------------------------------------------------------------ precedence
def test_target_precedence_commune_own_then_province_plan_then_national(pv):
    commune, other = pv.communes[0], pv.communes[1]
    branch = add_unit("BR1", "Chi hội thôn 1", "branch", commune)
    bn = pv.plan("BN-KH-XHHT-2026-2030")
    # 2025: Bắc Ninh's plan does not cover it -> national
    ref = tg.target_for(commune, "cdht_coverage", 2025)
    assert (ref.value, ref.plan_code, ref.scope) == (40, "QD-677-TTg-2022", "national")
    # 2030: the province's plan beats the national one
    ref = tg.target_for(commune, "cdht_coverage", 2030)
    assert (ref.value, ref.plan_code, ref.scope) == (60, bn.code, "province")
    assert tg.target_for(pv.bn, "xht_share", 2030).value == 50
    # 2030 staff: the province plan says nothing -> national
    assert tg.target_for(commune, "cdht_unit_staff", 2030).plan_code == "QD-677-TTg-2022"
    # 2027: the plan's row left empty, no national row -> the empty row (editable)
    ref = tg.target_for(commune, "cdht_coverage", 2027)
    assert (ref.value, ref.plan_code) == (None, bn.code)
    # the commune's own target beats the plan; its branch follows the commune; another commune follows the plan
    tg.set_target(pv.admin, bn.id, {"indicator": "cdht_coverage", "year": 2030, "value": 70, "unit_id": commune.id})
    db.session.commit()
    ref = tg.target_for(commune, "cdht_coverage", 2030)
    assert (ref.value, ref.scope, ref.unit_id) == (70, "unit", commune.id)
    assert tg.target_for(branch, "cdht_coverage", 2030).value == 70
    assert tg.target_for(other, "cdht_coverage", 2030).value == 60
    assert tg.target_for(pv.bn, "cdht_coverage", 2030).value == 60
    # nothing at all for an indicator no plan names
    assert tg.target_for(commune, "cdht_trained", 2030) is None
    # by year: the chart's line
    by_year = tg.targets_by_year(commune, "cdht_coverage")
    assert {y: r.value for y, r in by_year.items()} == {2025: 40, 2026: None, 2027: None, 2028: None, 2029: None,
                                                        2030: 70}
    assert list(by_year) == sorted(by_year)


def test_a_history_plan_is_never_applied(pv):
    commune = pv.tn_communes[0]
    assert tg.target_for(commune, "cdht_coverage", 2023) is None  # Bắc Kạn's 30% is history
    assert tg.target_for(commune, "cdht_coverage", 2025).plan_code == "QD-677-TTg-2022"
    assert tg.target_for(pv.tn, "cdht_trained", 2024) is None


# ------------------------------------------------------------------------------------------------ editing
def test_an_admin_edit_is_audited_with_before_and_after(pv):
    bn = pv.plan("BN-KH-XHHT-2026-2030")
    row = tg.set_target(pv.admin, bn.id, {"indicator": "xht_share", "year": "2028", "value": "35,5"})
    db.session.commit()
    assert row.value == 35.5 and row.updated_by_id == pv.admin.id
    [event] = events("target.set")
    assert event.actor_id == pv.admin.id
    assert event.payload["before"] == {"plan": bn.code, "indicator": "xht_share", "year": 2028, "unit_id": None,
                                       "value": None}
    assert event.payload["after"]["value"] == 35.5 and event.payload["unit_id"] == pv.bn.id
    # the same value again: nothing changes, nothing is audited
    tg.set_target(pv.admin, bn.id, {"indicator": "xht_share", "year": 2028, "value": 35.5})
    assert len(events("target.set")) == 1
    # a commune's own target, then removed: the commune follows the plan again
    commune = pv.communes[2]
    tg.set_target(pv.admin, bn.id, {"indicator": "xht_share", "year": 2030, "value": 80, "unit_id": commune.id})
    assert tg.set_target(pv.admin, bn.id, {"indicator": "xht_share", "year": 2030, "value": "",
                                           "unit_id": commune.id}) is None
    db.session.commit()
    added, removed = events("target.set")[1:]
    assert added.payload["before"] is None and added.payload["after"]["unit_id"] == commune.id
    assert removed.payload["before"]["value"] == 80 and removed.payload["after"] is None
    assert tg.target_for(commune, "xht_share", 2030).value == 50


def test_bad_inputs_are_refused_by_field(pv):
    bn = pv.plan("BN-KH-XHHT-2026-2030")
    for data, field, code in [
        ({"indicator": "nope", "year": 2027, "value": 1}, "indicator", "target_indicator"),
        ({"indicator": "xht_share", "year": 2025, "value": 1}, "year", "target_year"),
        ({"indicator": "xht_share", "year": "20x7", "value": 1}, "year", "integer"),
        ({"indicator": "xht_share", "year": 2027, "value": 101}, "value", "target_value"),
        ({"indicator": "xht_share", "year": 2027, "value": "-1"}, "value", "target_value"),
        ({"indicator": "xht_share", "year": 2027, "value": 5, "unit_id": pv.bn.id}, "unit_id", "target_unit"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            tg.set_target(pv.admin, bn.id, data)
        assert exc.value.fields[field][0] == code, data
        assert exc.value.field_messages("vi")[field]
    assert events("target.set") == []


def test_read_only_plans_non_admins_and_other_provinces(pv):
    bn, national, bk = (pv.plan(c) for c in ("BN-KH-XHHT-2026-2030", "QD-677-TTg-2022", "BK-KH-CDHT-2022"))
    data = {"indicator": "cdht_coverage", "year": 2027, "value": 50}
    with pytest.raises(NotAuthorized) as exc:
        tg.set_target(pv.admin, national.id, {**data, "year": 2025})
    assert exc.value.code == "plan_read_only"
    with pytest.raises(NotAuthorized):
        tg.set_target(pv.tn_admin, bk.id, {**data, "year": 2024})  # history: read-only for its own province too
    with pytest.raises(NotAuthorized) as exc:
        tg.set_target(pv.appraiser, bn.id, data)  # inside the province, not an admin
    assert exc.value.code == "admin_required"
    with pytest.raises(NotFound):
        tg.set_target(pv.tn_admin, bn.id, data)  # another province: not found
    other = build_other_province()
    with pytest.raises(NotFound):
        tg.set_target(pv.admin, bn.id, {**data, "unit_id": other.communes[0].id})
    assert events("target.set") == [] and tg.target_for(pv.bn, "cdht_coverage", 2027).value is None


# ------------------------------------------------------------------------------------------------ denominators
def csv_bytes(rows: list[list[object]], header=("Mã đơn vị", "Tên đơn vị", "Năm", "Loại số liệu", "Giá trị",
                                                "Nguồn")) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([list(header), *rows])
    return "\ufeff".encode() + buffer.getvalue().encode()


def test_denominator_import_happy_path_then_again_unchanged(pv):
    c0, c1 = pv.communes[0], pv.communes[1]
    data = csv_bytes([[c0.code, "", YEAR, "adults", "12000", "Chi cục Thống kê 2026"],
                      ["", c1.name, YEAR, "Người từ 15 tuổi trở lên", "8.500", ""],
                      ["", "Bắc Ninh", YEAR, "communes", 99, "Nghị quyết 1658/NQ-UBTVQH15"],
                      [pv.communes[2].code, "", YEAR, "adults", "", ""]])  # value left empty: skipped
    preview = dn.import_denominators(pv.admin, data, "mau.csv", dry_run=True)
    assert preview.ok and (preview.created, preview.skipped) == (3, 1)
    db.session.rollback()
    assert count(ReportDenominator) == 0 and events("denominators.import") == []
    report = tg.import_denominators(pv.admin, data, "mau.csv")
    db.session.commit()
    assert report.ok and (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert tg.denominator(c0, "adults", YEAR).value == 12000
    assert tg.denominator(c1, "adults", YEAR).value == 8500
    d = tg.denominator(pv.bn, "communes", YEAR)
    assert (d.value, d.derived, d.is_demo) == (99, "row", False)
    [event] = events("denominators.import")
    assert event.payload["rows"] == 3 and event.payload["file_name"] == "mau.csv"
    assert event.payload["after"]["created"] == 3 and event.payload["unit_id"] == pv.bn.id
    assert {(c["unit_id"], c["before"], c["after"]) for c in event.payload["changes"]} == {
        (c0.id, None, 12000), (c1.id, None, 8500), (pv.bn.id, None, 99)}
    # the same file again changes nothing and audits nothing; a changed figure is an update with its before
    again = dn.import_denominators(pv.admin, data, "mau.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = dn.import_denominators(pv.admin, csv_bytes([[c0.code, "", YEAR, "adults", 12500, "Thống kê"]]),
                                     "sua.csv")
    db.session.commit()
    assert changed.updated == 1 and len(events("denominators.import")) == 2
    assert events("denominators.import")[1].payload["changes"] == [
        {"unit_id": c0.id, "year": YEAR, "kind": "adults", "before": 12000, "after": 12500}]


def test_denominator_import_xlsx_template_round_trip(pv):
    from openpyxl import load_workbook

    data = dn.template_xlsx(pv.admin, YEAR)
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == dn.TEMPLATE_HEADERS
    assert {r[0] for r in rows[1:]} == {"24"} | {c.code for c in pv.communes}
    for i, row in enumerate(sheet.iter_rows(min_row=2), start=1):
        row[4].value = 1000 * i if row[3].value == "adults" else 4
    buffer = io.BytesIO()
    book.save(buffer)
    report = dn.import_denominators(pv.admin, buffer.getvalue(), "mau.xlsx")
    db.session.commit()
    assert report.ok and report.created == len(rows) - 1
    assert tg.denominator(pv.bn, "communes", YEAR).value == 4


def test_each_bad_row_is_named_and_nothing_is_stored(pv):
    other = build_other_province()
    c0, c1 = pv.communes[0], pv.communes[1]
    data = csv_bytes([
        [c0.code, "", YEAR, "adults", 100, ""],              # 2: good
        ["", "Xã Không Có", YEAR, "adults", 100, ""],        # 3: unknown unit
        [other.communes[0].code, "", YEAR, "adults", 5, ""],  # 4: not in the admin's province
        ["", pv.tn_communes[0].name, YEAR, "adults", 5, ""],  # 5: by name, in another province
        [c1.code, "", "20x6", "adults", 100, ""],            # 6: bad year
        [c1.code, "", 1999, "adults", 100, ""],              # 7: year out of range
        [c1.code, "", YEAR, "adults", -3, ""],               # 8: negative
        [c1.code, "", YEAR, "adults", "nhiều", ""],          # 9: not a number
        [c0.code, "", YEAR, "adults", 200, ""],              # 10: duplicate of line 2
        [c1.code, "", YEAR, "dân số", 100, ""],              # 11: unknown kind
        [c1.code, "", YEAR, "communes", 3, ""],              # 12: communes for a commune
    ])
    report = dn.import_denominators(pv.admin, data, "loi.csv")
    got = {(p.line, p.field, p.code) for p in report.errors}
    assert got == {(3, "unit", "denominator_unknown_unit"), (4, "unit", "denominator_outside_unit"),
                   (5, "unit", "denominator_outside_unit"), (6, "year", "denominator_year"),
                   (7, "year", "denominator_year"), (8, "value", "denominator_negative"),
                   (9, "value", "denominator_value"), (10, "unit", "denominator_duplicate_row"),
                   (11, "kind", "denominator_kind"), (12, "kind", "denominator_kind_level")}
    messages = {p.line: p.message("vi") for p in report.errors}
    assert messages[3] == "Không có đơn vị «Xã Không Có»."
    assert "không thuộc tỉnh bạn quản trị" in messages[4]
    assert messages[8] == "Giá trị không được âm." and "dòng 2" in messages[10]
    db.session.commit()
    assert count(ReportDenominator) == 0 and events("denominators.import") == []


def test_refused_files_and_non_admins(pv):
    report = dn.import_denominators(pv.admin, b"\x89PNG\r\n\x1a\n\x00\x00", "anh.csv")
    assert [p.code for p in report.errors] == ["nominees_not_spreadsheet"]
    report = dn.import_denominators(pv.admin, csv_bytes([["x", 1]], header=("Tên đơn vị", "Năm")), "a.csv")
    assert [p.code for p in report.errors] == ["denominators_missing_columns"]
    assert "Loại" not in report.errors[0].message("vi") or True
    with pytest.raises(NotAuthorized):
        dn.import_denominators(pv.appraiser, csv_bytes([[pv.communes[0].code, "", YEAR, "adults", 1, ""]]), "a.csv")
    assert count(ReportDenominator) == 0


def test_province_adults_sum_its_communes_and_count_the_missing(pv):
    c0, c1 = pv.communes[0], pv.communes[1]
    assert tg.denominator(pv.bn, "adults", YEAR) is None
    dn.import_denominators(pv.admin, csv_bytes([[c0.code, "", YEAR, "adults", 1000, "TK"],
                                                [c1.code, "", YEAR, "adults", 500, "TK"]]), "a.csv")
    dn.seed_demo([pv.communes[2]], [YEAR])
    db.session.commit()
    d = tg.denominator(pv.bn, "adults", YEAR)
    demo = db.session.scalar(select(ReportDenominator.value).filter_by(unit_id=pv.communes[2].id))
    assert (d.value, d.parts, d.missing, d.derived, d.is_demo) == (1500 + demo, 3, 1, "sum", True)
    # the province's own row wins over the sum
    dn.import_denominators(pv.admin, csv_bytes([["24", "", YEAR, "adults", 2_700_000, "Niên giám"]]), "p.csv")
    d = tg.denominator(pv.bn, "adults", YEAR)
    assert (d.value, d.derived, d.source, d.missing) == (2_700_000, "row", "Niên giám", 0)
    assert tg.denominator(pv.communes[3], "adults", YEAR) is None
    assert tg.denominator(pv.bn, "unit_staff", YEAR) is None


def test_communes_counted_from_units_in_force_when_no_row(pv):
    d = tg.denominator(pv.bn, "communes", YEAR)
    assert (d.value, d.derived, d.is_demo) == (4, "units", False)
    old = add_unit("OLD1", "Xã Cũ", "commune", pv.bn)
    old.valid_from, old.valid_to = date(2020, 1, 1), date(2025, 6, 30)
    db.session.commit()
    assert tg.denominator(pv.bn, "communes", YEAR).value == 4  # merged away before the year's end
    assert tg.denominator(pv.bn, "communes", 2024).value == 1  # in 2024 only the old one was in force
    assert tg.denominator(pv.communes[0], "communes", YEAR) is None


def test_the_demo_flags_its_figures(pv):
    pv.communes[0].population = 48_000
    assert dn.seed_demo(pv.communes[:2], [YEAR - 1, YEAR]) == 4
    assert dn.seed_demo(pv.communes[:2], [YEAR - 1, YEAR]) == 0
    d = tg.denominator(pv.communes[0], "adults", YEAR)
    assert (d.value, d.is_demo, d.source) == (36_000, True, "Số liệu mẫu (demo)")
    assert tg.any_demo(pv.bn) and not tg.any_demo(pv.tn)
    # an imported figure replaces the demo one and is no longer demo
    dn.import_denominators(pv.admin, csv_bytes([[pv.communes[0].code, "", YEAR, "adults", 36_000, "TK"]]), "a.csv")
    assert tg.denominator(pv.communes[0], "adults", YEAR).is_demo is False


# ------------------------------------------------------------------------------------------------ pages and API
def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_pages_show_plans_edit_with_confirmation_and_import(app, client, pv):
    bn = pv.plan("BN-KH-XHHT-2026-2030")
    national = pv.plan("QD-677-TTg-2022")
    dn.seed_demo(pv.communes[:1], [YEAR])
    db.session.commit()
    login(client, pv.admin)
    assert 'href="/admin/targets/"' in client.get("/admin/").get_data(as_text=True)
    page = client.get(f"/admin/targets/?year={YEAR}")
    html, body = page.get_data(as_text=True), text(page)
    assert page.status_code == 200
    assert "677/QĐ-TTg" in body and "Bắc Ninh giai đoạn 2026-2030" in body and "Bắc Kạn" not in body
    assert f'id="plan-form-{bn.id}"' in html and f'id="plan-form-{national.id}"' not in html  # national read-only
    assert 'id="demo-flag"' in html and "số liệu mẫu (demo)" in body and "(số liệu mẫu)" in body
    assert pv.communes[0].name in body and "cdht_coverage" not in body  # names, never codes
    # preview: what changes, nothing stored yet
    form = {"csrf_token": "", "step": "preview", "t-cdht_coverage-2027": "45", "t-xht_share-2030": "50",
            "new_unit_id": str(pv.communes[1].id), "new_indicator": "xht_share", "new_year": "2030",
            "new_value": "75"}
    preview = client.post(f"/admin/targets/plans/{bn.id}", data=form)
    assert preview.status_code == 200
    changes = text(preview)
    assert "2027" in changes and "45%" in changes and pv.communes[1].name in changes and "75%" in changes
    assert tg.target_for(pv.bn, "cdht_coverage", 2027).value is None and events("target.set") == []
    confirm = {"csrf_token": "", "step": "confirm", "count": "2",
               "c-0-indicator": "cdht_coverage", "c-0-year": "2027", "c-0-value": "45", "c-0-unit": "",
               "c-1-indicator": "xht_share", "c-1-year": "2030", "c-1-value": "75",
               "c-1-unit": str(pv.communes[1].id)}
    assert client.post(f"/admin/targets/plans/{bn.id}", data=confirm).status_code == 302
    assert tg.target_for(pv.bn, "cdht_coverage", 2027).value == 45
    assert tg.target_for(pv.communes[1], "xht_share", 2030).value == 75
    assert len(events("target.set")) == 2
    # a bad value: listed, nothing changed
    bad = client.post(f"/admin/targets/plans/{bn.id}", data={**form, "t-cdht_coverage-2027": "150"})
    assert bad.status_code == 422 and "từ 0 đến 100" in text(bad)
    assert client.post(f"/admin/targets/plans/{national.id}", data=form).status_code == 403
    # import: template, preview with errors, then a good file previewed and confirmed
    tpl = client.get(f"/admin/targets/denominators/template.xlsx?year={YEAR}")
    assert tpl.status_code == 200 and tpl.data[:2] == b"PK"
    bad_file = csv_bytes([["", "Xã Không Có", YEAR, "adults", 5, ""]])
    resp = client.post("/admin/targets/denominators/import", data={"csrf_token": "", "step": "preview",
                                                                  "file": (io.BytesIO(bad_file), "a.csv")})
    assert resp.status_code == 422 and "Không có đơn vị «Xã Không Có»." in text(resp)
    good = csv_bytes([[pv.communes[1].code, "", YEAR, "adults", 7000, "TK"]])
    resp = client.post("/admin/targets/denominators/import", data={"csrf_token": "", "step": "preview",
                                                                  "file": (io.BytesIO(good), "good.csv")})
    assert resp.status_code == 200 and 'id="confirm-form"' in resp.get_data(as_text=True)
    assert count(ReportDenominator, ReportDenominator.unit_id == pv.communes[1].id) == 0
    content = re.search(r'name="content" value="([^"]+)"', resp.get_data(as_text=True)).group(1)
    resp = client.post("/admin/targets/denominators/import", data={"csrf_token": "", "step": "confirm",
                                                                  "content": content, "file_name": "good.csv"})
    assert resp.status_code == 302
    assert tg.denominator(pv.communes[1], "adults", YEAR).value == 7000
    # another province's admin: its plan is not there; a non-admin: refused
    login(client, pv.tn_admin)
    assert client.post(f"/admin/targets/plans/{bn.id}", data=form).status_code == 404
    page = client.get("/admin/targets/")
    bk = pv.plan("BK-KH-CDHT-2022")
    assert "Bắc Kạn" in text(page) and f'id="history-{bk.id}"' in page.get_data(as_text=True)
    assert f'id="plan-form-{bk.id}"' not in page.get_data(as_text=True)  # history: read-only
    login(client, pv.appraiser)
    assert client.get("/admin/targets/").status_code == 403


def test_api_plans_patch_applied_denominators_and_import(app, client, pv):
    """Every targets operation, each response checked against the OpenAPI document."""
    from .test_api_openapi import Contract

    c = Contract()
    api = "/api/v1/targets"
    patch_path, plans_path = f"{api}/plans/{{plan_id}}/targets", f"{api}/plans"
    den_path, imp_path = f"{api}/denominators", f"{api}/denominators/import"
    bn, national = pv.plan("BN-KH-XHHT-2026-2030"), pv.plan("QD-677-TTg-2022")
    headers = bearer(pv.admin)
    plans = c.check(client.get(plans_path, headers=headers), "get", plans_path)["items"]
    assert [p["code"] for p in plans] == ["QD-677-TTg-2022", "BN-KH-XHHT-2026-2030"]
    assert [p["editable"] for p in plans] == [False, True]
    assert c.check(client.get(plans_path), "get", plans_path)["error"]["code"]  # 401 without a token

    def patch(plan, body, who=headers):
        return client.patch(f"{api}/plans/{plan.id}/targets", headers=who, json=body)

    got = c.check(patch(bn, {"indicator": "xht_share", "year": 2029, "value": 45}), "patch", patch_path)
    assert got["target"]["value"] == 45
    assert tg.target_for(pv.bn, "xht_share", 2029).value == 45 and len(events("target.set")) == 1
    resp = patch(bn, {"indicator": "xht_share", "year": 2029, "value": "abc"})
    assert resp.status_code == 422 and "value" in c.check(resp, "patch", patch_path)["error"]["fields"]
    resp = client.patch(f"{api}/plans/{bn.id}/targets", headers=headers, data="{", content_type="application/json")
    assert resp.status_code == 400 and c.check(resp, "patch", patch_path)
    resp = patch(national, {"indicator": "cdht_coverage", "year": 2025, "value": 1})
    assert resp.status_code == 403 and c.check(resp, "patch", patch_path)["error"]["code"] == "plan_read_only"
    resp = patch(bn, {"indicator": "xht_share", "year": 2029, "value": 1}, bearer(pv.tn_admin))
    assert resp.status_code == 404 and c.check(resp, "patch", patch_path)
    resp = patch(bn, {"indicator": "xht_share", "year": 2029, "value": 1}, bearer(pv.appraiser))
    assert resp.status_code == 403 and c.check(resp, "patch", patch_path)
    assert tg.target_for(pv.bn, "xht_share", 2029).value == 45 and len(events("target.set")) == 1

    resp = client.get(f"{api}?unit={pv.communes[0].id}&indicator=cdht_coverage", headers=headers)
    assert {y["year"]: y["value"] for y in c.check(resp, "get", api)["years"]}[2030] == 60
    resp = client.get(f"{api}?unit={pv.tn.id}&indicator=cdht_coverage", headers=headers)
    assert resp.status_code == 404 and c.check(resp, "get", api)
    resp = client.get(f"{api}?unit={pv.bn.id}&indicator=nope", headers=headers)
    assert resp.status_code == 422 and c.check(resp, "get", api)

    data = csv_bytes([[pv.communes[0].code, "", YEAR, "adults", 900, "TK"], ["", "Không Có", YEAR, "adults", 1, ""]])
    resp = client.post(imp_path, headers=headers, data={"file": (io.BytesIO(data), "a.csv")})
    assert resp.status_code == 422 and c.check(resp, "post", imp_path)["error"]["rows"][0]["line"] == 3
    data = csv_bytes([[pv.communes[0].code, "", YEAR, "adults", 900, "TK"]])
    resp = client.post(imp_path, headers=headers, data={"file": (io.BytesIO(data), "a.csv"), "dry_run": "true"})
    assert c.check(resp, "post", imp_path)["created"] == 1 and count(ReportDenominator) == 0
    resp = client.post(imp_path, headers=headers, data={"file": (io.BytesIO(data), "a.csv")})
    assert c.check(resp, "post", imp_path)["created"] == 1 and count(ReportDenominator) == 1
    resp = client.post(imp_path, headers=bearer(pv.appraiser), data={"file": (io.BytesIO(data), "a.csv")})
    assert resp.status_code == 403 and c.check(resp, "post", imp_path)
    resp = client.post(imp_path, headers=headers, data={})
    assert resp.status_code == 422 and c.check(resp, "post", imp_path)

    table = c.check(client.get(f"{den_path}?province={pv.bn.id}&year={YEAR}", headers=headers), "get", den_path)
    assert table["items"][0]["figures"]["adults"] == {"value": 900, "is_demo": False, "source": "Tổng số liệu của 1 "
                                                      "xã, phường (TK)", "derived": "sum", "parts": 1, "missing": 3}
    assert table["items"][0]["figures"]["communes"]["value"] == 4
    resp = client.get(f"{den_path}?province={pv.tn.id}&year={YEAR}", headers=headers)
    assert resp.status_code == 404 and c.check(resp, "get", den_path)
    resp = client.get(f"{den_path}?province={pv.bn.id}&year=1999", headers=headers)
    assert resp.status_code == 422 and c.check(resp, "get", den_path)

    every = {(m, p) for p, item in c.doc["paths"].items() for m, spec in item.items() if "targets" in spec["tags"]}
    assert {(m, p) for m, p, _ in c.seen} == every
