"""Spreadsheet import of nominees, cell by cell: every bad cell gives its own code on its row (with the column
named), never a crash, and the rest of the file imports; the honest variants (dates in several forms, a CCCD with
separators, NFD names, names without diacritics, blank rows) are read as the officer meant them."""
from __future__ import annotations

import io
import unicodedata
from datetime import date, datetime

from sqlalchemy import select

from workflow.db import db
from workflow.loader import add_unit
from workflow.models import Application, AuditEvent, Score

from .factories import make_user
from .test_imports_files import BASE_HEADERS, person, run, start, xlsx

SCORES = ["Điểm 1.1", "Điểm 1.2"]


def codes(job) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for e in job.errors:
        out.setdefault(e["row"], []).append((e["column"], e["code"]))
    return out


def by_cid() -> dict[str, Application]:
    return {a.citizen_id: a for a in db.session.scalars(select(Application))}


def test_dates_in_every_form(app, world, time_machine):
    time_machine.move_to("2026-06-01 09:00:00+07:00", tick=False)
    rows = [person(1, born="17/05/1980"), person(2, born="7/5/80"), person(3, born="01/01/30"),
            person(4, born="1/1/05"), person(5, born="1980-05-17"), person(6, born=29358),
            person(7, born=datetime(1979, 12, 31, 0, 0)), person(8, born=date(1990, 2, 3)),
            person(9, born="17.05.1980"),
            # bad ones
            person(10, born="31/02/1980"), person(11, born="hôm qua"), person(12, born="01/01/2099"),
            person(13, born="")]
    job = run(start(world, xlsx(rows)))
    got = {cid[-2:]: a.date_of_birth for cid, a in by_cid().items()}
    assert got == {"01": date(1980, 5, 17), "02": date(1980, 5, 7), "03": date(1930, 1, 1),
                   "04": date(2005, 1, 1), "05": date(1980, 5, 17), "06": date(1980, 5, 17),
                   "07": date(1979, 12, 31), "08": date(1990, 2, 3), "09": date(1980, 5, 17)}
    assert codes(job) == {11: [("Ngày sinh", "row_date")], 12: [("Ngày sinh", "row_date")],
                          13: [("Ngày sinh", "date_range")], 14: [("Ngày sinh", "required")]}
    assert (job.created, job.error_count) == (9, 4)
    message = next(e for e in job.errors if e["row"] == 12)["message_vi"]
    assert "hôm qua" in message and "dd/mm/yyyy" in message


def test_citizen_ids(app, world):
    rows = [person(1, cid="001 080 000 111"), person(2, cid="001.080.000.222"), person(3, cid=185012345678),
            person(4, cid=1.85012345e10), person(5, cid=85012345678), person(6, cid="００１０８００００３３３"),
            person(7, cid="12345"), person(8, cid="٠٠١٠٨٠٠٠٠٤٤٤")]
    job = run(start(world, xlsx(rows)))
    assert set(by_cid()) == {"001080000111", "001080000222", "185012345678"}
    assert codes(job) == {5: [("Số CCCD", "row_citizen_id_number")], 6: [("Số CCCD", "row_citizen_id_number")],
                          7: [("Số CCCD", "citizen_id_ascii")], 8: [("Số CCCD", "citizen_id")],
                          9: [("Số CCCD", "citizen_id_ascii")]}
    message = next(e for e in job.errors if e["row"] == 6)["message_vi"]
    assert "Văn bản (Text)" in message and "8.50E+10" in message


def test_formula_without_value_is_a_row_error(app, world):
    rows = [person(1), person(2, name='=CONCATENATE("Lê ","Văn")'), person(3)]
    job = run(start(world, xlsx(rows)))
    assert codes(job) == {3: [("Họ và tên", "row_formula")]}
    assert job.created == 2


def test_nfd_names_stored_nfc_and_bad_names(app, world):
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    rows = [person(1, name=nfd), person(2, name="Lê\u202eVăn"), person(3, name="  "), person(4, name="Trần  Văn   B")]
    job = run(start(world, xlsx(rows)))
    names = {a.full_name for a in by_cid().values()}
    assert names == {"Nguyễn Thị Ánh", "Trần Văn B"}
    assert unicodedata.is_normalized("NFC", next(iter(names)))
    assert codes(job) == {3: [("Họ và tên", "name_chars")], 4: [("Họ và tên", "required")]}


def test_blank_rows_in_the_middle_keep_sheet_row_numbers(app, world):
    rows = [person(1), [None] * 6, ["", " ", "", "", "", ""], person(2, born="bad"), [], person(3)]
    job = run(start(world, xlsx(rows)))
    assert (job.total, job.created, job.error_count) == (3, 2, 1)
    assert codes(job) == {5: [("Ngày sinh", "row_date")]}  # sheet row 5: header, 1, two blank rows, then it


def test_unit_names_without_diacritics_and_namesakes(app, world):
    commune = world.communes[0]
    add_unit("V1", "Thôn Đông", "village", commune)
    add_unit("V2", "Thôn Đồng", "village", commune)
    add_unit("V3", "Thôn Bắc Sơn", "village", commune)
    db.session.commit()
    rows = [person(1, residence="xa dong phong"), person(2, residence="thon bac son"), person(3, residence="Bắc Sơn"),
            person(4, residence="Thôn Đồng"), person(5, residence="thon dong"), person(6, residence="Xã Yên Lư"),
            person(7, branch="chi hoi thon 1")]
    job = run(start(world, xlsx(rows)))
    apps = by_cid()
    residence = {cid[-2:]: a.residence_unit.name for cid, a in apps.items() if a.residence_unit_id}
    assert residence == {"01": "Xã Đông Phong", "02": "Thôn Bắc Sơn", "03": "Thôn Bắc Sơn", "04": "Thôn Đồng"}
    assert codes(job) == {6: [("Nơi cư trú", "row_ambiguous_unit")], 7: [("Nơi cư trú", "row_unknown_residence")]}
    ambiguous = next(e for e in job.errors if e["row"] == 6)["message_vi"]
    assert "Thôn Đông (Xã Đông Phong)" in ambiguous and "Thôn Đồng (Xã Đông Phong)" in ambiguous
    assert "07" in {c[-2:] for c in apps}


def test_branch_column(app, world):
    """An officer of two branches, importing at the commune: the row names the branch; blank, unknown or a branch
    outside the officer's grants is that row's error."""
    officer = make_user("branch_officer", world.branch(0, 0))
    from workflow.models import RoleGrant

    db.session.add(RoleGrant(user=officer, role="branch_officer", unit=world.branch(0, 1)))
    db.session.commit()
    rows = [person(1, branch="Chi hội thôn 1"), person(2, branch="CHI HOI THON 2"), person(3, branch=""),
            person(4, branch="Chi hội thôn 9")]
    job = run(start(world, xlsx(rows), unit=world.communes[0], user=officer))
    units = {cid[-2:]: a.unit_id for cid, a in by_cid().items()}
    assert units == {"01": world.branch(0, 0).id, "02": world.branch(0, 1).id}
    assert codes(job) == {4: [("Chi hội", "row_branch_required")], 5: [("Chi hội", "row_unknown_branch")]}
    # the one-branch officer: blank means their branch; another branch of the commune is not theirs
    rows = [person(11, branch=""), person(12, branch="Chi hội thôn 2")]
    job = run(start(world, xlsx(rows)))
    assert codes(job) == {3: [("Chi hội", "row_unknown_branch")]}
    assert by_cid()["001080000011"].unit_id == world.branch(0, 0).id


def test_namesake_branches_across_communes_are_ambiguous(app, world):
    officer = make_user("branch_officer", world.branch(0, 0))
    from workflow.models import RoleGrant

    db.session.add(RoleGrant(user=officer, role="branch_officer", unit=world.branch(1, 0)))
    db.session.commit()
    job = run(start(world, xlsx([person(1, branch="Chi hoi thon 1")]), unit=world.province, user=officer))
    assert codes(job) == {2: [("Chi hội", "row_ambiguous_unit")]}
    assert "Xã Đông Phong" in job.errors[0]["message_vi"] and "Xã Yên Lư" in job.errors[0]["message_vi"]


def test_subject_groups(app, world):
    rows = [person(1, group="Nông dân, lao động nông thôn"), person(2, group="nong dan, lao dong nong thon"),
            person(3, group=2), person(4, group="9"), person(5, group="")]
    job = run(start(world, xlsx(rows)))
    assert {cid[-2:]: a.subject_group for cid, a in by_cid().items()} == {"01": "1", "02": "1", "03": "2"}
    assert codes(job) == {5: [("Nhóm đối tượng", "row_subject_group")], 6: [("Nhóm đối tượng", "required")]}


def test_scores_validated_by_the_rubric_and_full_rows_land_at_scoring(app, world):
    from workflow.imports.template import columns

    headers = [c.header for c in columns(world.cdht)]
    n = len(headers) - 6
    rows = [person(1) + [9] * n, person(2) + [7, 8], person(3) + [11], person(4) + ["abc"], person(5) + [7.5],
            person(6) + ["8"] + [None] * (n - 1)]
    job = run(start(world, xlsx(rows, header=headers)))
    apps = by_cid()
    full, partial = apps["001080000001"], apps["001080000002"]
    assert (full.state, full.score_total, full.score_min, full.scored_count) == ("branch_scoring", 9 * n, 9, n)
    assert (partial.state, partial.score_total, partial.scored_count) == ("evidence_collection", 15, 2)
    assert apps["001080000006"].score_total == 8
    assert {s.criterion_code: s.value for s in full.scores} == dict.fromkeys(
        [h.split(" ", 1)[1] for h in headers[6:]], 9)
    assert codes(job) == {4: [("Điểm 1.1", "row_score")], 5: [("Điểm 1.1", "row_score")],
                          6: [("Điểm 1.1", "row_score")]}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.application_id == full.id))
    assert (event.action, event.from_state, event.to_state) == ("create", None, "branch_scoring")
    assert event.payload["scores"]["1.1"] == 9 and event.payload["import_job"] == job.id
    assert db.session.scalar(select(Score.scored_by_id).where(Score.application_id == full.id)) == \
        world.officer(0, 0).id


def test_same_cid_twice_in_the_file(app, world):
    rows = [person(1), person(2), person(1, name="Người Khác"), person(3, born="x"), person(3)]
    job = run(start(world, xlsx(rows)))
    assert codes(job) == {4: [("Số CCCD", "row_duplicate_in_file")], 5: [("Ngày sinh", "row_date")]}
    assert "dòng 2" in job.errors[0]["message_vi"]
    assert set(by_cid()) == {"001080000001", "001080000002", "001080000003"}  # the valid row 6 wins over row 5


def test_headers_in_another_order_and_the_error_column_ignored(app, world):
    header = ["Lỗi", "Chi hội", "Số CCCD", "Họ và tên", "Ngày sinh", "Nhóm đối tượng", "Nơi cư trú"]
    rows = [["Dòng 3: ...", "Chi hội thôn 1", "001080000001", "Lê Văn Một", "01/02/1990", "3", ""]]
    job = run(start(world, xlsx(rows, header=header)))
    assert job.created == 1 and by_cid()["001080000001"].full_name == "Lê Văn Một"
    assert BASE_HEADERS  # the usual order is covered everywhere else
    assert io  # noqa
