"""Evidence in bulk through the pages: several files in one request land each on its criterion (one audit event
each) while a disguised one is named and not stored; a zip named by criterion code; every zip attack refused with
nothing stored; remove and replace audited, the removed file gone from the dossier and the evidence guard but
still in the history and on disk; both refused once the file left the branch and allowed again after a return;
previews inline only for PNG, JPEG and PDF and scoped like downloads; a campaign's zip of folders by citizen ID
with a per-file report that answers a citizen outside one's units exactly as an unknown one."""
from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import pytest
from sqlalchemy import func, select

from workflow import engine
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.models import Application, AuditEvent, Evidence

from .factories import PASSWORD, PDF, add_all_evidence, cdht_at, docx

EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def png(width: int = 1, height: int = 1) -> bytes:
    """A real PNG of one colour (browsers draw it), not just the signature."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = (b"\x00" + b"\x2e\x7d\x32" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = png()


def one_page_pdf(text: str = "Giay khen 1.1") -> bytes:
    """A real one-page PDF with a line of text (a browser's viewer draws it), not just the signature."""
    stream = b"BT /F1 24 Tf 40 100 Td (" + text.encode("ascii") + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# Archives, honest and crafted -------------------------------------------------------------------------------------

def build_zip(entries, mode=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", mode) as z:
        for name, data in entries:
            if isinstance(name, zipfile.ZipInfo):
                name.compress_type = mode
            z.writestr(name, data)
    return buf.getvalue()


def _patch_records(data: bytes, fn, only_first: bool = False) -> bytes:
    """Apply fn(buffer, central record offset, local header offset) to the central directory's records."""
    b = bytearray(data)
    i = b.find(b"PK\x01\x02")
    while i != -1:
        fn(b, i, struct.unpack_from("<I", b, i + 42)[0])
        if only_first:
            break
        i = b.find(b"PK\x01\x02", i + 4)
    return bytes(b)


def lying_sizes(data: bytes, size: int = 10) -> bytes:
    """A bomb that says each entry unpacks to `size` bytes (in both headers) while it unpacks to far more."""
    def fn(b, c, loc):
        struct.pack_into("<I", b, c + 24, size)
        struct.pack_into("<I", b, loc + 22, size)
    return _patch_records(data, fn)


def encrypt_first(data: bytes) -> bytes:
    """Mark the first entry as encrypted (the flag a password-protected entry carries)."""
    def fn(b, c, loc):
        struct.pack_into("<H", b, c + 8, struct.unpack_from("<H", b, c + 8)[0] | 1)
        struct.pack_into("<H", b, loc + 6, struct.unpack_from("<H", b, loc + 6)[0] | 1)
    return _patch_records(data, fn, only_first=True)


def symlink_entry(name: str, target: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info, target


# Helpers ----------------------------------------------------------------------------------------------------------

def files_on_disk(app) -> set[str]:
    found = set()
    for root, _dirs, names in os.walk(app.config["UPLOAD_DIR"]):
        found |= {os.path.join(root, n) for n in names if not n.endswith(".tmp")}
    return found


def stored(app, data: bytes) -> bool:
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    return os.path.exists(os.path.join(app.config["UPLOAD_DIR"], digest[:2], digest))


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def live(application_id: int) -> list[Evidence]:
    db.session.expire_all()
    return list(db.session.scalars(select(Evidence).where(Evidence.application_id == application_id,
                                                          Evidence.removed_at.is_(None)).order_by(Evidence.id)))


def events(application_id: int, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == application_id,
                                                            AuditEvent.action == action).order_by(AuditEvent.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def several(client, application, rows=(), files=(), archive: bytes | None = None, version: int | None = None):
    data: dict = {"version": str(version if version is not None else application.version)}
    for i, (name, content, criterion) in enumerate(rows):
        data[f"file-{i}"] = (io.BytesIO(content), name)
        data[f"criterion-{i}"] = criterion
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    if archive is not None:
        data["zip"] = (io.BytesIO(archive), "minh chứng.zip")
    return client.post(f"/applications/{application.id}/evidence/several", data=data,
                       content_type="multipart/form-data")


@pytest.fixture
def nominee(client, world):
    application = world.new_cdht()
    db.session.commit()
    login(client, world.officer())
    return application


# Several files in one request --------------------------------------------------------------------------------------

def test_several_files_land_each_on_its_criterion_and_a_disguised_one_is_named_not_stored(app, client, nominee):
    version = nominee.version
    response = several(client, nominee, rows=[("giấy khen.pdf", PDF, "1.1"), ("ảnh lớp học.png", PNG, "1.2"),
                                              ("bằng.pdf", EXE, "2.1")],
                       files=[("1.3 chứng chỉ tin học.docx", docx())])
    assert response.status_code == 302
    kept = live(nominee.id)
    assert [(e.criterion_code, e.original_name) for e in kept] == [
        ("1.1", "giấy khen.pdf"), ("1.2", "ảnh lớp học.png"), ("1.3", "1.3 chứng chỉ tin học.docx")]
    audited = events(nominee.id, "evidence")
    assert [(e.payload["criterion"], e.payload["name"], e.payload["evidence_id"]) for e in audited] == [
        (e.criterion_code, e.original_name, e.id) for e in kept]
    assert db.session.get(Application, nominee.id).version == version + 1  # one request, one version bump
    assert not stored(app, EXE) and stored(app, PNG) and stored(app, PDF)
    page = client.get(f"/applications/{nominee.id}").get_data(as_text=True)
    assert "Đã tải lên 3 tệp minh chứng." in page
    assert "«bằng.pdf»" in page and "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX" in page


def test_several_files_may_together_exceed_the_limit_of_one(app, client, nominee, monkeypatch):
    """Each file within the one-file limit, together past the app's request limit: the bulk routes allow more,
    whatever reads the form first (the page hooks do)."""
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024 + 512 * 1024)
    big = [(f"{code} bản quét.pdf", PDF + bytes([i]) * (900 * 1024), code) for i, code in enumerate(("1.1", "1.2"))]
    response = several(client, nominee, rows=big)
    assert response.status_code == 302
    assert [e.criterion_code for e in live(nominee.id)] == ["1.1", "1.2"]


def test_a_batch_of_only_bad_files_writes_nothing(app, client, nominee):
    before = files_on_disk(app)
    response = several(client, nominee, rows=[("a.pdf", EXE, "1.1"), ("b.pdf", PDF, "9.9")])
    assert response.status_code == 302
    assert count(Evidence) == 0 and events(nominee.id, "evidence") == [] and files_on_disk(app) == before
    assert db.session.get(Application, nominee.id).version == nominee.version
    page = client.get(f"/applications/{nominee.id}").get_data(as_text=True)
    assert "«a.pdf»" in page and "«b.pdf»" in page and "9.9" in page


def test_a_stale_version_refuses_the_whole_request(app, client, nominee):
    before = files_on_disk(app)
    response = several(client, nominee, rows=[("a.pdf", PDF, "1.1")], version=nominee.version + 5)
    assert response.status_code == 409
    assert count(Evidence) == 0 and files_on_disk(app) == before


def test_another_branch_gets_not_found(app, client, world, nominee):
    login(client, world.officer(0, 1))
    assert several(client, nominee, rows=[("a.pdf", PDF, "1.1")]).status_code == 404
    assert count(Evidence) == 0


def test_a_zip_named_by_criterion(app, client, nominee):
    archive = build_zip([("1.1.pdf", PDF), ("1.2 giấy khen.png", PNG), ("2.1/bằng tốt nghiệp.pdf", PDF + b"2"),
                         ("ghi chú.pdf", PDF + b"x"), ("__MACOSX/._1.1.pdf", b"junk"), ("2.2/", b"")])
    response = several(client, nominee, archive=archive)
    assert response.status_code == 302
    assert [(e.criterion_code, e.original_name) for e in live(nominee.id)] == [
        ("1.1", "1.1.pdf"), ("1.2", "1.2 giấy khen.png"), ("2.1", "bằng tốt nghiệp.pdf")]
    assert len(events(nominee.id, "evidence")) == 3
    assert not stored(app, PDF + b"x")
    page = client.get(f"/applications/{nominee.id}").get_data(as_text=True)
    assert "«ghi chú.pdf»" in page and "Không nhận ra mã tiêu chí" in page


ATTACKS = [
    ("path traversal", lambda: build_zip([("../../1.1.pdf", PDF), ("1.2.pdf", PDF + b"ok")]), "không an toàn"),
    ("absolute name", lambda: build_zip([("/tmp/1.1.pdf", PDF), ("1.2.pdf", PDF + b"ok")]), "không an toàn"),
    ("windows drive", lambda: build_zip([("C:/1.1.pdf", PDF), ("1.2.pdf", PDF + b"ok")]), "không an toàn"),
    ("symlink", lambda: build_zip([symlink_entry("1.1.pdf", b"/etc/passwd"), ("1.2.pdf", PDF + b"ok")]),
     "không an toàn"),
    ("too many entries", lambda: build_zip([(f"1.{i % 4 + 1} tệp {i}.pdf", PDF + bytes([i])) for i in range(6)]),
     "quá nhiều mục"),
    ("bomb, honest sizes", lambda: build_zip([("1.1.pdf", PDF + b"\0" * (3 * 1024 * 1024)),
                                              ("1.2.pdf", PDF + b"ok")]), "vượt quá"),
    ("bomb, lying sizes", lambda: lying_sizes(build_zip([("1.2.pdf", PDF + b"ok"),
                                                         ("1.1.pdf", PDF + b"\0" * (3 * 1024 * 1024))])),
     "Không đọc được tệp nén"),
    ("not a zip", lambda: EXE, "Không đọc được tệp nén"),
]


@pytest.mark.parametrize(("case", "make", "message"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_zip_attacks_are_refused_whole_and_store_nothing(app, client, nominee, monkeypatch, case, make, message):
    monkeypatch.setitem(app.config, "EVIDENCE_ZIP_MAX_ENTRIES", 5)
    monkeypatch.setitem(app.config, "EVIDENCE_ZIP_MAX_TOTAL_MB", 2)
    before = files_on_disk(app)
    response = several(client, nominee, archive=make())
    assert response.status_code == 422, case
    assert message in response.get_data(as_text=True), case
    assert count(Evidence) == 0 and events(nominee.id, "evidence") == [] and files_on_disk(app) == before


@pytest.mark.parametrize(("case", "archive", "message"), [
    ("nested zip", build_zip([("1.1 hồ sơ.zip", build_zip([("run.exe", EXE)])), ("1.2.pdf", PDF)]),
     "Tệp nén nằm trong tệp nén"),
    ("encrypted entry", encrypt_first(build_zip([("1.1.pdf", PDF + b"secret"), ("1.2.pdf", PDF)])),
     "Mục có mật khẩu"),
    ("disguised entry", build_zip([("1.1.pdf", EXE), ("1.2.pdf", PDF)]), "Chỉ nhận PDF"),
], ids=["nested zip", "encrypted entry", "disguised entry"])
def test_a_bad_entry_is_named_and_the_good_ones_kept(app, client, nominee, case, archive, message):
    response = several(client, nominee, archive=archive)
    assert response.status_code == 302
    assert [(e.criterion_code, e.original_name) for e in live(nominee.id)] == [("1.2", "1.2.pdf")]
    page = client.get(f"/applications/{nominee.id}").get_data(as_text=True)
    assert message in page and "«1.1" in page
    assert not stored(app, EXE) and not stored(app, PDF + b"secret")


# Remove and replace -----------------------------------------------------------------------------------------------

def _upload_two(client, nominee) -> tuple[Evidence, Evidence]:
    several(client, nominee, rows=[("giấy khen.pdf", PDF, "1.1"), ("ảnh.png", PNG, "1.2")])
    first, second = live(nominee.id)
    return first, second


def test_remove_is_audited_and_the_file_leaves_only_the_dossier(app, client, world, nominee):
    first, second = _upload_two(client, nominee)
    version = db.session.get(Application, nominee.id).version
    page = client.get(f"/evidence/{first.id}/manage")
    assert page.status_code == 200 and "Gỡ tệp" in page.get_data(as_text=True)
    unconfirmed = client.post(f"/evidence/{first.id}/remove", data={"version": str(version)})
    assert unconfirmed.status_code == 422 and live(nominee.id) == [first, second]
    response = client.post(f"/evidence/{first.id}/remove", data={"version": str(version), "confirm": "yes"})
    assert response.status_code == 302
    assert live(nominee.id) == [second]
    row = db.session.get(Evidence, first.id)
    assert row.removed_at is not None and row.removed_by_id == world.officer().id  # the row stays for the trail
    assert stored(app, PDF)  # and so do the bytes
    (event,) = events(nominee.id, "evidence_remove")
    assert event.payload == {"criterion": "1.1", "name": "giấy khen.pdf", "sha256": first.sha256,
                             "evidence_id": first.id}
    detail = client.get(f"/applications/{nominee.id}").get_data(as_text=True)
    assert f'id="evidence-{first.id}"' not in detail and f'id="evidence-{second.id}"' in detail
    assert "Gỡ minh chứng" in detail  # named in the history
    assert [e.id for e in db.session.get(Application, nominee.id).evidence] == [second.id]
    assert client.get(f"/evidence/{first.id}").status_code == 404  # the dossier forgot it
    assert client.get(f"/evidence/{first.id}/inline").status_code == 404
    login(client, world.auditor)
    assert client.get(f"/evidence/{first.id}").status_code == 200  # the trail did not
    assert "giấy khen.pdf" in client.get(f"/applications/{nominee.id}/timeline").get_data(as_text=True)


def test_a_removed_file_no_longer_counts_for_the_evidence_guard(client, world):
    application = world.new_cdht()
    officer = world.officer()
    add_all_evidence(application, officer)
    db.session.commit()
    from workflow import evidence as ev

    required = next(e for e in application.evidence if e.criterion_code == "1.1")
    ev.remove(application, officer, required.id)
    db.session.commit()
    with pytest.raises(GuardRefused) as refused:
        engine.fire(application, "submit", officer)
    assert refused.value.code == "evidence_missing" and "1.1" in refused.value.message()
    db.session.rollback()


def test_replace_is_audited_and_takes_the_old_files_place(app, client, world, nominee):
    first, second = _upload_two(client, nominee)
    version = db.session.get(Application, nominee.id).version
    new_pdf = PDF + b"% new copy"
    response = client.post(f"/evidence/{first.id}/replace", content_type="multipart/form-data",
                           data={"version": str(version), "file": (io.BytesIO(new_pdf), "giấy khen (bản rõ).pdf")})
    assert response.status_code == 302
    kept = live(nominee.id)
    assert [(e.criterion_code, e.original_name) for e in kept] == [("1.2", "ảnh.png"),
                                                                   ("1.1", "giấy khen (bản rõ).pdf")]
    old = db.session.get(Evidence, first.id)
    assert old.removed_at is not None and old.replaced_by_id == kept[1].id and stored(app, PDF) and stored(app, new_pdf)
    (event,) = events(nominee.id, "evidence_replace")
    assert event.payload["name"] == "giấy khen.pdf" and event.payload["sha256"] == first.sha256
    assert event.payload["new_name"] == "giấy khen (bản rõ).pdf" and event.payload["new_evidence_id"] == kept[1].id
    bad = client.post(f"/evidence/{kept[1].id}/replace", content_type="multipart/form-data",
                      data={"version": str(version + 1), "file": (io.BytesIO(EXE), "x.pdf")})
    assert bad.status_code == 422 and live(nominee.id) == kept


def test_remove_and_replace_refused_once_the_file_left_the_branch_and_allowed_after_a_return(app, client, world):
    application = cdht_at(world, "commune_appraisal")
    item = application.evidence[0]
    login(client, world.officer())
    version = application.version
    response = client.post(f"/evidence/{item.id}/remove", data={"version": str(version), "confirm": "yes"})
    assert response.status_code == 422 and "chuyển khỏi chi hội" in response.get_data(as_text=True)
    replaced = client.post(f"/evidence/{item.id}/replace", content_type="multipart/form-data",
                           data={"version": str(version), "file": (io.BytesIO(PDF), "mới.pdf")})
    assert replaced.status_code == 422
    assert several(client, application, rows=[("thêm.pdf", PDF, "1.1")]).status_code == 422
    assert db.session.get(Evidence, item.id).removed_at is None and events(application.id, "evidence_remove") == []
    assert "Gỡ / thay" not in client.get(f"/applications/{application.id}").get_data(as_text=True)
    engine.fire(db.session.get(Application, application.id), "return", world.appraiser(),
                reason="Giấy khen 1.1 bị mờ, đề nghị thay bản rõ")
    db.session.commit()
    version = db.session.get(Application, application.id).version
    replaced = client.post(f"/evidence/{item.id}/replace", content_type="multipart/form-data",
                           data={"version": str(version), "file": (io.BytesIO(PDF + b"clear"), "giấy khen rõ.pdf")})
    assert replaced.status_code == 302
    assert db.session.get(Evidence, item.id).replaced_by_id is not None
    assert len(events(application.id, "evidence_replace")) == 1


# Previews ---------------------------------------------------------------------------------------------------------

def test_previews_are_inline_only_for_png_jpeg_and_pdf_and_scoped_like_downloads(app, client, world, nominee):
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    several(client, nominee, rows=[("ảnh.png", PNG, "1.1"), ("ảnh.jpg", jpeg, "1.2"), ("đơn.pdf", PDF, "1.3"),
                                   ("kế hoạch.docx", docx(), "1.4")])
    items = {e.media_type: e for e in live(nominee.id)}
    assert len(items) == 4
    for media_type in ("image/png", "image/jpeg", "application/pdf"):
        response = client.get(f"/evidence/{items[media_type].id}/inline")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("inline")
        assert response.headers["Content-Type"].split(";")[0] == media_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
    word = client.get(f"/evidence/{items[docx_type()].id}/inline")
    assert word.status_code == 200 and word.headers["Content-Disposition"].startswith("attachment")
    page = client.get(f"/applications/{nominee.id}").get_data(as_text=True)
    assert page.count('loading="lazy"') == 3 and f"/evidence/{items['image/png'].id}/inline" in page
    login(client, world.appraiser(1))  # another commune's appraiser
    for item in items.values():
        assert client.get(f"/evidence/{item.id}/inline").status_code == 404
        assert client.get(f"/evidence/{item.id}").status_code == 404
    login(client, world.appraiser(0))  # the commune's own appraiser sees them
    assert client.get(f"/evidence/{items['image/png'].id}/inline").status_code == 200


def docx_type() -> str:
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_a_stored_file_whose_bytes_no_longer_match_is_never_inline(app, client, nominee):
    several(client, nominee, rows=[("ảnh.png", PNG, "1.1")])
    (item,) = live(nominee.id)
    path = os.path.join(app.config["UPLOAD_DIR"], item.sha256[:2], item.sha256)
    original = open(path, "rb").read()
    try:
        with open(path, "wb") as fh:
            fh.write(b"<html><script>alert(1)</script></html>")
        response = client.get(f"/evidence/{item.id}/inline")
        assert response.headers["Content-Disposition"].startswith("attachment")
    finally:
        with open(path, "wb") as fh:
            fh.write(original)


# A campaign's zip of folders by citizen ID -------------------------------------------------------------------------

def campaign_setup(world):
    """Citizens: one of the officer's branch (evidence collection), one of the officer's branch already at commune
    appraisal, one of the neighbouring branch (outside the officer's units)."""
    mine = world.new_cdht(citizen_id="001090000001")
    gone = cdht_at(world, "commune_appraisal", citizen_id="001090000002")
    neighbour = world.new_cdht(0, 1, citizen_id="001090000003")
    db.session.commit()
    return mine, gone, neighbour


def campaign_archive() -> bytes:
    return build_zip([
        ("001090000001/1.1.pdf", PDF + b"a"), ("001090000001/1.2 giấy khen.png", PNG),
        ("001090000001/2.1/bằng.pdf", PDF + b"b"), ("001090000001/9.9 lạ.pdf", PDF + b"c"),
        ("001090000001/1.3.pdf", EXE),
        ("001090000002/1.1.pdf", PDF + b"d"),
        ("001090000003/1.1.pdf", PDF + b"e"),  # outside the officer's units
        ("001090000009/1.1.pdf", PDF + b"f"),  # nobody
        ("lạc chỗ.pdf", PDF + b"g"),
    ])


def test_campaign_zip_page_attaches_and_reports_each_file(app, client, world):
    mine, gone, neighbour = campaign_setup(world)
    version = mine.version
    login(client, world.officer())
    campaigns = client.get("/campaigns").get_data(as_text=True)
    assert f"/campaigns/{world.cdht.id}/evidence-zip" in campaigns and "Đính kèm minh chứng hàng loạt" in campaigns
    assert client.get(f"/campaigns/{world.cdht.id}/evidence-zip").status_code == 200
    response = client.post(f"/campaigns/{world.cdht.id}/evidence-zip", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(campaign_archive()), "minh chứng đợt.zip")})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert [(e.criterion_code, e.original_name) for e in live(mine.id)] == [
        ("1.1", "1.1.pdf"), ("1.2", "1.2 giấy khen.png"), ("2.1", "bằng.pdf")]
    assert len(events(mine.id, "evidence")) == 3
    assert db.session.get(Application, mine.id).version == version + 1
    assert live(neighbour.id) == [] and not stored(app, PDF + b"e") and not stored(app, EXE)
    assert len(live(gone.id)) == len(gone.evidence)
    assert "Đã đính kèm 3 tệp, 6 tệp không được đính kèm." in page
    assert page.count('data-status="attached"') == 3
    assert page.count('data-status="evidence_no_application"') == 2  # the neighbour's as the unknown one's
    assert "Không có hồ sơ nào của số CCCD 001090000003" in page
    assert "Không có hồ sơ nào của số CCCD 001090000009" in page
    assert 'data-status="evidence_not_with_branch"' in page and 'data-status="evidence_bad_file"' in page
    assert 'data-status="evidence_no_criterion"' in page and 'data-status="evidence_bad_layout"' in page
    assert f"/applications/{neighbour.id}" not in page


def test_campaign_zip_page_is_for_the_branch_side(client, world):
    login(client, world.appraiser())
    assert client.get(f"/campaigns/{world.cdht.id}/evidence-zip").status_code == 403


def test_campaign_zip_attack_is_refused_whole(app, client, world):
    mine, _gone, _neighbour = campaign_setup(world)
    login(client, world.officer())
    before = files_on_disk(app)
    response = client.post(f"/campaigns/{world.cdht.id}/evidence-zip", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(build_zip([("001090000001/1.1.pdf", PDF),
                                                                 ("../001090000001/1.2.pdf", PDF)])), "x.zip")})
    assert response.status_code == 422 and "không an toàn" in response.get_data(as_text=True)
    assert live(mine.id) == [] and files_on_disk(app) == before
