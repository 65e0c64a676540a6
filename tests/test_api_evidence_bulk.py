"""Evidence in bulk through the API: several files in one request with a report per file (good ones kept, each
audited, bad ones named and not stored); remove needs the version and is audited; replace keeps the criterion;
both refused after the file left the branch; the inline preview's headers and scope; a campaign's zip answered per
file, a citizen outside the caller's units exactly as an unknown one; and every status of these operations
conforms to the OpenAPI document (the tag evidence-bulk is exercised here, not in test_api_openapi)."""
from __future__ import annotations

import io

from sqlalchemy import select

from workflow.db import db
from workflow.models import Application, AuditEvent, Evidence

from .factories import PDF, cdht_at, docx
from .test_api_support import API, bearer, error_of, files_under
from .test_evidence_bulk import EXE, PNG, build_zip, campaign_archive, campaign_setup, lying_sizes, stored


def batch(client, app_id: int, user, files=(), archive: bytes | None = None, version: int | None = None,
          lang: str | None = None):
    data: dict = {}
    if files:
        data["file"] = [(io.BytesIO(content), name) for name, content, _code in files]
        data["criterion"] = [code for _name, _content, code in files]
    if archive is not None:
        data["zip"] = (io.BytesIO(archive), "a.zip")
    if version is not None:
        data["version"] = str(version)
    return client.post(f"{API}/applications/{app_id}/evidence/batch", headers=bearer(user, lang), data=data,
                       content_type="multipart/form-data")


def live(app_id: int) -> list[Evidence]:
    db.session.expire_all()
    return list(db.session.scalars(select(Evidence).where(Evidence.application_id == app_id,
                                                          Evidence.removed_at.is_(None)).order_by(Evidence.id)))


def test_batch_keeps_the_good_files_and_names_the_bad_ones(app, client, world):
    target = cdht_at(world, "evidence_collection")
    version = target.version
    resp = batch(client, target.id, world.officer(), files=[("giấy khen.pdf", PDF, "1.1"), ("x.pdf", EXE, "1.2"),
                                                            ("ảnh.png", PNG + b"api-9.9", "9.9")],
                 archive=build_zip([("2.1 bằng.pdf", PDF + b"z")]), version=version)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["succeeded"] == 2 and body["failed"] == 2 and body["application"]["version"] == version + 1
    assert [(r["name"], r["status"]) for r in body["results"]] == [
        ("giấy khen.pdf", "attached"), ("x.pdf", "evidence_bad_file"), ("ảnh.png", "unknown_criterion"),
        ("2.1 bằng.pdf", "attached")]
    assert "Chỉ nhận PDF" in body["results"][1]["message"] and "9.9" in body["results"][2]["message"]
    assert [(e.criterion_code, e.id) for e in live(target.id)] == [
        ("1.1", body["results"][0]["evidence_id"]), ("2.1", body["results"][3]["evidence_id"])]
    assert not stored(app, EXE) and not stored(app, PNG + b"api-9.9")
    english = batch(client, target.id, world.officer(), files=[("y.pdf", EXE, "1.1")], lang="en").get_json()
    assert "Only PDF, JPEG, PNG, DOCX or XLSX" in english["results"][0]["message"]


def test_batch_refuses_a_crafted_zip_whole(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_ZIP_MAX_TOTAL_MB", 1)
    target = cdht_at(world, "evidence_collection")
    before = files_under(app.config["UPLOAD_DIR"])
    bomb = lying_sizes(build_zip([("1.1.pdf", PDF + b"\0" * (2 * 1024 * 1024))]))
    resp = batch(client, target.id, world.officer(), files=[("a.pdf", PDF, "1.1")], archive=bomb)
    assert resp.status_code == 422 and error_of(resp)["code"] == "upload_zip_bad"
    assert live(target.id) == [] and files_under(app.config["UPLOAD_DIR"]) == before


def test_remove_needs_the_version_and_is_audited(app, client, world):
    target = cdht_at(world, "evidence_collection")
    officer = bearer(world.officer())
    created = batch(client, target.id, world.officer(), files=[("a.pdf", PDF, "1.1"), ("b.pdf", PDF + b"b", "1.2")])
    first, version = created.get_json()["results"][0]["evidence_id"], created.get_json()["application"]["version"]
    path = f"{API}/applications/{target.id}/evidence/{first}"
    missing = client.delete(path, headers=officer)
    assert missing.status_code == 422 and error_of(missing)["fields"]["version"]
    assert client.delete(path, headers=officer, json={"version": version - 1}).status_code == 409
    resp = client.delete(path, headers=officer, json={"version": version})
    assert resp.status_code == 200 and resp.get_json()["application"]["version"] == version + 1
    assert [e.criterion_code for e in live(target.id)] == ["1.2"]
    detail = client.get(f"{API}/applications/{target.id}", headers=officer).get_json()
    assert [e["criterion"] for e in detail["evidence"]] == ["1.2"]
    assert client.get(path, headers=officer).status_code == 404  # the download forgets it
    assert client.get(path, headers=bearer(world.auditor)).status_code == 200  # the trail does not
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "evidence_remove"))
    assert event.payload["name"] == "a.pdf" and event.payload["evidence_id"] == first and stored(app, PDF)
    assert client.delete(path, headers=officer, json={"version": version + 1}).status_code == 404  # gone already


def test_replace_keeps_the_criterion_and_is_refused_once_the_file_left_the_branch(app, client, world):
    target = cdht_at(world, "evidence_collection")
    officer = bearer(world.officer())
    created = batch(client, target.id, world.officer(), files=[("a.pdf", PDF, "1.3")]).get_json()
    old, version = created["results"][0]["evidence_id"], created["application"]["version"]
    resp = client.put(f"{API}/applications/{target.id}/evidence/{old}", headers=officer,
                      content_type="multipart/form-data",
                      data={"version": str(version), "file": (io.BytesIO(PDF + b"new"), "bản mới.pdf")})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["evidence"]["criterion"] == "1.3" and body["replaced_id"] == old
    assert db.session.get(Evidence, old).replaced_by_id == body["evidence"]["id"]
    appraised = cdht_at(world, "commune_appraisal")
    item = appraised.evidence[0]
    locked = client.put(f"{API}/applications/{appraised.id}/evidence/{item.id}", headers=officer,
                        content_type="multipart/form-data",
                        data={"version": str(appraised.version), "file": (io.BytesIO(PDF), "c.pdf")})
    assert locked.status_code == 422 and error_of(locked)["code"] == "evidence_locked"
    removed = client.delete(f"{API}/applications/{appraised.id}/evidence/{item.id}", headers=officer,
                            json={"version": appraised.version})
    assert removed.status_code == 422 and error_of(removed)["code"] == "evidence_locked"
    assert db.session.get(Evidence, item.id).removed_at is None


def test_inline_preview_headers_and_scope(app, client, world):
    target = cdht_at(world, "evidence_collection")
    results = batch(client, target.id, world.officer(), files=[("ảnh.png", PNG, "1.1"), ("đơn.pdf", PDF, "1.2"),
                                                               ("kế hoạch.docx", docx(), "1.3")]).get_json()["results"]
    png, pdf, word = (f"{API}/applications/{target.id}/evidence/{r['evidence_id']}/inline" for r in results)
    officer = bearer(world.officer())
    for path, media_type in ((png, "image/png"), (pdf, "application/pdf")):
        resp = client.get(path, headers=officer)
        assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("inline")
        assert resp.headers["Content-Type"].split(";")[0] == media_type
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(word, headers=officer).headers["Content-Disposition"].startswith("attachment")
    assert client.get(png, headers=bearer(world.appraiser(1))).status_code == 404
    other_app = f"{API}/applications/{cdht_at(world, 'evidence_collection').id}/evidence/" \
                f"{results[0]['evidence_id']}/inline"
    assert client.get(other_app, headers=officer).status_code == 404  # the file belongs to another application


def test_campaign_zip_reports_an_outside_citizen_exactly_as_an_unknown_one(app, client, world):
    mine, gone, neighbour = campaign_setup(world)
    resp = client.post(f"{API}/campaigns/{world.cdht.id}/evidence-zip", headers=bearer(world.officer()),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(campaign_archive()), "đợt.zip")})
    assert resp.status_code == 200
    body = resp.get_json()
    by_name = {r["name"]: r for r in body["results"]}
    assert body["succeeded"] == 3 and body["failed"] == 6
    assert by_name["001090000001/1.1.pdf"]["status"] == "attached"
    assert by_name["001090000001/1.1.pdf"]["application_id"] == mine.id
    assert by_name["001090000001/9.9 lạ.pdf"]["status"] == "evidence_no_criterion"
    assert by_name["001090000001/1.3.pdf"]["status"] == "evidence_bad_file"
    assert by_name["001090000002/1.1.pdf"]["status"] == "evidence_not_with_branch"
    assert by_name["lạc chỗ.pdf"]["status"] == "evidence_bad_layout"
    outside, unknown = by_name["001090000003/1.1.pdf"], by_name["001090000009/1.1.pdf"]
    assert {k: v for k, v in outside.items() if k not in {"name", "message"}} == \
        {k: v for k, v in unknown.items() if k not in {"name", "message"}}
    assert outside["message"].replace("001090000003", "X") == unknown["message"].replace("001090000009", "X")
    assert outside["application_id"] is None and live(neighbour.id) == []
    assert db.session.get(Application, gone.id).state == "commune_appraisal"
    assert client.post(f"{API}/campaigns/424242/evidence-zip", headers=bearer(world.officer()),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(campaign_archive()), "a.zip")}).status_code == 404


def test_evidence_bulk_responses_conform_to_the_document(app, client, world, monkeypatch):
    """Each status these endpoints answer is documented, and its body validates against the schema."""
    from .test_api_openapi import Contract

    c = Contract()
    target = cdht_at(world, "evidence_collection")
    officer = bearer(world.officer())
    one = f"{API}/applications/{{app_id}}/evidence"
    batch_path, item_path, inline_path = f"{one}/batch", f"{one}/{{evidence_id}}", f"{one}/{{evidence_id}}/inline"
    zip_path = f"{API}/campaigns/{{campaign_id}}/evidence-zip"
    body = c.check(batch(client, target.id, world.officer(), files=[("a.png", PNG, "1.1"), ("b.pdf", PDF, "1.2")]),
                   "post", batch_path)
    first, second = (r["evidence_id"] for r in body["results"])
    version = body["application"]["version"]
    c.check(batch(client, target.id, world.officer()), "post", batch_path)  # no file: 422
    c.check(batch(client, target.id, world.officer(), files=[("a.pdf", PDF, "1.1")], version=1), "post", batch_path)
    c.check(batch(client, 424242, world.officer(), files=[("a.pdf", PDF, "1.1")]), "post", batch_path)
    c.check(batch(client, target.id, world.appraiser(), files=[("a.pdf", PDF, "1.1")]), "post", batch_path)
    c.check(client.post(f"{API}/applications/{target.id}/evidence/batch", content_type="multipart/form-data"),
            "post", batch_path)
    monkeypatch.setitem(app.config, "EVIDENCE_ZIP_MAX_MB", 0)  # the request may then carry 1 MB at most
    monkeypatch.setitem(app.config, "EVIDENCE_BATCH_MAX_FILES", 0)
    c.check(batch(client, target.id, world.officer(), files=[("big.pdf", PDF + b"0" * (2 << 20), "1.1")]),
            "post", batch_path)
    monkeypatch.undo()

    c.check(client.get(f"{API}/applications/{target.id}/evidence/{first}/inline", headers=officer), "get",
            inline_path)
    c.check(client.get(f"{API}/applications/{target.id}/evidence/424242/inline", headers=officer), "get",
            inline_path)

    put = f"{API}/applications/{target.id}/evidence/{second}"
    c.check(client.put(put, headers=officer, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(PDF), "c.pdf")}), "put", item_path)  # no version: 422
    c.check(client.put(put, headers=officer, content_type="multipart/form-data",
                       data={"version": "1", "file": (io.BytesIO(PDF), "c.pdf")}), "put", item_path)
    c.check(client.put(put, headers=bearer(world.appraiser()), content_type="multipart/form-data",
                       data={"version": str(version), "file": (io.BytesIO(PDF), "c.pdf")}), "put", item_path)
    c.check(client.put(f"{API}/applications/{target.id}/evidence/424242", headers=officer,
                       content_type="multipart/form-data",
                       data={"version": str(version), "file": (io.BytesIO(PDF), "c.pdf")}), "put", item_path)
    replaced = c.check(client.put(put, headers=officer, content_type="multipart/form-data",
                                  data={"version": str(version), "file": (io.BytesIO(PDF + b"2"), "c.pdf")}),
                       "put", item_path)
    version = replaced["application"]["version"]
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 64)
    c.check(client.put(put.replace(str(second), str(replaced["evidence"]["id"])), headers=officer,
                       content_type="multipart/form-data",
                       data={"version": str(version), "file": (io.BytesIO(PDF * 10), "d.pdf")}), "put", item_path)
    monkeypatch.undo()

    delete = f"{API}/applications/{target.id}/evidence/{first}"
    c.check(client.delete(delete, headers=officer), "delete", item_path)
    c.check(client.delete(delete, headers=officer, json={"version": 1}), "delete", item_path)
    c.check(client.delete(delete, headers=bearer(world.appraiser()), json={"version": version}), "delete", item_path)
    c.check(client.delete(delete, headers=officer, json={"version": version}), "delete", item_path)
    c.check(client.delete(delete, headers=bearer(world.officer(1)), json={"version": version}), "delete", item_path)

    campaign_setup(world)
    zip_url = f"{API}/campaigns/{world.cdht.id}/evidence-zip"
    c.check(client.post(zip_url, headers=officer, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(campaign_archive()), "a.zip")}), "post", zip_path)
    c.check(client.post(zip_url, headers=officer, content_type="multipart/form-data", data={}), "post", zip_path)
    c.check(client.post(f"{API}/campaigns/424242/evidence-zip", headers=officer, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(campaign_archive()), "a.zip")}), "post", zip_path)
    monkeypatch.setitem(app.config, "EVIDENCE_ZIP_MAX_MB", 0)
    c.check(client.post(zip_url, headers=officer, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(campaign_archive()), "a.zip")}), "post", zip_path)
    monkeypatch.undo()
    c.check(client.post(zip_url, content_type="multipart/form-data"), "post", zip_path)

    seen = {(m, p) for m, p, _ in c.seen}
    assert seen == {("post", batch_path), ("put", item_path), ("delete", item_path), ("get", inline_path),
                    ("post", zip_path)}
    statuses = {(m, p, s) for m, p, s in c.seen}
    assert {("post", batch_path, "413"), ("put", item_path, "413"), ("post", zip_path, "413"),
            ("delete", item_path, "409"), ("delete", item_path, "200"), ("put", item_path, "200"),
            ("post", batch_path, "409"), ("delete", item_path, "404")} <= statuses
