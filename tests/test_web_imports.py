"""Spreadsheet import of nominees, the pages, with CSRF protection on (as in production): the link from the
campaigns page, the import page (template download, the columns, the unit select limited to the officer's units,
recent imports), a form without its token refused, the upload starting a PREVIEW that creates nothing, the preview's
counts and first errors in Vietnamese, the confirmation (the box must be ticked; twice is once), the result with the
error file and the links, the progress page while a job runs (refreshes itself without JavaScript, polled with it),
a failed job's "Tiếp tục", a bad file refused with its message storing nothing, and the pages of another commune's
officer answering 404."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from web import create_app
from workflow import clock
from workflow.db import db
from workflow.imports import CHUNK, store
from workflow.models import Application, AuditEvent, Job

from .factories import PASSWORD, PNG
from .test_imports_files import kill_second_chunk, person, stored_files, xlsx


@pytest.fixture
def site(app):
    """A second app over the same database with CSRF on; jobs run where they are launched unless a test says."""
    second = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "PASSWORD_HASH_FAST": True, "SECRET_KEY": "imports-test", "WTF_CSRF_ENABLED": True,
                         "UPLOAD_DIR": app.config["UPLOAD_DIR"], "JOBS_INLINE_SYNC": True})
    yield second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


class Browser:
    """A test client that logs in and sends each form with the token of the page it came from."""

    def __init__(self, site, username: str) -> None:
        self.site, self.client = site, site.test_client()
        token = self.token(self.client.get("/login"))
        assert self.client.post("/login", data={"username": username, "password": PASSWORD,
                                                "csrf_token": token}).status_code == 302

    @staticmethod
    def token(resp) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True)).group(1)

    def get(self, url: str, **kw):
        with self.site.app_context():
            return self.client.get(url, **kw)

    def post(self, url: str, data: dict, *, form_page: str | None = None, **kw):
        with self.site.app_context():
            data = dict(data)
            data.setdefault("csrf_token", self.token(self.client.get(form_page or url)))
            return self.client.post(url, data=data, content_type="multipart/form-data", **kw)


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def names(world) -> dict[str, str]:
    """Read what the other app's requests will need before leaving this app's session."""
    return {"officer": world.officer(0, 0).username, "outsider": world.officer(1, 0).username,
            "appraiser": world.appraiser(0).username, "branch": str(world.branch(0, 0).id),
            "branch_name": world.branch(0, 0).name, "campaign": str(world.cdht.id), "xht": str(world.xht.id)}


def upload(b: Browser, w: dict, data: bytes, name: str = "danh sách.xlsx"):
    page = f"/campaigns/{w['campaign']}/import"
    return b.post(page, {"unit": w["branch"], "file": (io.BytesIO(data), name)})


def test_the_whole_flow_preview_confirm_result(site, world):
    world.new_cdht(citizen_id=person(1)[2])  # typed by hand before: a duplicate
    db.session.commit()
    w = names(world)
    db.session.remove()
    b = Browser(site, w["officer"])

    campaigns = b.get(f"/campaigns?year={clock.today().year}").get_data(as_text=True)
    assert f'href="/campaigns/{w["campaign"]}/import"' in campaigns and "Nhập danh sách từ bảng tính" in campaigns
    assert f'href="/campaigns/{w["xht"]}/import"' not in campaigns  # a commune title: no list of people

    page = b.get(f"/campaigns/{w['campaign']}/import")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/campaigns/{w["campaign"]}/import-template.xlsx"' in html and "Tải tệp mẫu (xlsx)" in html
    assert f'<option value="{w["branch"]}" selected>{w["branch_name"]}</option>' in html
    assert html.count("<option") == 1  # only the officer's own branch may nominate here
    assert 'accept=".xlsx,.csv' in html and "Số CCCD" in html and "Điểm 1.1" in html
    assert "Chưa có lượt nhập nào." in html
    template = b.get(f"/campaigns/{w['campaign']}/import-template.xlsx")
    assert template.status_code == 200 and "mau-nhap-CDHT-" in template.headers["Content-Disposition"]
    assert next(load_workbook(io.BytesIO(template.data)).active.iter_rows(values_only=True))[0] == "Họ và tên"

    rows = [person(i) for i in range(1, 6)] + [person(6, born="31/02/1980"), person(7, cid="12345")]
    data = xlsx(rows)
    # a form without its token is refused and stores nothing
    with site.app_context():
        refused = b.client.post(f"/campaigns/{w['campaign']}/import", content_type="multipart/form-data",
                                data={"unit": w["branch"], "file": (io.BytesIO(data), "x.xlsx")})
    assert refused.status_code == 400 and count(Job) == 0

    sent = upload(b, w, data)
    assert sent.status_code == 302
    job_id = int(sent.location.rsplit("/", 1)[1])
    assert count(Application) == 1 and count(Job) == 1  # a preview writes nothing
    preview = b.get(sent.location)
    shown = text(preview)
    assert "Xem trước danh sách nhập" in shown and "danh sách.xlsx" in shown and w["branch_name"] in shown
    assert "Đã nhận tệp «danh sách.xlsx»" in shown
    assert re.search(r'id="count-valid">4<', preview.get_data(as_text=True))
    assert re.search(r'id="count-errors">2<', preview.get_data(as_text=True))
    assert re.search(r'id="count-duplicates">1<', preview.get_data(as_text=True))
    assert "7 Ngày sinh Ngày «31/02/1980» không hợp lệ" in shown and "8 Số CCCD" in shown
    assert "Nhập 4 hồ sơ" in shown and f'href="/imports/{job_id}/errors.xlsx"' in preview.get_data(as_text=True)
    assert 'id="confirm-form"' in preview.get_data(as_text=True) and "không thể hoàn tác" in shown
    assert "? Không thể hoàn tác." in preview.get_data(as_text=True)  # the dialog's question (static/jobs.js)
    assert "<progress" in preview.get_data(as_text=True) and "http-equiv" not in preview.get_data(as_text=True)

    errors = b.get(f"/imports/{job_id}/errors.xlsx")
    values = list(load_workbook(io.BytesIO(errors.data)).active.iter_rows(values_only=True))
    assert [v[0] for v in values[1:]] == ["Nguyễn Văn 6", "Nguyễn Văn 7"] and values[0][-1] == "Lỗi"

    unticked = b.post(f"/imports/{job_id}/confirm", {}, form_page=f"/imports/{job_id}")
    assert unticked.status_code == 302 and count(Application) == 1
    assert "Hãy đánh dấu ô xác nhận để nhập." in text(b.get(unticked.location))
    done = b.post(f"/imports/{job_id}/confirm", {"confirm": "yes"}, form_page=f"/imports/{job_id}")
    assert done.status_code == 302 and done.location != f"/imports/{job_id}"
    assert count(Application) == 5 and count(AuditEvent, AuditEvent.action == "create") == 5
    result = b.get(done.location)
    html, shown = result.get_data(as_text=True), text(result)
    assert "Nhập hồ sơ đề nghị" in shown and "Đã bắt đầu nhập: 7 dòng." in shown
    assert re.search(r'id="count-created">4<', html) and re.search(r'id="count-duplicates">1<', html)
    assert f'href="/applications?campaign={w["campaign"]}&amp;state=all"' in html
    assert f'href="/campaigns/{w["campaign"]}/import?unit={w["branch"]}"' in html and "Tải lên tệp đã sửa" in shown
    # confirming the preview again answers the same import, creating nothing
    again = b.post(f"/imports/{job_id}/confirm", {"confirm": "yes"}, form_page=f"/imports/{job_id}")
    assert again.location == done.location and count(Job) == 2 and count(Application) == 5
    assert "Lượt xem trước này đã được nhập." in text(b.get(f"/imports/{job_id}"))

    # the corrected error file goes straight back in («Lỗi» column and all)
    book = load_workbook(io.BytesIO(errors.data))
    sheet = book.active
    sheet.cell(row=2, column=2).value = "28/02/1980"
    sheet.cell(row=3, column=3).value = "001080000007"
    fixed = io.BytesIO()
    book.save(fixed)
    second = upload(b, w, fixed.getvalue(), name="đã sửa.xlsx")
    assert re.search(r'id="count-valid">2<', b.get(second.location).get_data(as_text=True))
    final = b.post(f"{second.location}/confirm", {"confirm": "yes"}, form_page=second.location)
    assert re.search(r'id="count-created">2<', b.get(final.location).get_data(as_text=True))
    assert count(Application) == 7
    ids = db.session.scalars(select(Application.citizen_id)).all()
    assert len(ids) == len(set(ids)) == 7

    listing = text(b.get(f"/campaigns/{w['campaign']}/import"))
    assert "Các lượt nhập gần đây của tôi" in listing and "đã sửa.xlsx" in listing and "Xem trước" in listing

    b.get("/lang/en")
    assert "Import a list from a spreadsheet" in text(b.get(f"/campaigns/{w['campaign']}/import"))
    assert "Valid rows, ready to import" in text(b.get(f"/imports/{job_id}"))


def test_a_bad_file_is_refused_with_its_message_and_nothing_is_stored(site, app, world):
    w = names(world)
    db.session.remove()
    b = Browser(site, w["officer"])
    before = stored_files(app)
    refused = upload(b, w, PNG, name="ảnh.xlsx")
    assert refused.status_code == 422
    assert "Tệp không phải bảng tính" in text(refused)
    headers = upload(b, w, xlsx([person(1)], header=["Tên", "Ngày", "CCCD"]))
    assert headers.status_code == 422 and "Dòng tiêu đề không khớp mẫu" in text(headers)
    no_file = b.post(f"/campaigns/{w['campaign']}/import", {"unit": w["branch"]})
    assert no_file.status_code == 422 and "Chọn tệp bảng tính cần tải lên." in text(no_file)
    wrong_unit = b.post(f"/campaigns/{w['campaign']}/import", {"unit": "999999",
                                                                "file": (io.BytesIO(xlsx([person(1)])), "a.xlsx")})
    assert wrong_unit.status_code == 422 and "Chọn đơn vị lập hồ sơ" in text(wrong_unit)
    assert count(Job) == 0 and count(Application) == 0 and stored_files(app) == before


def test_another_communes_officer_gets_404_and_an_appraiser_no_import_page(site, world):
    w = names(world)
    db.session.remove()
    b = Browser(site, w["officer"])
    job_url = upload(b, w, xlsx([person(1), person(2, born="x")])).location
    job_id = int(job_url.rsplit("/", 1)[1])
    outsider = Browser(site, w["outsider"])
    for url in (job_url, f"{job_url}/status.json", f"{job_url}/errors.xlsx"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"{job_url}/confirm", {"confirm": "yes"},
                         form_page=f"/campaigns/{w['campaign']}/import").status_code == 404
    assert outsider.post(f"{job_url}/resume", {}, form_page=f"/campaigns/{w['campaign']}/import").status_code == 404
    assert outsider.get(f"/imports/{job_id + 100}").status_code == 404
    assert count(Application) == 0
    appraiser = Browser(site, w["appraiser"])
    assert appraiser.get(f"/campaigns/{w['campaign']}/import").status_code == 403  # not a branch officer
    assert appraiser.get(job_url).status_code == 200  # but the commune covers the branch's import


def test_a_running_job_page_refreshes_itself_and_a_failed_one_resumes(site, world, monkeypatch):
    from .test_imports_files import start

    job = start(world, xlsx([person(i) for i in range(CHUNK + 50)]))  # queued, not launched
    job_id = job.id
    w = names(world)
    db.session.remove()
    b = Browser(site, w["officer"])
    page = b.get(f"/imports/{job_id}").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="2;url=/imports/' in page  # without JavaScript
    assert 'data-watch="yes"' in page and "/static/jobs.js" in page and 'id="import-progress"' in page
    assert 'id="confirm-form"' not in page and 'id="import-resume"' not in page
    polled = b.get(f"/imports/{job_id}/status.json").get_json()
    assert {k: polled[k] for k in ("status", "total", "done", "percent")} == {
        "status": "queued", "total": CHUNK + 50, "done": 0, "percent": 0}

    from workflow import jobs

    real = kill_second_chunk(monkeypatch)
    with site.app_context():
        jobs.run(job_id)
    monkeypatch.setattr(store, "write_chunk", real)
    failed = b.get(f"/imports/{job_id}")
    html = failed.get_data(as_text=True)
    assert "Lượt nhập đã dừng trước khi xong." in text(failed) and 'id="import-resume"' in html
    assert "http-equiv" not in html and 'data-watch="no"' in html
    resumed = b.post(f"/imports/{job_id}/resume", {}, form_page=f"/imports/{job_id}")
    assert resumed.status_code == 302
    shown = text(b.get(resumed.location))
    assert f"Tiếp tục nhập từ dòng {CHUNK + 1}." in shown
    assert count(Application) == CHUNK + 50
    finished = b.get(f"/imports/{job_id}").get_data(as_text=True)
    assert re.search(rf'id="count-created">{CHUNK + 50:,}<'.replace(",", "."), finished)
    assert 'id="import-resume"' not in finished
    nothing = b.post(f"/imports/{job_id}/resume", {}, form_page=f"/imports/{job_id}")
    assert "Lượt nhập này không cần tiếp tục" in text(b.get(nothing.location))
