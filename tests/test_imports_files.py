"""Spreadsheet import of nominees, whole files: the template round-trips through the reader, and every bad file
(not a spreadsheet, encrypted, empty, wrong headers, too many rows, merged header cells, too big) is refused with its
code before anything is stored: no job row, no stored bytes, no application. Also the refusals of the importer
itself (outside scope, after the deadline, a commune title)."""
from __future__ import annotations

import io
import os
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from workflow import clock, imports, jobs
from workflow.db import db
from workflow.errors import GuardRefused, NotAuthorized
from workflow.imports import ImportRefused
from workflow.imports.template import SAMPLE_CITIZEN_ID, columns
from workflow.models import Application, Job

from .factories import PNG

BASE_HEADERS = ["Họ và tên", "Ngày sinh", "Số CCCD", "Nhóm đối tượng", "Nơi cư trú", "Chi hội"]


def xlsx(rows: list[list], header: list | None = None, merge: str | None = None, number_text: bool = True) -> bytes:
    """A workbook as an officer's Excel would hand it over: the header row, then the rows as typed."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header or BASE_HEADERS)
    for r in rows:
        sheet.append(r)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def person(i: int, branch: str = "Chi hội thôn 1", **kw) -> list:
    values = {"name": f"Nguyễn Văn {i}", "born": "17/05/1980", "cid": f"0010800{i:05d}", "group": "1",
              "residence": "", "branch": branch}
    values.update(kw)
    return [values["name"], values["born"], values["cid"], values["group"], values["residence"], values["branch"]]


def kill_second_chunk(monkeypatch):
    """Make the import's writer die in its second chunk, as a killed worker would: that chunk's rows are written
    in the transaction and rolled back with it. Returns the real writer, to put back for a resume."""
    from workflow.imports import store

    real, calls = store.write_chunk, []

    def dies_in_the_second_chunk(*args, **kw):
        created = real(*args, **kw)
        calls.append(created)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return created

    monkeypatch.setattr(store, "write_chunk", dies_in_the_second_chunk)
    return real

def start(world, data: bytes, *, dry_run: bool = False, unit=None, user=None, name: str = "ds.xlsx") -> Job:
    job = imports.start(world.cdht, unit or world.branch(0, 0), user or world.officer(0, 0), file_name=name,
                        data=data, dry_run=dry_run)
    db.session.commit()
    return job


def run(job: Job, **kw) -> Job:
    job_id = job.id
    jobs.run(job_id, **kw)
    db.session.expire_all()
    return db.session.get(Job, job_id)


def stored_files(app) -> list[str]:
    path = os.path.join(app.config["UPLOAD_DIR"], "imports")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def refused(app, world, data: bytes, code: str) -> ImportRefused:
    before = stored_files(app)
    with pytest.raises(ImportRefused) as info:
        imports.start(world.cdht, world.branch(0, 0), world.officer(0, 0), file_name="x.xlsx", data=data)
    db.session.rollback()
    assert info.value.code == code, info.value.code
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0
    assert stored_files(app) == before
    return info.value


def test_template_headers_round_trip_and_sample_row_is_skipped(app, world):
    from openpyxl import load_workbook

    data = imports.template(world.cdht)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Danh sách", "Hướng dẫn"]
    headers = [c.value for c in book["Danh sách"][1]]
    assert headers == [c.header for c in columns(world.cdht)]
    assert headers[:6] == BASE_HEADERS and "Điểm 1.1" in headers
    assert book["Danh sách"]["C2"].value == SAMPLE_CITIZEN_ID
    notes = "\n".join(str(c.value) for row in book["Hướng dẫn"].iter_rows() for c in row if c.value)
    assert "Chi hội thôn 1" in notes and "Nông dân, lao động nông thôn" in notes and "0-10" in notes
    # only the sample row: nothing to import
    refused(app, world, data, "nominees_empty")
    # the officer fills two rows into the template itself: they import, the sample row does not
    sheet = book["Danh sách"]
    sheet.append(person(1) + [""] * (len(headers) - 6))
    sheet.append(person(2, name="Trần Thị Bình") + [""] * (len(headers) - 6))
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(start(world, buffer.getvalue()))
    assert (job.status, job.total, job.created, job.error_count) == ("done", 2, 2, 0)
    names = set(db.session.scalars(select(Application.full_name)))
    assert names == {"Nguyễn Văn 1", "Trần Thị Bình"}


def test_csv_with_and_without_bom(app, world):
    lines = [",".join(BASE_HEADERS), ",".join(person(1)), ",".join(person(2))]
    body = "\r\n".join(lines).encode()
    job = run(start(world, b"\xef\xbb\xbf" + body, name="ds.csv"))
    assert (job.created, job.params["media"]) == (2, "csv")
    job = run(start(world, body.replace(b"0010800", b"0020800"), name="ds.csv"))
    assert job.created == 2


@pytest.mark.parametrize("data", [PNG, b"\x7fELF\x02\x01\x01" + b"\x00" * 200, b"PK\x03\x04garbage",
                                  "Họ và tên".encode("utf-16")])
def test_not_a_spreadsheet(app, world, data):
    refused(app, world, data, "nominees_not_spreadsheet")


def test_a_zip_that_is_not_a_workbook(app, world):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    refused(app, world, buffer.getvalue(), "nominees_not_spreadsheet")


def test_encrypted_workbook(app, world):
    """Excel saves a password-protected xlsx as an OLE2 compound file with an EncryptionInfo stream."""
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100
    refused(app, world, ole, "nominees_encrypted")
    refused(app, world, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "nominees_old_format")


def test_empty_sheet_and_header_only(app, world):
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    refused(app, world, buffer.getvalue(), "nominees_empty")
    refused(app, world, xlsx([]), "nominees_empty")
    refused(app, world, xlsx([[None] * 6, [""] * 6]), "nominees_empty")
    refused(app, world, b"", "nominees_empty")


def test_headers_that_do_not_match(app, world):
    wrong = ["Ho va ten", "Ngày sinh", "CMND", "Nhóm đối tượng", "Nơi cư trú", "Chi hội", "Ghi chú"]
    exc = refused(app, world, xlsx([person(1)], header=wrong), "nominees_headers")
    assert exc.params == {"missing": "Số CCCD", "unknown": "CMND, Ghi chú"}
    assert "Thiếu cột: Số CCCD" in exc.message("vi")
    # case, diacritics, spacing and NFD do not matter
    import unicodedata

    loose = ["HO VA TEN", " ngay  sinh ", unicodedata.normalize("NFD", "Số CCCD"), "nhom doi tuong", "Noi cu tru",
             "chi hoi", "diem 1.1"]
    job = run(start(world, xlsx([person(1) + [7]], header=loose)))
    assert job.created == 1


def test_too_many_rows(app, world):
    app.config["IMPORT_MAX_ROWS"] = 3
    try:
        refused(app, world, xlsx([person(i) for i in range(4)]), "nominees_too_many_rows")
        body = "\n".join([",".join(BASE_HEADERS)] + [",".join(person(i)) for i in range(4)]).encode()
        refused(app, world, body, "nominees_too_many_rows")
        assert run(start(world, xlsx([person(i) for i in range(3)]))).created == 3
    finally:
        app.config.pop("IMPORT_MAX_ROWS")


def test_too_big(app, world):
    app.config["IMPORT_MAX_MB"] = 0.001
    try:
        refused(app, world, xlsx([person(i) for i in range(50)]), "nominees_too_big")
    finally:
        app.config.pop("IMPORT_MAX_MB")


def test_merged_header_cells(app, world):
    exc = refused(app, world, xlsx([person(1)], merge="A1:B1"), "nominees_merged_header")
    assert "A1:B1" in exc.message("vi")


def test_outside_scope_unit_refused(app, world):
    from .factories import build_other_province

    other = build_other_province()
    with pytest.raises(NotAuthorized) as info:  # an officer of one commune, importing for the other
        imports.start(world.cdht, world.communes[1], world.officer(0, 0), file_name="x.xlsx", data=xlsx([person(1)]))
    assert info.value.code == "outside_scope"
    with pytest.raises(GuardRefused) as info:  # a unit of another province
        imports.start(world.cdht, other.branch(0, 0), other.officer(0, 0), file_name="x.xlsx",
                      data=xlsx([person(1)]))
    assert info.value.code == "unit_outside_campaign"
    with pytest.raises(NotAuthorized) as info:  # an appraiser may not nominate
        imports.start(world.cdht, world.communes[0], world.appraiser(0), file_name="x.xlsx", data=xlsx([person(1)]))
    assert info.value.code == "nominees_no_branch"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_after_deadline_refused_at_start_and_at_run(app, world):
    job = start(world, xlsx([person(1)]))
    world.cdht.submit_deadline = clock.today() - timedelta(days=1)
    world.cdht.opens_on = date(world.cdht.year, 1, 1)
    db.session.commit()
    with pytest.raises(GuardRefused) as info:
        imports.start(world.cdht, world.branch(0, 0), world.officer(0, 0), file_name="x.xlsx",
                      data=xlsx([person(2)]))
    assert info.value.code == "deadline_passed"
    db.session.rollback()
    job = run(job)  # queued before the deadline, run after it: refused as a whole, nothing written
    assert job.status == "failed" and job.failure.startswith("deadline_passed")
    assert job.finished_at is not None
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_commune_title_refused(app, world):
    with pytest.raises(ImportRefused) as info:
        imports.template(world.xht)
    assert info.value.code == "nominees_person_only"
