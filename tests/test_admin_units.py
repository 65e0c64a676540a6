"""Units administration (workflow/admin/units.py, the /admin/units pages, the `units import` command). Proves:
both official 2025 lists import (99 and 92 communes) with their kinds, codes (Thái Nguyên's made stable) and former
units; a second import changes nothing and says so; bad rows are named by line and nothing of the file is stored;
a dry run stores nothing; the demo's three communes are matched, not duplicated; an area class change with a
reason carries to the branches and to the pass mark, audited with before and after; an admin of another province
gets 404 and a non-admin 403; branches and villages are added by page and spreadsheet; villages are offered as
places of residence."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow import engine
from workflow.admin import units as ops
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import NotAuthorized, NotFound
from workflow.loader import load_communes_csv
from workflow.models import AuditEvent, Unit, UnitPredecessor

from .factories import PASSWORD, build_other_province, make_user, score_all, to_scoring

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BAC_NINH = DATA / "bac_ninh_communes_2025.csv"
THAI_NGUYEN = DATA / "thai_nguyen_communes_2025.csv"
HEADER = "gso_code,name,type,population,area_km2,former_units\n"


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def communes_of(province: Unit) -> list[Unit]:
    return db.session.scalars(select(Unit).where(Unit.parent_id == province.id, Unit.level == "commune")).all()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


# ------------------------------------------------------------------------------------------------ the real files
def test_bac_ninh_imports_99_communes_with_kinds_codes_and_former_units():
    report = ops.import_communes("Bắc Ninh", BAC_NINH.read_bytes(), None)
    db.session.commit()
    assert report.ok and (report.created, report.updated, report.unchanged) == (99, 0, 0)
    province = ops.find_province("bac ninh")
    assert province is not None and province.level == "province"
    communes = communes_of(province)
    assert len(communes) == 99
    assert sorted(c.kind for c in communes).count("xã") == 66 and [c.kind for c in communes].count("phường") == 33
    bac_giang = next(c for c in communes if c.code == "07210")
    assert bac_giang.name == "Phường Bắc Giang" and bac_giang.kind == "phường"
    assert str(bac_giang.valid_from) == "2025-07-01" and bac_giang.valid_to is None
    assert bac_giang.path == f"{province.path}{bac_giang.id}/"
    xuan_luong = next(c for c in communes if c.code == "07246")
    former = ops.predecessors(xuan_luong)
    assert [(f.former_kind, f.former_name, f.qualifier, f.partial) for f in former] == [
        ("xã", "Đồng Tiến", "huyện Yên Thế", False), ("xã", "Canh Nậu", None, False),
        ("xã", "Xuân Lương", None, False)]
    assert all(f.predecessor_id is None for f in former)  # matched later by the mergers' engineer
    assert count(UnitPredecessor) == 314
    assert len(events("unit.create")) == 100  # the province and each commune, one event each


def test_thai_nguyen_imports_92_communes_with_stable_codes_and_partial_units():
    report = ops.import_communes("Thái Nguyên", THAI_NGUYEN.read_bytes(), None)
    db.session.commit()
    assert report.ok and report.created == 92
    province = ops.find_province("Tỉnh Thái Nguyên")
    communes = communes_of(province)
    assert len(communes) == 92
    assert [c.kind for c in communes].count("xã") == 77 and [c.kind for c in communes].count("phường") == 15
    assert len({c.code for c in communes}) == 92 and all(c.code.startswith(province.code + "-") for c in communes)
    names = {c.name for c in communes}
    assert {"Xã Văn Lăng", "Xã Văn Lang"} <= names  # folding would have merged these two
    partial = db.session.scalars(select(UnitPredecessor).where(UnitPredecessor.partial)).all()
    assert len(partial) == 6 and {p.qualifier for p in partial} == {"một phần", "phần còn lại"}
    assert {p.former_name for p in partial} == {"Thượng Đình", "Gia Sàng", "Cam Giá"}
    codes = {c.name: c.code for c in communes}
    # the same file into a fresh database gives the same codes: they come from the names, not the row order
    again = ops.import_communes(province, THAI_NGUYEN.read_bytes(), None)
    assert again.unchanged == 92 and {c.name: c.code for c in communes_of(province)} == codes


def test_a_second_import_changes_nothing_and_says_so():
    ops.import_communes("Bắc Ninh", BAC_NINH.read_bytes(), None)
    db.session.commit()
    before = (count(Unit), count(UnitPredecessor), count(AuditEvent))
    report = ops.import_communes("Tỉnh Bắc Ninh", BAC_NINH.read_bytes(), None)
    db.session.commit()
    assert (report.created, report.updated, report.unchanged, report.changed) == (0, 0, 99, False)
    assert report.summary().startswith("Nothing to change")
    assert (count(Unit), count(UnitPredecessor), count(AuditEvent)) == before


def test_a_changed_row_is_updated_and_audited_with_before_and_after():
    ops.import_communes("Bắc Ninh", BAC_NINH.read_bytes(), None)
    db.session.commit()
    changed = BAC_NINH.read_text(encoding="utf-8").replace("07228,Đa Mai,phường,,,", "07228,Đa Mai,phường,41000,,", 1)
    report = ops.import_communes("Bắc Ninh", changed, None)
    db.session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 1, 98)
    unit = db.session.scalar(select(Unit).filter_by(code="07228"))
    assert unit.population == 41000
    event = events("unit.update")[-1]
    assert event.payload["before"]["population"] is None and event.payload["after"]["population"] == 41000


def test_bad_rows_are_reported_by_line_and_nothing_is_stored(world):
    content = (HEADER + "99001,Mới,xã,,,xã A; xã B\n"      # line 2: fine
               "99002,,xã,,,\n"                           # line 3: no name
               "99003,Lạ,thị xã,,,\n"                     # line 4: not a type after the reform
               "99001,Trùng,phường,,,\n"                  # line 5: code of line 2 again
               "99004,Số dân,xã,１２,,\n")                 # line 6: full-width digits are not a number
    before = (count(Unit), count(UnitPredecessor), count(AuditEvent))
    report = ops.import_communes(world.province, content, world.admin)
    problems = [(p.line, p.field, p.code) for p in report.errors]
    assert problems == [(3, "name", "empty"), (4, "type", "choice"), (5, "gso_code", "row_duplicate_code"),
                        (6, "population", "integer")]
    assert "dòng 2" in report.errors[2].message("vi") and "line 2" in report.errors[2].message("en")
    assert "xã" in report.errors[1].message("vi")  # the choices are named
    db.session.commit()
    assert (count(Unit), count(UnitPredecessor), count(AuditEvent)) == before


def test_a_code_held_by_another_unit_is_refused(world):
    other = build_other_province()
    content = HEADER + f"{other.communes[0].code},Bắc Sơn,xã,,,\n"
    report = ops.import_communes(world.province, content, world.admin)
    assert [(p.line, p.code) for p in report.errors] == [(2, "row_code_taken")]


def test_a_file_that_is_not_a_list_is_refused_whole(world):
    assert [p.code for p in ops.import_communes(world.province, b"\xff\xfe\x00garbage", world.admin).errors] == [
        "units_bad_file"]
    assert [p.code for p in ops.import_communes(world.province, "a,b\n1,2\n", world.admin).errors] == [
        "units_missing_columns"]


def test_dry_run_stores_nothing():
    report = ops.import_communes("Bắc Ninh", BAC_NINH.read_bytes(), None, dry_run=True)
    db.session.commit()
    assert report.ok and report.dry_run and report.created == 99 and report.province_created
    assert count(Unit) == 0 and count(AuditEvent) == 0 and count(UnitPredecessor) == 0


def test_the_demo_communes_are_matched_not_duplicated():
    from workflow.loader import add_unit

    province = add_unit("24", "Tỉnh Bắc Ninh", "province")  # as workflow/demo.py builds it
    demo = load_communes_csv(BAC_NINH, province, limit=3)
    demo_ids = {u.id: u.code for u in demo}
    db.session.commit()
    report = ops.import_communes("Bắc Ninh", BAC_NINH.read_bytes(), None)
    db.session.commit()
    assert (report.created, report.updated, report.unchanged) == (96, 0, 3)
    communes = communes_of(province)
    assert len(communes) == 99 and len({c.code for c in communes}) == 99
    assert {u.id: u.code for u in communes if u.id in demo_ids} == demo_ids


def test_the_cli_imports_prints_the_report_and_refuses_bad_files(runner, tmp_path):
    first = runner.invoke(args=["units", "import", str(THAI_NGUYEN), "--province", "Thái Nguyên", "--dry-run"])
    assert first.exit_code == 0 and "92 created" in first.output and "dry run" in first.output
    assert count(Unit) == 0
    stored = runner.invoke(args=["units", "import", str(THAI_NGUYEN), "--province", "Thái Nguyên"])
    assert stored.exit_code == 0 and "92 created" in stored.output
    again = runner.invoke(args=["units", "import", str(THAI_NGUYEN), "--province", "thai nguyen"])
    assert again.exit_code == 0 and "Nothing to change" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,type\nTân Cương,xã\n,xã\n", encoding="utf-8")
    refused = runner.invoke(args=["units", "import", str(bad), "--province", "Thái Nguyên"])
    assert refused.exit_code == 1 and "line 3" in refused.output
    assert count(Unit, Unit.level == "commune") == 92


# ------------------------------------------------------------------------------------------------ area class
TEN = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]


def test_area_class_change_needs_a_reason_carries_to_branches_and_the_pass_mark(world):
    commune = world.communes[0]
    app = world.new_cdht(0)
    to_scoring(app, world.officer(0))
    score_all(app, world.officer(0), dict.fromkeys(TEN, 7) | {"1.1": 9})  # 72: below 80, above 70
    db.session.commit()
    with pytest.raises(InvalidInput) as exc:
        ops.set_area_class(world.admin, commune, {"area_class": "disadvantaged", "reason": ""})
    assert exc.value.fields["reason"][0] == "empty"
    n = ops.set_area_class(world.admin, commune, {"area_class": "disadvantaged", "reason": "Xã vùng khó khăn"})
    db.session.commit()
    assert n == 3  # the commune and its two branches
    assert {b.area_class for b in world.branches[commune.id]} == {"disadvantaged"}
    event = events("unit.area_class")[-1]
    assert event.payload["before"] == {"area_class": "ordinary"}
    assert event.payload["after"] == {"area_class": "disadvantaged", "units": 3}
    assert event.reason == "Xã vùng khó khăn" and event.actor_id == world.admin.id
    db.session.refresh(app)
    assert engine.fire(app, "submit", world.officer(0)).to_state == "commune_appraisal"  # 72 >= 70
    assert ops.set_area_class(world.admin, commune, {"area_class": "disadvantaged", "reason": "again"}) == 0
    assert len(events("unit.area_class")) == 1


def test_area_class_back_to_ordinary_restores_the_mark_of_80(world):
    commune = world.communes[1]  # classed disadvantaged by the factory
    ops.set_area_class(world.admin, commune, {"area_class": "ordinary", "reason": "Hết diện khó khăn"})
    db.session.commit()
    app = world.new_cdht(1)
    to_scoring(app, world.officer(1))
    score_all(app, world.officer(1), dict.fromkeys(TEN, 7) | {"1.1": 9})
    db.session.commit()
    with pytest.raises(Exception) as exc:
        engine.fire(app, "submit", world.officer(1))
    assert getattr(exc.value, "code", None) == "total_below_pass" and exc.value.params["required"] == 80


def test_area_class_by_page_asks_for_confirmation(client, world):
    commune = world.communes[0]
    login(client, world.admin)
    unconfirmed = client.post(f"/admin/units/{commune.id}/area-class",
                              data={"area_class": "disadvantaged", "reason": "Vùng khó"})
    assert unconfirmed.status_code == 422 and events("unit.area_class") == []
    done = client.post(f"/admin/units/{commune.id}/area-class",
                       data={"area_class": "disadvantaged", "reason": "Vùng khó", "confirm": "1"})
    assert done.status_code == 302
    page = client.get(done.headers["Location"])
    assert "Khó khăn" in text(page) or "khó khăn" in text(page)
    db.session.expire_all()
    assert db.session.get(Unit, commune.id).area_class == "disadvantaged"
    no_reason = client.post(f"/admin/units/{commune.id}/area-class",
                            data={"area_class": "ordinary", "reason": "", "confirm": "1"})
    assert no_reason.status_code == 422


# ------------------------------------------------------------------------------------------------ scope
def test_another_provinces_admin_gets_404_and_a_non_admin_403(client, world):
    other = build_other_province()
    foreign = other.communes[0]
    with pytest.raises(NotFound):
        ops.set_area_class(world.admin, foreign, {"area_class": "disadvantaged", "reason": "x"})
    with pytest.raises(NotAuthorized):
        ops.set_area_class(world.appraiser(0), world.communes[0], {"area_class": "disadvantaged", "reason": "x"})
    login(client, world.admin)
    assert client.get(f"/admin/units/{foreign.id}").status_code == 404
    assert client.post(f"/admin/units/{foreign.id}/units", data={"name": "Chi hội X", "level": "branch"}
                       ).status_code == 404
    assert client.post("/admin/units/import", data={"province": other.province.name, "step": "confirm",
                                                    "file": (io.BytesIO(b"name,type\nA,x\n"), "a.csv")},
                       content_type="multipart/form-data").status_code == 404
    index = client.get("/admin/units/")
    assert index.status_code == 200 and "Xã Đông Phong" in text(index) and "Xã Bắc Sơn" not in text(index)
    login(client, world.appraiser(0))
    assert client.get(f"/admin/units/{world.communes[0].id}").status_code == 403
    assert client.get("/admin/units/").status_code == 403
    commune_admin = make_user("admin", world.communes[0])
    login(client, commune_admin)
    db.session.commit()
    assert client.get(f"/admin/units/{world.communes[1].id}").status_code == 404
    assert client.get(f"/admin/units/{world.communes[0].id}").status_code == 200


# ------------------------------------------------------------------------------------------------ pages
def test_page_import_previews_then_confirms(client, world):
    login(client, world.admin)
    content = HEADER + "99001,Mới Một,xã,,,xã Cũ A; xã Cũ B (một phần)\n99002,Mới Hai,phường,,,\n"
    preview = client.post("/admin/units/import", data={"province": world.province.name, "step": "preview",
                                                       "file": (io.BytesIO(content.encode()), "ds.csv")},
                          content_type="multipart/form-data")
    assert preview.status_code == 200 and "Mới Một" in text(preview)
    assert count(Unit, Unit.code == "99001") == 0
    hidden = re.search(r'name="content" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    confirm = client.post("/admin/units/import", data={"province": world.province.name, "step": "confirm",
                                                       "content": hidden})
    assert confirm.status_code == 302
    assert count(Unit, Unit.code.in_(["99001", "99002"])) == 2
    again = client.post("/admin/units/import", data={"province": world.province.name, "step": "confirm",
                                                     "content": hidden}, follow_redirects=True)
    assert "Không có gì thay đổi" in text(again)
    bad = client.post("/admin/units/import", data={"province": world.province.name, "step": "preview",
                                                   "file": (io.BytesIO((HEADER + "1,,xã,,,\n").encode()), "b.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and 'id="import-errors"' in bad.get_data(as_text=True)


def test_branch_and_village_added_by_page(client, world):
    commune = world.communes[1]  # disadvantaged: new units follow it
    login(client, world.admin)
    for name, level in (("Chi hội thôn Mới", "branch"), ("Thôn Đồng Tâm", "thôn"), ("Tổ dân phố 5", "tổ dân phố")):
        resp = client.post(f"/admin/units/{commune.id}/units", data={"name": name, "level": level})
        assert resp.status_code == 302, text(resp)
    made = {u.name: u for u in db.session.scalars(select(Unit).where(Unit.parent_id == commune.id))}
    assert made["Chi hội thôn Mới"].level == "branch" and made["Thôn Đồng Tâm"].level == "village"
    assert made["Thôn Đồng Tâm"].kind == "thôn" and made["Tổ dân phố 5"].kind == "tổ dân phố"
    assert {made[n].area_class for n in ("Chi hội thôn Mới", "Thôn Đồng Tâm")} == {"disadvantaged"}
    assert made["Thôn Đồng Tâm"].path == f"{commune.path}{made['Thôn Đồng Tâm'].id}/"
    assert len(events("unit.create")) == 3
    duplicate = client.post(f"/admin/units/{commune.id}/units", data={"name": "thôn đồng tâm", "level": "thôn"})
    assert duplicate.status_code == 422 and "Thôn Đồng Tâm" in text(duplicate)
    empty = client.post(f"/admin/units/{commune.id}/units", data={"name": " ", "level": "branch"})
    assert empty.status_code == 422 and "Không được để trống" in text(empty)
    page = client.get(f"/admin/units/{commune.id}")
    assert "Tổ dân phố 5" in text(page)


def xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_branches_and_villages_from_a_spreadsheet_all_or_nothing(client, world):
    c0, c1 = world.communes
    other = build_other_province()
    login(client, world.admin)
    sheet = xlsx([["Tên", "Cấp", "Mã xã"], ["Chi hội Đông", "chi hội", ""], ["Thôn Nam", "thôn", c1.code],
                  ["Tổ dân phố 1", "tổ dân phố", ""]])
    resp = client.post(f"/admin/units/{c0.id}/import", data={"file": (io.BytesIO(sheet), "ds.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    assert db.session.scalar(select(Unit).filter_by(name="Thôn Nam")).parent_id == c1.id
    assert db.session.scalar(select(Unit).filter_by(name="Tổ dân phố 1")).kind == "tổ dân phố"
    before = count(Unit)
    bad = ("name,level,commune_code\nChi hội Tây,branch,\nThôn X,làng,\nThôn Y,thôn," + other.communes[0].code
           + "\nChi hội Tây,chi hội,\n")
    refused = client.post(f"/admin/units/{c0.id}/import", data={"file": (io.BytesIO(bad.encode()), "ds.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    lines = re.findall(r'<tr class="refused"><td>(\d+)</td><td>(\w+)</td>', refused.get_data(as_text=True))
    assert lines == [("3", "level"), ("4", "commune_code"), ("5", "name")]
    assert count(Unit) == before  # line 2 was fine, and still nothing was stored


def test_villages_are_offered_as_places_of_residence(client, world):
    commune = world.communes[0]
    ops.add_unit(world.admin, {"name": "Thôn Hạ", "level": "thôn", "parent": commune.id})
    db.session.commit()
    login(client, world.officer(0))
    page = client.get(f"/campaigns/{world.cdht.id}/applications/new")
    assert page.status_code == 200 and "Thôn Hạ" in text(page)
    village = db.session.scalar(select(Unit).filter_by(name="Thôn Hạ"))
    app = world.new_cdht(0, residence_unit=village)
    assert app.residence_unit_id == village.id
