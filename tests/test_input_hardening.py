"""Findings of a hostile test, each now a behaviour: citizen IDs and integers are ASCII digits only (one canonical
form for pages, API and engine), crafted ids, page numbers, NUL and deep JSON give a 4xx instead of a 500, a
residence unit outside the creator's area is refused like an unknown one, an evidence file is named after its
real type, and names refuse invisible format characters and floods of combining marks."""
from __future__ import annotations

import io
import re
import unicodedata
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.http import parse_options_header

from workflow import operations
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.inputs import canonical_citizen_id, clean_name, parse_int, text_problem
from workflow.models import Application, Evidence, Score

from .factories import PASSWORD, PDF, build_other_province, cdht_at
from .test_api_support import API, bearer, error_of

CID = "027185001234"
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
FOREIGN_DIGITS = [CID.translate(FULLWIDTH), CID.translate(ARABIC_INDIC), CID.translate(DEVANAGARI)]
ASCII_ONLY_VI = "Số CCCD chỉ được gồm các chữ số 0-9"
ASCII_ONLY_EN = "citizen ID takes the digits 0-9 only"
BAD_NAMES = [
    ("right-to-left override", "Nguyễn \u202eVăn An"),
    ("zero-width space", "Nguyễn\u200b Văn An"),
    ("zero-width joiner", "Nguyễn Văn\u200d An"),
    ("byte order mark", "\ufeffNguyễn Văn An"),
    ("isolate", "Nguyễn Văn An\u2066"),
    ("three marks on one letter", "Nguye\u0302\u0323\u0301n Văn An"),
    ("zalgo", "Nguyễn V" + "a" + "\u0336" * 12 + "n An"),
]
NAME_VI = "có ký tự không được phép"


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nominate(client, world, **fields):
    data = {"unit_id": world.branch().id, "full_name": "Nguyễn Thị Hạnh", "date_of_birth": "1985-03-08",
            "citizen_id": CID, "subject_group": "1", "residence_id": world.branch(0, 1).id}
    data.update(fields)
    return client.post(f"/campaigns/{world.cdht.id}/applications/new", data=data)


def api_nominate(client, world, lang: str | None = None, **fields):
    body = {"campaign": world.cdht.id, "unit": world.branch().id, "full_name": "Nguyễn Thị Hạnh",
            "date_of_birth": "1985-03-08", "citizen_id": CID, "subject_group": "1"}
    body.update(fields)
    return client.post(f"{API}/applications", json=body, headers=bearer(world.officer(), lang))


# ------------------------------------------------------------------------------------------ 1. citizen ID, integers

def test_one_canonical_citizen_id():
    assert canonical_citizen_id(f"  {CID}\t") == CID
    for foreign in FOREIGN_DIGITS:
        with pytest.raises(GuardRefused) as exc:
            canonical_citizen_id(foreign)
        assert exc.value.code == "citizen_id_ascii" and exc.value.message("vi").startswith(ASCII_ONLY_VI)
        assert ASCII_ONLY_EN in exc.value.message("en")
    for bad in ("12345", CID + "5", "02718500123a", "", None):
        with pytest.raises(GuardRefused) as exc:
            canonical_citizen_id(bad)
        assert exc.value.code == "invalid_field" and exc.value.params["field"] == "citizen_id"


@pytest.mark.parametrize("foreign", FOREIGN_DIGITS, ids=["fullwidth", "arabic-indic", "devanagari"])
def test_engine_refuses_the_same_citizen_in_other_digits(world, foreign):
    first = world.new_cdht(citizen_id=f" {CID} ")
    db.session.commit()
    assert first.citizen_id == CID and first.subject_key == CID
    with pytest.raises(GuardRefused) as exc:
        world.new_cdht(commune=1, citizen_id=foreign)
    assert exc.value.code == "citizen_id_ascii"
    db.session.rollback()
    assert count(Application) == 1


@pytest.mark.parametrize("foreign", FOREIGN_DIGITS, ids=["fullwidth", "arabic-indic", "devanagari"])
def test_page_form_refuses_other_digits_in_both_languages(client, world, foreign):
    login(client, world.officer())
    refused = nominate(client, world, citizen_id=foreign)
    assert refused.status_code == 422 and ASCII_ONLY_VI in page_text(refused)
    client.get("/lang/en")
    english = nominate(client, world, citizen_id=foreign)
    assert english.status_code == 422 and ASCII_ONLY_EN in page_text(english)
    assert count(Application) == 0
    assert nominate(client, world, citizen_id=f" {CID} ").status_code == 302
    found = client.get("/applications", query_string={"q": CID, "state": "evidence_collection"})
    assert "Nguyễn Thị Hạnh" in page_text(found)


@pytest.mark.parametrize("foreign", FOREIGN_DIGITS, ids=["fullwidth", "arabic-indic", "devanagari"])
def test_api_refuses_other_digits_in_both_languages(client, world, foreign):
    vi = api_nominate(client, world, citizen_id=foreign)
    assert vi.status_code == 422 and error_of(vi)["fields"]["citizen_id"].startswith(ASCII_ONLY_VI)
    en = api_nominate(client, world, lang="en", citizen_id=foreign)
    assert ASCII_ONLY_EN in error_of(en)["fields"]["citizen_id"]
    assert count(Application) == 0
    created = api_nominate(client, world, citizen_id=f" {CID} ")
    assert created.status_code == 201 and created.get_json()["citizen_id"] == CID


@pytest.mark.parametrize("raw", ["１０", "٩", "²", "९", "1e3", "-1", "9" * 40, "", "2147483648"])
def test_parse_int_takes_ascii_digits_only(raw):
    assert parse_int(raw) is None
    assert parse_int(" 42 ") == 42 and parse_int("2147483647") == 2**31 - 1


@pytest.mark.parametrize("raw", ["１０", "٩", "²"])
def test_score_field_refuses_other_digits(client, world, raw):
    application = cdht_at(world, "branch_scoring")
    login(client, world.officer())
    resp = client.post(f"/applications/{application.id}/scores",
                       data={"score-1.1": raw, "version": application.version})
    assert resp.status_code == 422 and "1.1" in page_text(resp)
    assert count(Score) == 0


def test_batch_ids_and_versions_in_other_digits_are_not_numbers(client, world):
    application = cdht_at(world, "commune_appraisal")
    login(client, world.appraiser())
    batch = client.post("/applications/batch", data={"action": "approve",
                                                     "ids": str(application.id).translate(ARABIC_INDIC)})
    assert batch.status_code == 302  # "select at least one application"
    acted = client.post(f"/applications/{application.id}/actions/approve",
                        data={"version": str(application.version).translate(ARABIC_INDIC)})
    assert acted.status_code == 400 and 'id="error-message"' in acted.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, application.id).state == "commune_appraisal"


def test_target_level_superscript_is_a_form_error(client, world):
    login(client, world.appraiser())
    resp = client.post(f"/campaigns/{world.xht.id}/applications/new",
                       data={"unit_id": world.communes[0].id, "target_level": "²"})
    assert resp.status_code == 422 and "Vui lòng chọn mức độ đề nghị." in page_text(resp)
    assert count(Application) == 0


# ------------------------------------------------------------------------------------------ 7. no 500 on crafted input

def test_page_numbers_are_clamped(client, world):
    application = cdht_at(world, "commune_appraisal", full_name="Trần Văn Bình")
    login(client, world.appraiser())
    for page in ("99999999999999999999", "5", "2147483648", "0", "²"):
        resp = client.get("/applications", query_string={"page": page})
        assert resp.status_code == 200 and "Trần Văn Bình" in page_text(resp), page
    login(client, world.auditor)
    assert client.get("/audit/log", query_string={"page": "99999999999999999999"}).status_code == 200
    assert client.get("/inbox", query_string={"page": "99999999999999999999"}).status_code == 200
    assert application.id


@pytest.mark.parametrize("url", [
    "/applications/2147483648", "/applications/99999999999999999999/timeline", "/evidence/2147483648",
    "/decisions/2147483648.csv", "/campaigns/2147483648/applications/new",
])
def test_ids_past_32_bits_are_not_found(client, world, url):
    login(client, world.approver)
    resp = client.get(url)
    assert resp.status_code == 404 and 'id="error-message"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/applications?q=%00", "/titles/%00/diagram", "/audit/log?actor=a%00b",
                                 "/applications?unit=%01"])
def test_control_characters_in_query_or_path_are_a_friendly_400(client, world, url):
    login(client, world.auditor)
    resp = client.get(url)
    assert resp.status_code == 400 and 'id="error-message"' in resp.get_data(as_text=True)


PATH_VALUES = ["2147483648", "99999999999999999999", "\x00", "²"]
QUERY_VALUES = ["2147483648", "99999999999999999999", "²", "\x00"]
QUERY_NAMES = ["page", "per_page", "unit", "campaign", "year", "q", "state", "actor", "action", "from", "to"]
FORM_NAMES = ["version", "ids", "target_level", "unit_id", "residence_id", "citizen_id", "score-1.1", "action",
              "number", "signed_on", "full_name"]


def test_no_page_route_answers_500_to_crafted_values(app, client, world):
    """Every page route of the url_map, for each role, with out-of-range, superscript, full-width and NUL values
    in its path, its query string and (for POST) its form: always a 4xx/3xx/2xx, never a 500."""
    application = cdht_at(world, "commune_appraisal")
    rules = [r for r in app.url_map.iter_rules()
             if not r.rule.startswith(("/api", "/static")) and r.endpoint != "auth.logout"]
    failures = []

    def probe(method: str, url: str, data: dict | None = None) -> None:
        try:
            status = client.open(url, method=method, data=data).status_code
        except Exception as exc:  # noqa: BLE001 - an exception escaping the app is the 500 being looked for
            db.session.rollback()
            status = f"raised {exc!r:.120}"
        if not isinstance(status, int) or status >= 500:
            failures.append((method, url, data, status))

    def build(rule, value: str | None) -> str:
        url = rule.rule
        for name in rule.arguments:
            real = str(application.id) if name.endswith("id") else {"code": "CDHT"}.get(name, "vi")
            url = re.sub(rf"<[^>]*?{name}>", quote(real if value is None else value), url)
        return url

    for user in (world.officer(), world.approver, world.admin):  # the admin also holds the audit pages
        login(client, user)
        for rule in rules:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if rule.arguments:
                    for value in PATH_VALUES:
                        probe(method, build(rule, value))
                good = build(rule, None)
                for name in QUERY_NAMES if method == "GET" else ("campaign", "unit", "page"):
                    for value in QUERY_VALUES:
                        probe(method, f"{good}?{name}={quote(value)}")
                if method == "POST":
                    for name in FORM_NAMES:
                        for value in QUERY_VALUES[:3]:
                            probe(method, good, {name: value})
    assert failures == []


def deep(depth: int = 1000) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(("method", "path"), [("POST", "/tokens"), ("POST", "/applications"),
                                              ("POST", "/batches/approve")])
def test_deeply_nested_json_is_bad_json(client, world, method, path):
    headers = {"Content-Type": "application/json"}
    if path != "/tokens":
        headers.update(bearer(world.officer()))
    resp = client.open(f"{API}{path}", method=method, data=deep(), headers=headers)
    assert resp.status_code == 400 and error_of(resp)["code"] == "bad_json"
    assert count(Application) == 0


def test_api_crafted_numbers_are_4xx(client, world):
    headers = bearer(world.officer())
    assert error_of(client.get(f"{API}/applications/2147483648", headers=headers))["code"] == "route_not_found"
    for name in ("unit", "campaign", "page"):
        for value in ("2147483648", "99999999999999999999", "²", "１０", "9" * 5000):
            resp = client.get(f"{API}/applications", query_string={name: value}, headers=headers)
            assert resp.status_code == 422 and name in error_of(resp)["fields"], (name, value)
    resp = client.get(f"{API}/applications", query_string={"q": "\x00"}, headers=headers)
    assert resp.status_code == 422


# ------------------------------------------------------------------------------------------ 8. residence unit

def test_engine_refuses_a_residence_in_another_province(world):
    other = build_other_province()
    with pytest.raises(GuardRefused) as exc:
        world.new_cdht(residence_unit=other.branch())
    assert exc.value.code == "unknown_unit" and other.branch().name not in exc.value.message("vi")
    db.session.rollback()
    ok = world.new_cdht(residence_unit=world.branch(0, 1))  # a village of the same commune
    assert ok.residence_unit_id == world.branch(0, 1).id


def test_api_answers_a_foreign_residence_like_an_unknown_one(client, world):
    other = build_other_province()
    foreign = api_nominate(client, world, residence_unit=other.branch().id)
    unknown = api_nominate(client, world, residence_unit=2_000_000_000)
    assert foreign.status_code == unknown.status_code == 422
    assert error_of(foreign)["fields"] == error_of(unknown)["fields"] == {"residence_unit": "Không có đơn vị này."}
    assert other.branch().name not in foreign.get_data(as_text=True)
    assert count(Application) == 0
    good = api_nominate(client, world, residence_unit=world.branch(0, 1).id)
    assert good.status_code == 201 and good.get_json()["residence_unit"]["id"] == world.branch(0, 1).id


def test_page_refuses_a_residence_in_another_province(client, world):
    other = build_other_province()
    login(client, world.officer())
    resp = nominate(client, world, residence_id=other.branch().id)
    assert resp.status_code == 422 and "Vui lòng chọn nơi cư trú." in page_text(resp)
    assert other.branch().name not in page_text(client.get(f"/campaigns/{world.cdht.id}/applications/new"))
    assert count(Application) == 0


# ------------------------------------------------------------------------------------------ 9. evidence extension

def _page_upload(client, application, name: str):
    return client.post(f"/applications/{application.id}/evidence",
                       data={"criterion": "1.1", "version": str(application.version),
                             "file": (io.BytesIO(PDF), name)}, content_type="multipart/form-data")


NAMES = [("hoso.html", "hoso.pdf"), (unicodedata.normalize("NFD", "hồ sơ minh chứng.html"), "hồ sơ minh chứng.pdf"),
         ("giấy khen", "giấy khen.pdf"), ("bằng 1.2", "bằng 1.2.pdf"), ("Giấy chứng nhận.PDF", "Giấy chứng nhận.PDF")]


@pytest.mark.parametrize(("given", "kept"), NAMES)
def test_page_upload_takes_the_extension_of_its_content(client, world, given, kept):
    application = cdht_at(world, "evidence_collection")
    login(client, world.officer())
    assert _page_upload(client, application, given).status_code == 302
    item = db.session.scalar(select(Evidence))
    assert item.original_name == kept and unicodedata.is_normalized("NFC", item.original_name)
    download = client.get(f"/evidence/{item.id}")
    assert parse_options_header(download.headers["Content-Disposition"])[1]["filename"] == kept


@pytest.mark.parametrize(("given", "kept"), NAMES)
def test_api_upload_takes_the_extension_of_its_content(client, world, given, kept):
    application = cdht_at(world, "evidence_collection")
    resp = client.post(f"{API}/applications/{application.id}/evidence", headers=bearer(world.officer()),
                       data={"criterion": "1.1", "file": (io.BytesIO(PDF), given)},
                       content_type="multipart/form-data")
    assert resp.status_code == 201 and resp.get_json()["evidence"]["original_name"] == kept
    download = client.get(resp.get_json()["evidence"]["download_url"], headers=bearer(world.officer()))
    assert download.status_code == 200
    assert parse_options_header(download.headers["Content-Disposition"])[1]["filename"] == kept


def test_an_older_row_is_served_under_the_extension_of_its_type(app, client, world):
    """A file recorded before the rule (name kept as given) is still served with the extension of its type."""
    import hashlib

    from web import uploads

    application = cdht_at(world, "evidence_collection")
    checked = uploads.Checked(PDF, "application/pdf", "cũ.html", hashlib.sha256(PDF).hexdigest())
    uploads.store(app.config["UPLOAD_DIR"], checked)
    item = operations.add_evidence(application, world.officer(), criterion_code="1.1", original_name="cũ.html",
                                   size=len(PDF), sha256=checked.sha256, media_type="application/pdf")
    db.session.commit()
    api = client.get(f"{API}/applications/{application.id}/evidence/{item.id}", headers=bearer(world.officer()))
    assert parse_options_header(api.headers["Content-Disposition"])[1]["filename"] == "cũ.pdf"
    login(client, world.officer())
    page = client.get(f"/evidence/{item.id}")
    assert f"filename*=UTF-8''{quote('cũ.pdf')}" in page.headers["Content-Disposition"]


# ------------------------------------------------------------------------------------------ 10. names

@pytest.mark.parametrize(("case", "name"), BAD_NAMES, ids=[c for c, _ in BAD_NAMES])
def test_names_refuse_format_characters_and_mark_floods(client, world, case, name):
    assert text_problem(name) is not None
    with pytest.raises(GuardRefused) as exc:
        world.new_cdht(full_name=name)
    assert exc.value.code == "invalid_name"
    db.session.rollback()
    login(client, world.officer())
    page = nominate(client, world, full_name=name)
    assert page.status_code == 422 and "Họ và tên có ký tự không được phép" in page_text(page)
    api = api_nominate(client, world, full_name=name)
    assert api.status_code == 422 and NAME_VI in error_of(api)["fields"]["full_name"].lower()
    en = api_nominate(client, world, lang="en", full_name=name)
    assert "not allowed" in error_of(en)["fields"]["full_name"]
    assert count(Application) == 0


def test_vietnamese_names_pass_in_either_form(world):
    for name in ("Nguyễn Thị Ặng", unicodedata.normalize("NFD", "Phạm Ngọc Ệ Ở"), "Đặng  Hữu\tƯớc"):
        stored = clean_name(name)
        assert stored == " ".join(unicodedata.normalize("NFC", name).split())
    app = world.new_cdht(full_name=unicodedata.normalize("NFD", "Phạm Ngọc Ệ"))
    assert app.full_name == "Phạm Ngọc Ệ" and unicodedata.is_normalized("NFC", app.full_name)


def test_decision_signer_and_upload_names_share_the_rule(client, world):
    application = cdht_at(world, "final_approval")
    with pytest.raises(GuardRefused) as exc:
        operations.create_decision(world.cdht, world.province, world.approver, "12/QĐ-UBND",
                                   date.today(), "Lê Văn\u202e Tâm", [application.id])
    assert exc.value.code == "invalid_name"
    db.session.rollback()
    target = cdht_at(world, "evidence_collection")
    login(client, world.officer())
    zalgo = _page_upload(client, target, "minh chu" + "\u0301" * 8 + "ng.pdf")
    assert zalgo.status_code == 422 and "Tên tệp không hợp lệ." in page_text(zalgo)
    assert db.session.scalar(select(func.count()).where(Evidence.application_id == target.id)) == 0
