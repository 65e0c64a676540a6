"""Invariant 7 through the API: disguised, scripted, oversized, empty and badly named files are each refused with a
clear message in the caller's language, and nothing is stored: no Evidence row, no audit event, no version bump,
no new file under UPLOAD_DIR. A Vietnamese file name survives the round trip to the download."""
from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from sqlalchemy import func, select
from werkzeug.http import parse_options_header

from workflow.db import db
from workflow.models import Application, AuditEvent, Evidence

from .factories import PDF, PNG, cdht_at, docx
from .test_api_support import API, bearer, error_of, files_under


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("run.exe", b"MZ")
    return buf.getvalue()


@pytest.fixture
def target(world):
    return cdht_at(world, "evidence_collection")


def upload(client, app_id: int, user, name: str, data: bytes, lang: str | None = None, criterion: str = "1.1"):
    return client.post(f"{API}/applications/{app_id}/evidence", headers=bearer(user, lang),
                       data={"criterion": criterion, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


class NothingStored:
    """Snapshot of everything an upload could leave behind."""

    def __init__(self, app, target: Application) -> None:
        self.app_id, self.upload_dir = target.id, app.config["UPLOAD_DIR"]
        self.before = self._state()

    def _state(self):
        db.session.expire_all()
        return (db.session.scalar(select(func.count()).select_from(Evidence)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)),
                db.session.get(Application, self.app_id).version,
                files_under(self.upload_dir))

    def check(self) -> None:
        assert self._state() == self.before


REFUSED = [
    # (case, file name, content, code, Vietnamese message, English message)
    ("renamed executable", "x.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "upload_bad_type",
     "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX (nội dung tệp không khớp).",
     "Only PDF, JPEG, PNG, DOCX or XLSX are accepted (the content does not match)."),
    ("svg with script", "logo.svg",
     b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>', "upload_bad_type",
     None, None),
    ("html with script named pdf", "minh chứng.pdf", b"<html><script>fetch('/api/v1/applications')</script></html>",
     "upload_bad_type", None, None),
    ("zip that is not office", "bang diem.xlsx", plain_zip(), "upload_bad_type", None, None),
    ("empty file", "trống.pdf", b"", "upload_empty", "Tệp rỗng.", "The file is empty."),
    ("path parts", "../../etc/passwd", PDF, "upload_bad_name", "Tên tệp không hợp lệ.",
     "The file name is not valid."),
    ("control characters", "bao\x1b[31mcao.pdf", PDF, "upload_bad_name", None, None),
    ("tab in name", "bao\tcao.pdf", PDF, "upload_bad_name", None, None),
]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(("case", "name", "data", "code", "vi", "en"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_upload_stores_nothing(app, client, world, target, lang, case, name, data, code, vi, en):
    stored = NothingStored(app, target)
    resp = upload(client, target.id, world.officer(), name, data, lang)
    assert resp.status_code == 422, (case, resp.get_json())
    err = error_of(resp)
    assert err["code"] == code
    expected = en if lang == "en" else vi
    if expected:
        assert err["message"] == expected
    assert err["fields"]["file"] == err["message"]
    stored.check()


def raw_upload(client, app_id: int, user, disposition: bytes, lang: str):
    """A hand-built multipart body, for file names a test client would normalise before sending."""
    body = (b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"criterion\"\r\n\r\n1.1\r\n"
            b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"file\"; " + disposition +
            b"\r\nContent-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--B0UNDARY--\r\n")
    return client.post(f"{API}/applications/{app_id}/evidence", headers=bearer(user, lang), data=body,
                       content_type="multipart/form-data; boundary=B0UNDARY")


@pytest.mark.parametrize("disposition", [
    b'filename="..\\\\..\\\\boot.ini.pdf"',  # escaped backslashes arrive as ..\..\boot.ini.pdf
    b"filename*=UTF-8''..%5C..%5Cwindows%5Cwin.ini.pdf",  # RFC 5987 form
    b"filename*=UTF-8''..%2F..%2Fetc%2Fpasswd",
    b"filename*=UTF-8''bao%00cao.pdf",  # NUL
    b"filename*=UTF-8''bao%0D%0Acao.pdf",  # CR LF
    b'filename=".."',
])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_raw_bad_names_refused(app, client, world, target, disposition, lang):
    stored = NothingStored(app, target)
    resp = raw_upload(client, target.id, world.officer(), disposition, lang)
    assert resp.status_code == 422, resp.get_json()
    err = error_of(resp)
    assert err["code"] == "upload_bad_name"
    assert err["message"] == ("The file name is not valid." if lang == "en" else "Tên tệp không hợp lệ.")
    stored.check()


MB = 1024 * 1024


@pytest.fixture
def one_mb(app, monkeypatch):
    """A 1 MB file limit, with the request allowed a little more for the multipart framing (as the app does)."""
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", MB)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", MB + 64 * 1024)


@pytest.mark.parametrize(("size", "code"), [
    (MB + 1, "upload_too_large"),  # the file is over the limit, the request still fits: judged by the check
    (MB + 200 * 1024, "payload_too_large"),  # the request itself is over: refused while the form is read
])
def test_oversized_upload_is_413_json_and_stores_nothing(app, client, world, target, one_mb, size, code):
    stored = NothingStored(app, target)
    big = PDF + b"0" * (size - len(PDF))
    for lang, message in (("vi", "Tệp vượt quá 1 MB."), ("en", "The file exceeds 1 MB.")):
        resp = upload(client, target.id, world.officer(), "hồ sơ lớn.pdf", big, lang)
        assert resp.status_code == 413
        err = error_of(resp)
        assert err["code"] == code and err["message"] == message
    stored.check()


def test_file_exactly_at_the_limit_is_accepted(app, client, world, target, one_mb):
    resp = upload(client, target.id, world.officer(), "vừa đủ.pdf", PDF + b"0" * (MB - len(PDF)))
    assert resp.status_code == 201 and resp.get_json()["evidence"]["size"] == MB


def test_oversized_at_the_configured_limit(app, client, world, target):
    limit = app.config.get("UPLOAD_MAX_BYTES") or app.config["MAX_CONTENT_LENGTH"]
    stored = NothingStored(app, target)
    resp = upload(client, target.id, world.officer(), "lớn.pdf", PDF + b"0" * limit, "en")
    assert resp.status_code == 413
    assert error_of(resp)["message"] == f"The file exceeds {limit // MB} MB."
    stored.check()


def test_missing_file_or_criterion_422(app, client, world, target):
    stored = NothingStored(app, target)
    resp = client.post(f"{API}/applications/{target.id}/evidence", headers=bearer(world.officer(), "en"),
                       data={"criterion": ""}, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert error_of(resp)["fields"] == {"criterion": "Must not be empty.", "file": "Send one file in the field «file»."}
    unknown = upload(client, target.id, world.officer(), "a.pdf", PDF, criterion="9.9")
    assert unknown.status_code == 422 and error_of(unknown)["code"] == "unknown_criterion"
    stored.check()


def test_refused_by_role_or_scope_stores_nothing(app, client, world, target):
    stored = NothingStored(app, target)
    assert upload(client, target.id, world.appraiser(), "a.pdf", PDF).status_code == 403
    assert upload(client, target.id, world.officer(1), "a.pdf", PDF).status_code == 404
    assert upload(client, target.id, world.officer(0, 1), "a.pdf", PDF).status_code == 404  # sibling branch
    stored.check()


def test_vietnamese_name_round_trips(app, client, world, target):
    name = "minh chứng đặc biệt.pdf"
    nfd, version = unicodedata.normalize("NFD", name), target.version
    resp = upload(client, target.id, world.officer(), nfd, PDF)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["evidence"]["original_name"] == name  # stored as NFC
    assert body["evidence"]["media_type"] == "application/pdf" and body["evidence"]["size"] == len(PDF)
    assert body["application"]["version"] == version + 1
    download = client.get(body["evidence"]["download_url"], headers=bearer(world.appraiser()))
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"
    disposition, options = parse_options_header(download.headers["Content-Disposition"])
    assert disposition == "attachment"
    assert options["filename"] == name
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["Content-Disposition"].isascii()  # RFC 5987 encoding, no raw UTF-8 in a header


def test_type_comes_from_content_not_name(app, client, world, target):
    png = upload(client, target.id, world.officer(), "ảnh chụp.pdf", PNG)
    assert png.status_code == 201 and png.get_json()["evidence"]["media_type"] == "image/png"
    office = upload(client, target.id, world.officer(), "báo cáo.docx", docx(), criterion="1.2")
    assert office.status_code == 201
    assert office.get_json()["evidence"]["media_type"].endswith("wordprocessingml.document")
    detail = client.get(f"{API}/applications/{target.id}", headers=bearer(world.officer())).get_json()
    assert [(e["criterion"], e["original_name"]) for e in detail["evidence"]] == [
        ("1.1", "ảnh chụp.png"), ("1.2", "báo cáo.docx")]  # the extension follows the content


def test_evidence_of_another_application_is_404(client, world, target):
    other = cdht_at(world, "evidence_collection")
    created = upload(client, target.id, world.officer(), "a.pdf", PDF).get_json()["evidence"]
    headers = bearer(world.officer())
    assert client.get(f"{API}/applications/{target.id}/evidence/{created['id']}", headers=headers).status_code == 200
    wrong_parent = client.get(f"{API}/applications/{other.id}/evidence/{created['id']}", headers=headers)
    assert wrong_parent.status_code == 404 and error_of(wrong_parent)["code"] == "evidence_not_found"
    hidden = client.get(f"{API}/applications/{target.id}/evidence/{created['id']}", headers=bearer(world.officer(1)))
    assert hidden.status_code == 404 and error_of(hidden)["code"] == "not_found"


def test_upload_with_stale_version_409_stores_nothing(app, client, world, target):
    seen = target.version
    assert upload(client, target.id, world.officer(), "trước.pdf", PDF).status_code == 201  # someone else's
    stored = NothingStored(app, target)
    resp = client.post(f"{API}/applications/{target.id}/evidence", headers=bearer(world.officer()),
                       data={"criterion": "1.1", "version": str(seen),
                             "file": (io.BytesIO(PDF + b"unique-409"), "a.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 409 and error_of(resp)["code"] == "conflict"
    stored.check()
    for bad in ("0", "x1", "99999999999999999999", "١٢"):  # zero, not a number, too large, non-ASCII digits
        resp = client.post(f"{API}/applications/{target.id}/evidence", headers=bearer(world.officer()),
                           data={"criterion": "1.1", "version": bad, "file": (io.BytesIO(PDF), "a.pdf")},
                           content_type="multipart/form-data")
        assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"version"}, bad
    stored.check()
