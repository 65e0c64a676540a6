"""Evidence uploads through the page: accepted files are stored under their hash and downloaded with safe
headers; disguised, dangerous, empty, oversized or badly named files are refused with a Vietnamese message and
leave nothing behind (no Evidence row, no file on disk)."""
from __future__ import annotations

import io
import os
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from workflow.db import db
from workflow.models import Evidence

from .factories import PASSWORD, PDF, docx


def _files(app) -> set[str]:
    found = set()
    for root, _dirs, names in os.walk(app.config["UPLOAD_DIR"]):
        found |= {os.path.join(root, n) for n in names}
    return found


@pytest.fixture
def nominee(client, world):
    application = world.new_cdht()
    db.session.commit()
    client.post("/login", data={"username": world.officer().username, "password": PASSWORD})
    return application


def upload(client, application, name: str, data: bytes, criterion: str = "1.1"):
    return client.post(f"/applications/{application.id}/evidence",
                       data={"criterion": criterion, "version": str(application.version),
                             "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")




@pytest.mark.parametrize(("name", "data"), [
    ("Giấy chứng nhận tin học.pdf", PDF),
    ("ảnh hoạt động.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    ("kế hoạch học tập.docx", docx()),
])
def test_accepted_upload_is_stored_and_downloaded_safely(app, client, nominee, name, data):
    before = _files(app)
    response = upload(client, nominee, name, data)
    assert response.status_code == 302
    item = db.session.scalar(select(Evidence).where(Evidence.application_id == nominee.id))
    assert item.original_name == name and item.size == len(data)
    assert len(_files(app) - before) <= 1 and os.path.exists(
        os.path.join(app.config["UPLOAD_DIR"], item.sha256[:2], item.sha256))
    download = client.get(f"/evidence/{item.id}")
    assert download.status_code == 200 and download.data == data
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote(name)}" in disposition
    assert download.headers["Content-Type"].split(";")[0] == item.media_type


REFUSED = [
    ("renamed executable", "giấy khen.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200,
     "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX"),
    ("svg with script", "ảnh.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX"),
    ("html named pdf", "minh chứng.pdf", b"<!doctype html><html><script>alert(document.cookie)</script></html>",
     "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX"),
    ("zip that is not office", "bảng.xlsx", b"PK\x03\x04" + b"\x00" * 100, "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX"),
    ("empty file", "trống.pdf", b"", "Tệp rỗng."),
    ("path parts", "../../etc/passwd.pdf", PDF, "Tên tệp không hợp lệ."),
    ("hidden path parts", "minh chứng/../../giấy.pdf", PDF, "Tên tệp không hợp lệ."),
    ("control character", "giấy\x07khen.pdf", PDF, "Tên tệp không hợp lệ."),
]


@pytest.mark.parametrize(("case", "name", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_upload_stores_nothing(app, client, nominee, case, name, data, message):
    before = _files(app)
    response = upload(client, nominee, name, data)
    assert response.status_code == 422, case
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert _files(app) == before


def test_file_over_the_limit_is_refused_with_the_limit(app, client, nominee, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024 + 512 * 1024)
    before = _files(app)
    response = upload(client, nominee, "bản quét.pdf", PDF + b"0" * (1024 * 1024))
    assert response.status_code == 422
    assert "Tệp vượt quá 1 MB." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert _files(app) == before


def test_request_over_the_limit_gets_the_friendly_413_page(app, client, nominee, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024 + 512 * 1024)
    before = _files(app)
    response = upload(client, nominee, "bản quét lớn.pdf", PDF + b"0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Tệp quá lớn" in page and "vượt quá 1 MB" in page
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert _files(app) == before


def test_upload_in_english_explains_in_english(client, nominee):
    client.get("/lang/en")
    response = upload(client, nominee, "x.pdf", b"MZ\x90\x00")
    assert response.status_code == 422
    assert "Only PDF, JPEG, PNG, DOCX or XLSX are accepted" in response.get_data(as_text=True)


def test_unknown_criterion_is_refused_and_nothing_stored(app, client, nominee):
    before = _files(app)
    response = upload(client, nominee, "giấy.pdf", PDF, criterion="9.9")
    assert response.status_code == 422
    assert "9.9" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert _files(app) == before


def test_other_branch_cannot_upload_or_download(app, client, world, nominee):
    upload(client, nominee, "giấy.pdf", PDF)
    item = db.session.scalar(select(Evidence))
    client.post("/logout")
    client.post("/login", data={"username": world.officer(1).username, "password": PASSWORD})
    assert client.get(f"/evidence/{item.id}").status_code == 404
    assert upload(client, nominee, "khác.pdf", PDF).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 1


def test_store_is_safe_for_two_threads_with_the_same_content(tmp_path):
    """Two requests storing identical bytes at once must both succeed (unique temporary names)."""
    import threading

    from web import uploads

    checked = uploads.check("a.pdf", b"%PDF-1.4 same bytes", 1024)
    errors = []

    def store():
        try:
            for _ in range(50):
                uploads.store(str(tmp_path), checked)
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (tmp_path / checked.sha256[:2] / checked.sha256).read_bytes() == b"%PDF-1.4 same bytes"
