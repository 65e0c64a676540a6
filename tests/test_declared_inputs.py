"""Each input of the workflow is declared once (workflow/declared.py) and the page, the JSON API and the import judge
it through that declaration: the same bad value gets the same code (and the code's one message) everywhere, and the
OpenAPI document's request schemas are the models' own."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from web.api import errors as api_errors
from web.api.openapi import SPEC, declared_schema, document
from workflow.admin.inputs import FIELD_MESSAGES, InvalidInput, parse
from workflow.db import db
from workflow.declared import ActionInput, BatchInput, NominationInput, ScoreSheetInput, TokenInput, typed_form
from workflow.models import Application, AuditEvent

from .factories import PASSWORD, cdht_at
from .test_api_support import API, bearer, error_of

CID = "027185001234"


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def refusal(model, data) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        parse(model, data)
    return exc.value


def code_of(model, data) -> dict[str, str]:
    return {field: code for field, (code, _p) in refusal(model, data).fields.items()}


def vi(code: str, **params) -> str:
    return FIELD_MESSAGES[code][0].format(**params)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_one_field_message_table():
    assert api_errors.FIELD_MESSAGES is FIELD_MESSAGES
    for code in ("not_integer", "iso_date", "range", "control_chars", "object", "list_of_ids", "unknown_unit"):
        vi_text, en_text = FIELD_MESSAGES[code]
        assert vi_text and en_text and vi_text != en_text


# (field, the value a person types, the code the declaration gives, text the page shows for it)
NOMINATION_CASES = [
    ("citizen_id", "12345", "citizen_id", "12 chữ số"),
    ("citizen_id", "０２７１８５００１２３４", "citizen_id_ascii", "0-9"),
    ("date_of_birth", "2999-01-01", "date_range", vi("date_range")),
    ("date_of_birth", "31/02/1990", "day", "ngày sinh"),
    ("full_name", "Nguyễn\u202eVăn An", "name_chars", "không được phép"),
    ("subject_group", "1" * 17, "too_long", vi("too_long", max=16)),
]


@pytest.mark.parametrize(("field", "value", "code", "page_says"), NOMINATION_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in NOMINATION_CASES])
def test_a_bad_nomination_value_gets_the_same_code_on_page_api_and_import(client, world, field, value, code,
                                                                          page_says):
    good = {"full_name": "Nguyễn Thị Hạnh", "date_of_birth": "1985-03-08", "citizen_id": CID, "subject_group": "1"}
    # the model, as the page (and the import: typed cells) hands it the value
    typed = typed_form({**good, field: value}, dates={"date_of_birth"})
    refused = refusal(NominationInput, {"campaign": world.cdht.id, "unit": world.branch().id, **typed})
    assert {f: c for f, (c, _p) in refused.fields.items()} == {field: code}
    # the API: that code's one message, next to the field
    api = client.post(f"{API}/applications", headers=bearer(world.officer()),
                      json={"campaign": world.cdht.id, "unit": world.branch().id, **good, field: value})
    assert api.status_code == 422 and error_of(api)["fields"] == refused.field_messages("vi")
    # the page: refused next to the field, in Vietnamese
    login(client, world.officer())
    page = client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "unit_id": world.branch().id, "residence_id": world.branch(0, 1).id, **good, field: value})
    assert page.status_code == 422 and page_says.lower() in page.get_data(as_text=True).lower()
    assert count(Application) == 0


def test_the_import_judges_rows_by_the_same_declaration():
    from workflow.imports import rows

    assert rows.NominationInput is NominationInput  # the row's person fields go through parse(NominationInput)
    for code in ("date_range", "citizen_id", "name_chars", "required"):
        assert rows.message(code, {}, "vi") == FIELD_MESSAGES[code][0]


def test_a_date_is_dd_mm_yyyy_or_iso_alike_on_the_page_and_in_the_api(world):
    """Issue 13: one rule for a typed day (workflow.inputs.parse_date), the form's, the API's and the import's."""
    ids = {"campaign": world.cdht.id, "unit": world.branch().id}
    page = parse(NominationInput, {**ids, **typed_form({"date_of_birth": "08/03/1985"}, dates={"date_of_birth"})})
    api = parse(NominationInput, {**ids, "date_of_birth": "1985-03-08"})
    assert page.date_of_birth == api.date_of_birth
    assert parse(NominationInput, {**ids, "date_of_birth": "08/03/1985"}).date_of_birth == api.date_of_birth
    assert code_of(NominationInput, {**ids, "date_of_birth": "03/08/85"}) == {"date_of_birth": "day"}
    assert code_of(NominationInput, {**ids, "date_of_birth": 0}) == {"date_of_birth": "day"}  # no timestamps


def test_json_strictness_is_kept_and_unknown_fields_are_ignored(client, world):
    assert code_of(NominationInput, {"campaign": "5", "unit": True}) == {"campaign": "not_integer",
                                                                        "unit": "not_integer"}
    resp = client.post(f"{API}/applications", headers=bearer(world.officer()), json={
        "campaign": world.cdht.id, "unit": world.branch().id, "full_name": "Nguyễn Thị Hạnh",
        "date_of_birth": "1985-03-08", "citizen_id": CID, "subject_group": "1", "client_reference": "abc-17"})
    assert resp.status_code == 201  # as since version 1: an extra key is not refused


def test_a_bad_score_sheet_gets_the_same_code_on_page_and_api(client, world):
    app = cdht_at(world, "evidence_collection")
    officer = world.officer()
    bad_reason = "xem lại\x00"
    assert code_of(ScoreSheetInput, {"scores": {"1.1": 5}, "reason": bad_reason}) == {"reason": "control_chars"}
    api = client.put(f"{API}/applications/{app.id}/scores", headers=bearer(officer),
                     json={"scores": {"1.1": 5}, "reason": bad_reason})
    assert api.status_code == 422 and error_of(api)["fields"] == {"reason": vi("control_chars")}
    assert code_of(ScoreSheetInput, {"scores": {"1.1": "5"}}) == {"scores.1.1": "not_integer"}
    api = client.put(f"{API}/applications/{app.id}/scores", headers=bearer(officer), json={"scores": {"1.1": "5"}})
    assert error_of(api)["fields"] == {"scores.1.1": vi("not_integer")}
    login(client, officer)
    long_reason = "x" * 2001  # (a NUL in a form is refused earlier, as a malformed request)
    assert code_of(ScoreSheetInput, {"scores": {"1.1": 5}, "reason": long_reason}) == {"reason": "too_long"}
    page = client.post(f"/applications/{app.id}/scores", data={"score-1.1": "5", "reason": long_reason})
    assert page.status_code == 422
    db.session.expire_all()
    assert db.session.get(Application, app.id).scored_count == 0  # nothing stored by either


def test_a_bad_action_gets_the_same_code_on_page_and_api(client, world):
    app = cdht_at(world, "evidence_collection")
    officer = world.officer()
    long_reason = "x" * 2001
    assert code_of(ActionInput, {"version": app.version, "reason": long_reason}) == {"reason": "too_long"}
    api = client.post(f"{API}/applications/{app.id}/actions/withdraw", headers=bearer(officer),
                      json={"version": app.version, "reason": long_reason})
    assert api.status_code == 422 and error_of(api)["fields"] == {"reason": vi("too_long", max=2000)}
    assert code_of(ActionInput, {"version": 0}) == {"version": "range"}
    events = count(AuditEvent)
    login(client, officer)
    page = client.post(f"/applications/{app.id}/actions/withdraw",
                       data={"version": app.version, "reason": long_reason})
    assert page.status_code == 422
    db.session.expire_all()
    assert db.session.get(Application, app.id).state == "evidence_collection" and count(AuditEvent) == events


def test_batch_and_token_bodies_are_declared(client, world):
    assert code_of(BatchInput, {"ids": [1, True]}) == {"ids": "list_of_ids"}
    api = client.post(f"{API}/batches/withdraw", headers=bearer(world.officer()), json={"ids": [1, True]})
    assert api.status_code == 422 and error_of(api)["fields"] == {"ids": vi("list_of_ids", max=5000)}
    assert code_of(TokenInput, {"username": "  ", "password": "x"}) == {"username": "empty"}
    token = client.post(f"{API}/tokens", json={"username": "  ", "password": "x"})
    assert token.status_code == 422 and error_of(token)["fields"] == {"username": vi("empty")}


DECLARED_OPERATIONS = [("/api/v1/applications", "post", NominationInput),
                       ("/api/v1/applications/{app_id}/scores", "put", ScoreSheetInput),
                       ("/api/v1/applications/{app_id}/actions/{action}", "post", ActionInput),
                       ("/api/v1/batches/{action}", "post", BatchInput),
                       ("/api/v1/tokens", "post", TokenInput)]


@pytest.mark.parametrize(("path", "method", "model"), DECLARED_OPERATIONS, ids=[m.__name__ for *_, m in
                                                                                 DECLARED_OPERATIONS])
def test_the_documented_body_is_generated_from_the_model(path, method, model):
    name, schema = declared_schema(model)
    operation = document()["paths"][path][method]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{name}"}
    own = model.model_json_schema(ref_template="#/components/schemas/{model}")
    assert schema == own == SPEC.models[name]
    required = {f for f, info in model.model_fields.items() if info.is_required()}
    assert set(schema.get("required", [])) == required
    for field, prop in schema["properties"].items():
        for alternative in prop.get("anyOf", [prop]):
            if "maxLength" in alternative:  # the document's bound is the rule's: a longer value is refused
                too_long = {**{f: 1 for f in required}, field: "1" * (alternative["maxLength"] + 1)}
                assert field in code_of(model, too_long)
