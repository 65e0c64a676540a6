"""Signed recognition records (issue 12, section 5): the export in docs/records-schema.json, its Ed25519 signature
(a changed byte anywhere fails), the key, the CLI and the API with its authorization."""
from __future__ import annotations

import base64
import json
import os
import stat
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator

from workflow import clock, config, engine, operations, records, recordskey, validity
from workflow.db import db
from workflow.records_cli import trusted_keys

from .factories import add_all_evidence, build_other_province, cdht_at, make_user, score_all
from .test_api_support import API, bearer, error_of

SEED = "5eed" * 16  # the test instance's key, 32 bytes as hex
OTHER_SEED = "0bad" * 16
REASON = "Phát hiện khai báo không trung thực sau công nhận"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                           "records-schema.json")


@pytest.fixture(autouse=True)
def signing_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "RECORDS_KEY", SEED)
    monkeypatch.setitem(app.config, "RECORDS_ISSUER", "hoctap test")
    return recordskey.parse_private(SEED)


def key_id(seed: str) -> str:
    return recordskey.PublicKey(recordskey.parse_private(seed).public_key()).key_id


def xht_recognised(world, commune: int = 0, level: int = 1):
    app = world.new_xht(commune, level)
    side = world.appraiser(commune)
    add_all_evidence(app, side)
    engine.fire(app, "submit", side)
    score_all(app, side, 1)
    engine.fire(app, "submit", side)
    engine.fire(app, "approve", world.approver)
    engine.fire(app, "approve", world.approver)
    db.session.commit()
    assert app.state == "recognised"
    return app


@pytest.fixture
def recognitions(world):
    """In the test province this year: a CDHT file recognised by a decision, one recognised then revoked, one
    XHT commune at level 1, one file still open; and one recognition in another province."""
    year = clock.today().year
    decided = cdht_at(world, "final_approval", full_name="Đặng Thị Hương", citizen_id="001190000001")
    decision, outcomes = operations.create_decision(world.cdht, world.province, world.approver, "42/QĐ-UBND",
                                                    date(year, 1, 5), "Phó Chủ tịch Nguyễn Văn Ất", [decided.id])
    assert all(o.ok for o in outcomes)
    db.session.commit()
    revoked = cdht_at(world, "recognised", commune=1, full_name="Lê Văn Bảo", citizen_id="001190000002")
    engine.fire(revoked, "revoke", world.approver, reason=REASON)
    db.session.commit()
    xht = xht_recognised(world)
    cdht_at(world, "branch_scoring", full_name="Trần Văn Chưa", citizen_id="001190000003")
    other = build_other_province("Q")
    elsewhere = operations.create_application(other.cdht, other.branch(0), other.officer(0),
                                              full_name="Ngô Thị Xa", date_of_birth=date(1990, 1, 1),
                                              citizen_id="001190000001", subject_group="1")
    db.session.commit()
    return {"world": world, "other": other, "decided": decided, "decision": decision, "revoked": revoked,
            "xht": xht, "elsewhere": elsewhere, "year": year}


def export_file(runner, tmp_path, world, year, name="records.json") -> bytes:
    out = tmp_path / name
    result = runner.invoke(args=["records", "export", "--province", world.province.name, "--year", str(year),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 3 records" in result.output and key_id(SEED) in result.output
    return out.read_bytes()


def verify_cli(runner, path, *extra):
    return runner.invoke(args=["records", "verify", str(path), *extra])


# ---------------------------------------------------------------- export, verify, content

def test_export_then_verify_ok(runner, tmp_path, recognitions):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    result = verify_cli(runner, tmp_path / "records.json")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK: 3 records, signed by key {key_id(SEED)}"
    doc = json.loads(data)
    assert doc["format"] == "hoctap-records/1" and doc["issuer"] == {"key_id": key_id(SEED), "name": "hoctap test"}
    assert doc["scope"] == {"kind": "province_year", "province": {"code": recognitions["world"].province.code,
                                                                  "name": "Tỉnh Thử Nghiệm"},
                            "year": recognitions["year"], "citizen_id": None}
    # the file is the canonical serialization itself, the signature member last
    assert data == records.canonical(doc) + b"\n"
    assert data.index(b'"signature":') > data.index(b'"scope":')


def test_the_records_say_what_was_awarded_and_nothing_more(runner, tmp_path, recognitions):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    by_id = {r["application_id"]: r for r in json.loads(data)["records"]}
    decided, revoked, xht = recognitions["decided"], recognitions["revoked"], recognitions["xht"]
    assert set(by_id) == {decided.id, revoked.id, xht.id}  # not the open file, not the other province's
    person = by_id[decided.id]
    on = records.vn_date(decided.recognised_at)
    assert person["subject"] == {"kind": "person", "citizen_id": "001190000001", "full_name": "Đặng Thị Hương"}
    assert person["title"] == {"code": "CDHT", "name": "Công dân học tập"} and person["level"] is None
    assert person["recognised_on"] == on.isoformat()
    assert person["valid_until"] == validity.valid_until("CDHT", on).isoformat()
    assert date.fromisoformat(person["valid_until"]) == on.replace(year=on.year + 1) - timedelta(days=1) or (
        on.month == 2 and on.day == 29)
    assert person["validity"] == {"years": 1, "confirmed": False}
    assert person["decision"] == {"number": "42/QĐ-UBND", "signed_on": f"{recognitions['year']}-01-05",
                                  "signer": "Phó Chủ tịch Nguyễn Văn Ất"}
    assert person["revoked"] is False and person["revoked_on"] is None
    assert person["unit"] == {"code": decided.unit.code, "name": decided.unit.name}
    gone = by_id[revoked.id]
    assert gone["revoked"] is True and gone["revoked_on"] == records.vn_date(revoked.state_changed_at).isoformat()
    assert gone["decision"] is None
    commune = by_id[xht.id]
    assert commune["subject"] == {"kind": "commune", "code": xht.unit.code, "name": "Xã Đông Phong"}
    assert commune["level"] == 1 and commune["validity"] == {"years": 3, "confirmed": True}
    xon = records.vn_date(xht.recognised_at)
    assert commune["valid_until"] == validity.valid_until("XHT", xon).isoformat()
    # revoked without its reason; no date of birth, no scores, nowhere in the file
    assert REASON.encode() not in data and b"reason" not in data
    assert b"1980-05-17" not in data and b"date_of_birth" not in data and b"score" not in data


def test_valid_until_is_the_last_day_in_force():
    assert validity.valid_until("XHT", date(2024, 12, 10)) == date(2027, 12, 9)  # the reports' holding rule
    assert validity.valid_until("CDHT", date(2024, 2, 29)) == date(2025, 2, 28)
    assert validity.valid_until("CDHT", date(2025, 3, 1)) == date(2026, 2, 28)


def test_the_export_validates_against_the_published_schema(runner, tmp_path, recognitions):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    doc = json.loads(data)
    assert list(validator.iter_errors(doc)) == []
    broken = json.loads(data)
    broken["records"][0]["date_of_birth"] = "1980-05-17"  # the schema admits nothing it does not name
    assert list(validator.iter_errors(broken))
    broken = json.loads(data)
    revoked = next(r for r in broken["records"] if r["revoked"])
    revoked["revoked_on"] = None  # a revoked record names its day
    assert list(validator.iter_errors(broken))


def test_an_empty_province_year_is_a_signed_empty_list(runner, tmp_path, world):
    out = tmp_path / "empty.json"
    result = runner.invoke(args=["records", "export", "--province", "thu nghiem", "--year", "2019", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_bytes())["records"] == []
    assert verify_cli(runner, out).output.strip() == f"OK: 0 records, signed by key {key_id(SEED)}"


def test_export_of_one_citizen(runner, tmp_path, recognitions):
    out = tmp_path / "citizen.json"
    result = runner.invoke(args=["records", "export", "--citizen", "001190000001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_bytes())
    assert doc["scope"] == {"kind": "citizen", "province": None, "year": None, "citizen_id": "001190000001"}
    assert [r["application_id"] for r in doc["records"]] == [recognitions["decided"].id]  # not the open file
    assert verify_cli(runner, out).exit_code == 0


def test_export_refuses_bad_arguments(runner, tmp_path, world):
    out = str(tmp_path / "x.json")
    assert runner.invoke(args=["records", "export", "--province", "Nowhere", "--year", "2026",
                               "--out", out]).exit_code != 0
    assert runner.invoke(args=["records", "export", "--year", "2026", "--out", out]).exit_code != 0
    assert runner.invoke(args=["records", "export", "--citizen", "12", "--out", out]).exit_code != 0
    assert not os.path.exists(out)


# ---------------------------------------------------------------- tampering

def test_a_changed_byte_anywhere_fails(runner, tmp_path, recognitions):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    trusted = trusted_keys()
    assert records.verify(data, trusted).count == 3
    body = data.rstrip(b"\n")
    for i in range(len(body)):
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        with pytest.raises(records.VerifyError):
            records.verify(changed, trusted)


def test_the_streamed_check_reads_any_chunking_and_agrees_with_the_whole(runner, tmp_path, recognitions,
                                                                          monkeypatch):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    trusted = trusted_keys()
    for size in (1, 7, 4096):  # records and multi-byte letters cut at every kind of boundary
        monkeypatch.setattr(records._Streamed, "CHUNK", size)
        assert records.verify(data, trusted).count == 3
    monkeypatch.undo()
    doc = json.loads(data)
    shuffled = json.dumps(dict(reversed(list(doc.items()))), ensure_ascii=False).encode()  # scope before records
    assert records.verify(shuffled, trusted).count == 3  # checked whole instead
    assert records.verify_loaded(data, trusted).count == 3
    body = data.rstrip(b"\n")
    for i in range(0, len(body), 3):
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        with pytest.raises(records.VerifyError):
            records.verify_loaded(changed, trusted)
    for cut in (1, len(body) // 2, len(body) - 1):
        with pytest.raises(records.VerifyError) as exc:
            records.verify(body[:cut], trusted)
        assert exc.value.what == "json"


@pytest.mark.parametrize("old,new,what", [
    ("Đặng Thị Hương".encode(), "Đặng Thị Hưong".encode(), "signature"),  # a name
    (b'"recognised_on":"', b'"recognised_on":"1', "schema"),  # a date made malformed
    (b'"signed_on":"20', b'"signed_on":"19', "signature"),  # a date changed, still a date
    (b'"revoked":true', b'"revoked":false', "schema"),  # un-revoking alone breaks the schema's rule
])
def test_the_cli_names_what_failed(runner, tmp_path, recognitions, old, new, what):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    assert data.count(old) >= 1
    path = tmp_path / "changed.json"
    path.write_bytes(data.replace(old, new, 1))
    result = verify_cli(runner, path)
    assert result.exit_code == 1
    assert f"FAILED ({what})" in result.output and "OK" not in result.output


def test_a_changed_signature_fails(runner, tmp_path, recognitions):
    data = export_file(runner, tmp_path, recognitions["world"], recognitions["year"])
    doc = json.loads(data)
    raw = bytearray(base64.b64decode(doc["signature"]["value"]))
    raw[10] ^= 0x80
    doc["signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    path = tmp_path / "sig.json"
    path.write_bytes(records.canonical(doc))
    result = verify_cli(runner, path)
    assert result.exit_code == 1 and "FAILED (signature)" in result.output
    assert "not made by key" in result.output


def test_a_pretty_printed_copy_still_verifies_but_a_repeated_key_does_not(recognitions, signing_key):
    data = b"".join(records.export(records.province_year_query(recognitions["world"].province.id,
                                                               recognitions["year"]),
                                   records.province_scope(recognitions["world"].province, recognitions["year"]),
                                   signing_key, issuer="t"))
    trusted = trusted_keys()
    pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=True).encode()
    assert records.verify(pretty, trusted).count == 3  # the signature is over the content, not the layout
    first_name = b'"full_name":"' + "Đặng Thị Hương".encode() + b'"'
    doubled = data.replace(first_name, first_name + b',"full_name":"Someone Else"', 1)
    with pytest.raises(records.VerifyError) as exc:
        records.verify(doubled, trusted)
    assert exc.value.what == "json"


def test_a_record_signed_by_another_key_fails(runner, tmp_path, recognitions, app, monkeypatch):
    other = recordskey.parse_private(OTHER_SEED)
    world, year = recognitions["world"], recognitions["year"]
    foreign = b"".join(records.export(records.province_year_query(world.province.id, year),
                                      records.province_scope(world.province, year), other, issuer="elsewhere"))
    path = tmp_path / "foreign.json"
    path.write_bytes(foreign)
    result = verify_cli(runner, path)
    assert result.exit_code == 1
    assert "FAILED (key)" in result.output and f"key unknown: {key_id(OTHER_SEED)}" in result.output
    # trusted when its public key is given, as a receiving system would
    pem = tmp_path / "other.pem"
    pem.write_bytes(other.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    ok = verify_cli(runner, path, "--key", str(pem))
    assert ok.exit_code == 0 and ok.output.strip() == f"OK: 3 records, signed by key {key_id(OTHER_SEED)}"
    # another key that claims to be ours: the signature does not hold
    doc = json.loads(foreign)
    doc["issuer"]["key_id"] = doc["signature"]["key_id"] = key_id(SEED)
    path.write_bytes(records.canonical(doc))
    forged = verify_cli(runner, path)
    assert forged.exit_code == 1 and "FAILED (signature)" in forged.output


def test_verify_refuses_what_is_not_a_records_file(runner, tmp_path, world):
    path = tmp_path / "x.json"
    path.write_bytes(b"not json")
    assert verify_cli(runner, path).exit_code == 1 and "FAILED (json)" in verify_cli(runner, path).output
    path.write_bytes(b'{"format": "hoctap-records/1"}')
    result = verify_cli(runner, path)
    assert result.exit_code == 1 and "FAILED (schema)" in result.output


# ---------------------------------------------------------------- the key

def test_the_development_key_is_made_once_and_kept(tmp_path):
    first = recordskey.load(str(tmp_path), {}, {})
    path = tmp_path / recordskey.KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = recordskey.load(str(tmp_path), {}, {})
    assert recordskey.PublicKey(first.public_key()).key_id == recordskey.PublicKey(again.public_key()).key_id


def test_key_sources_and_production(tmp_path):
    seed_key = recordskey.load(str(tmp_path), {}, {"RECORDS_KEY": SEED})
    assert recordskey.PublicKey(seed_key.public_key()).key_id == key_id(SEED)
    pem = tmp_path / "k.pem"
    pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    assert recordskey.load(str(tmp_path), {"RECORDS_KEY_FILE": str(pem)}, {})
    production = {"HOCTAP_ENV": "production"}
    with pytest.raises(recordskey.RecordsKeyError):
        recordskey.load(str(tmp_path / "prod"), {}, production)
    assert not (tmp_path / "prod" / recordskey.KEY_FILE_NAME).exists()  # never invented in production
    with pytest.raises(config.ConfigError, match="RECORDS_KEY"):
        recordskey.check_production({}, production)
    recordskey.check_production({}, {**production, "RECORDS_KEY_FILE": str(pem)})
    with pytest.raises(recordskey.RecordsKeyError):
        recordskey.parse_private("not a key")


def test_the_cli_prints_the_public_key(runner):
    result = runner.invoke(args=["records", "key"])
    assert result.exit_code == 0
    assert f"key id: {key_id(SEED)}" in result.output and "BEGIN PUBLIC KEY" in result.output


# ---------------------------------------------------------------- the API

def test_the_public_key_is_published(client, contract):
    resp = client.get(f"{API}/records/key")
    body = contract.check(resp, "get", f"{API}/records/key")
    assert resp.status_code == 200 and body["key_id"] == key_id(SEED) and body["algorithm"] == "Ed25519"
    published = recordskey.parse_public(body["public_key_pem"])
    assert published.key_id == key_id(SEED)
    assert base64.b64decode(body["public_key"]) == published.raw


def test_api_exports_a_province_year_to_its_callers(client, recognitions, contract):
    world, year = recognitions["world"], recognitions["year"]
    path = f"{API}/records"
    key = recordskey.parse_public(client.get(f"{API}/records/key").get_json()["public_key_pem"])
    for user in (world.auditor, world.admin, world.approver):  # the approver: provincial, two-tier world
        resp = client.get(f"{path}?year={year}", headers=bearer(user))
        contract.check(resp, "get", path)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        assert resp.mimetype == "application/json"
        verified = records.verify(resp.get_data(), {key.key_id: key})
        assert verified.count == 3 and verified.scope["province"]["name"] == "Tỉnh Thử Nghiệm"
    also = client.get(f"{path}?year={year}&province={world.province.id}", headers=bearer(world.auditor))
    assert records.verify(also.get_data(), {key.key_id: key}).count == 3


def test_api_refuses_everyone_else(client, recognitions, contract):
    world, other, year = recognitions["world"], recognitions["other"], recognitions["year"]
    path = f"{API}/records"
    contract.check(client.get(f"{path}?year={year}"), "get", path)  # 401
    for user in (world.appraiser(), world.officer()):
        resp = client.get(f"{path}?year={year}", headers=bearer(user))
        contract.check(resp, "get", path)
        assert resp.status_code == 403 and error_of(resp)["code"] == "records_forbidden"
    commune_auditor = make_user("auditor", world.communes[0])  # not a grant on the province itself
    db.session.commit()
    resp = client.get(f"{path}?citizen=001190000001", headers=bearer(commune_auditor))
    assert resp.status_code == 403 and error_of(resp)["code"] == "records_forbidden"
    resp = client.get(f"{path}?year={year}&province={world.province.id}", headers=bearer(other.auditor))
    contract.check(resp, "get", path)
    assert resp.status_code == 404 and error_of(resp)["code"] == "unit_not_found"
    own = client.get(f"{path}?year={year}", headers=bearer(other.auditor))
    assert own.status_code == 200 and [r["subject"]["full_name"] for r in own.get_json()["records"]] == []


def test_api_field_errors(client, recognitions, contract):
    world = recognitions["world"]
    path, auditor = f"{API}/records", bearer(world.auditor)
    for query in ("", "?year=abc", "?year=1999", "?citizen=001190000001&year=2026", "?citizen=12345"):
        resp = client.get(f"{path}{query}", headers=auditor)
        contract.check(resp, "get", path)
        assert resp.status_code == 422, query
    both = make_user("auditor", recognitions["other"].province, username="auditor-two-provinces")
    db.session.add(type(both.grants[0])(user=both, role="auditor", unit=world.province))
    db.session.commit()
    resp = client.get(f"{path}?year={recognitions['year']}", headers=bearer(both))
    assert resp.status_code == 422 and "province" in error_of(resp)["fields"]
    resp = client.get(f"{path}?year={recognitions['year']}&province={world.province.id}", headers=bearer(both))
    assert resp.status_code == 200 and len(resp.get_json()["records"]) == 3


def test_api_one_citizen_within_the_callers_provinces(client, recognitions, contract):
    world, other = recognitions["world"], recognitions["other"]
    path = f"{API}/records"
    resp = client.get(f"{path}?citizen=001190000001", headers=bearer(world.auditor))
    contract.check(resp, "get", path)
    doc = resp.get_json()
    assert doc["scope"]["citizen_id"] == "001190000001"
    assert [r["application_id"] for r in doc["records"]] == [recognitions["decided"].id]
    assert records.verify(resp.get_data(), trusted_keys()).count == 1
    # the neighbouring province's file of the same CCCD is not a recognition: nothing there to export
    resp = client.get(f"{path}?citizen=001190000001", headers=bearer(other.auditor))
    contract.check(resp, "get", path)
    assert resp.status_code == 404 and error_of(resp)["code"] == "records_no_recognition"
    resp = client.get(f"{path}?citizen=001190000003", headers=bearer(world.auditor))  # an open file only
    assert resp.status_code == 404 and error_of(resp)["code"] == "records_no_recognition"
    assert resp.get_json() == client.get(f"{path}?citizen=009999999999", headers=bearer(world.auditor)).get_json()


def test_every_records_operation_is_exercised(contract, client, recognitions):
    """The records tag is left out of the shared conformance test (OWN_CONTRACT_TESTS): check its operations and
    statuses here."""
    world, year = recognitions["world"], recognitions["year"]
    path = f"{API}/records"
    contract.check(client.get(f"{API}/records/key"), "get", f"{API}/records/key")
    contract.check(client.get(f"{path}?year={year}", headers=bearer(world.auditor)), "get", path)
    contract.check(client.get(f"{path}?year={year}"), "get", path)
    contract.check(client.get(f"{path}?year={year}", headers=bearer(world.officer())), "get", path)
    contract.check(client.get(f"{path}?year={year}&province=999999", headers=bearer(world.auditor)), "get", path)
    contract.check(client.get(f"{path}?year=x", headers=bearer(world.auditor)), "get", path)
    seen = {(m, p, s) for m, p, s in contract.seen}
    assert {("get", path, s) for s in ("200", "401", "403", "404", "422")} <= seen
    assert ("get", f"{API}/records/key", "200") in seen


@pytest.fixture
def contract():
    from .test_api_openapi import Contract

    return Contract()
