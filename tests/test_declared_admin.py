"""The admin bodies of the API (campaigns, units, users and grants) and the version sent to remove an evidence file
are documented by their declared inputs: the OpenAPI request schema of each operation is the model's own JSON schema
(required fields, bounds, unknown fields refused), and a bad value gets the same code, and so the same message, from
the API and from the admin page that parses the same model."""
from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from web.api.openapi import SCHEMA_NAMES, SPEC, document
from workflow.admin.campaigns import CampaignIn
from workflow.admin.inputs import FIELD_MESSAGES, InvalidInput, parse
from workflow.admin.officers import GrantIn, UserIn, UserPatch
from workflow.admin.units import NewUnit
from workflow.db import db
from workflow.declared import CampaignChange, VersionInput
from workflow.models import AuditEvent, Campaign, Evidence, RoleGrant, Unit, User

from .factories import PASSWORD, cdht_at
from .test_api_support import API, bearer, error_of
from .test_api_uploads import PDF

# (path, method, model, the component name clients already know)
ADMIN_OPERATIONS = [
    (f"{API}/campaigns", "post", CampaignIn, "NewCampaign"),
    (f"{API}/campaigns/{{campaign_id}}", "patch", CampaignChange, "CampaignPatch"),
    (f"{API}/units", "post", NewUnit, "NewUnit"),
    (f"{API}/users", "post", UserIn, "NewUser"),
    (f"{API}/users/{{user_id}}", "patch", UserPatch, "UserPatch"),
    (f"{API}/users/{{user_id}}/grants", "post", GrantIn, "GrantRequest"),
    (f"{API}/applications/{{app_id}}/evidence/{{evidence_id}}", "delete", VersionInput, "EvidenceRemove"),
]


def model_schema(model) -> dict:
    """The model's JSON schema as the document must carry it: nested models ($defs) are components of their own,
    under their stable names."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    names = {m.__name__: name for m, name in SCHEMA_NAMES.items()}
    schema.pop("$defs", None)
    return _renamed(schema, names)


def _renamed(node, names: dict[str, str]):
    if isinstance(node, dict):
        out = {k: _renamed(v, names) for k, v in node.items()}
        if isinstance(out.get("$ref"), str):
            child = out["$ref"].rsplit("/", 1)[1]
            out["$ref"] = f"#/components/schemas/{names.get(child, child)}"
        return out
    if isinstance(node, list):
        return [_renamed(v, names) for v in node]
    return node


def codes(model, data) -> dict[str, str]:
    with pytest.raises(InvalidInput) as exc:
        parse(model, data)
    return {field: code for field, (code, _p) in exc.value.fields.items()}


def vi(code: str, **params) -> str:
    return FIELD_MESSAGES[code][0].format(**params)


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def page_text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------------------------------------ the document
@pytest.mark.parametrize(("path", "method", "model", "name"), ADMIN_OPERATIONS,
                         ids=[f"{m}-{n}" for _p, m, _model, n in ADMIN_OPERATIONS])
def test_the_documented_admin_body_is_the_models_schema(path, method, model, name):
    doc = document()
    operation = doc["paths"][path][method]
    media = operation["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"$ref": f"#/components/schemas/{name}"}
    assert "example" in media  # the hand-written example stays beside the generated schema
    schema = doc["components"]["schemas"][name]
    assert schema == model_schema(model) == SPEC.models[name]
    required = {f for f, info in model.model_fields.items() if info.is_required()}
    assert set(schema.get("required", [])) == required
    # unknown fields: refused by the admin inputs (and so documented), ignored by the workflow's Body
    forbid = model.model_config.get("extra") == "forbid"
    assert schema.get("additionalProperties", True) is (not forbid)
    for field, prop in schema["properties"].items():
        for alternative in prop.get("anyOf", [prop]):
            if "maxLength" in alternative:  # the documented bound is the rule's: one character more is refused
                assert field in codes(model, {field: "x" * (alternative["maxLength"] + 1)})
            if "maximum" in alternative and alternative.get("type") == "integer":
                assert field in codes(model, {field: alternative["maximum"] + 1})
            if "minimum" in alternative and alternative.get("type") == "integer":
                assert field in codes(model, {field: alternative["minimum"] - 1})
            if "enum" in alternative:
                assert field in codes(model, {field: "not-one-of-them"})


def test_a_nested_model_is_one_component_and_the_removal_body_stays_optional():
    doc = document()
    grants = doc["components"]["schemas"]["NewUser"]["properties"]["grants"]
    assert grants["items"] == {"$ref": "#/components/schemas/GrantRequest"}
    assert doc["components"]["schemas"]["GrantRequest"] == model_schema(GrantIn)
    assert not any("." in name for name in doc["components"]["schemas"])  # no spectree "Parent.Child" names
    removal = doc["paths"][f"{API}/applications/{{app_id}}/evidence/{{evidence_id}}"]["delete"]["requestBody"]
    assert removal["required"] is False  # ?version= or a form field will do as well
    # the multipart bodies stay written by hand
    for path, method in ((f"{API}/units/import", "post"), (f"{API}/applications/{{app_id}}/evidence", "post"),
                         (f"{API}/applications/{{app_id}}/evidence/{{evidence_id}}", "put")):
        assert set(doc["paths"][path][method]["requestBody"]["content"]) == {"multipart/form-data"}


# ------------------------------------------------------------------------------------------------ API and page
def test_a_campaign_name_too_long_is_refused_alike_by_api_and_page(client, world):
    name = "Đ" * 256
    assert codes(CampaignIn, {"name": name}).get("name") == "too_long"
    api = client.post(f"{API}/campaigns", headers=bearer(world.admin), json={
        "title": "CDHT", "year": 2031, "province_id": world.province.id, "name": name, "opens_on": "2031-09-01",
        "submit_deadline": "2031-11-30", "decision_deadline": "2031-12-31"})
    assert api.status_code == 422 and error_of(api)["fields"] == {"name": vi("too_long", max=255)}
    login(client, world.admin)
    page = client.post("/admin/campaigns/new", data={
        "title": "CDHT", "year": "2031", "province_id": str(world.province.id), "name": name,
        "opens_on": "01/09/2031", "submit_deadline": "30/11/2031", "decision_deadline": "31/12/2031",
        "stage_limit_days": "14", "escalate_after_days": "28"})
    assert page.status_code == 422 and vi("too_long", max=255) in page_text(page)
    assert count(Campaign, Campaign.year == 2031) == 0


def test_a_campaign_change_out_of_bounds_is_refused_alike_by_api_and_page(client, world):
    assert codes(CampaignChange, {"stage_limit_days": 400}) == {"stage_limit_days": "too_large"}
    url = f"{API}/campaigns/{world.cdht.id}"
    api = client.patch(url, headers=bearer(world.admin), json={"stage_limit_days": 400})
    assert api.status_code == 422 and error_of(api)["fields"] == {"stage_limit_days": vi("too_large", max=365)}
    # "closed" is part of the declared body: only true closes, anything else is refused with every other problem
    both = client.patch(url, headers=bearer(world.admin), json={"closed": False, "stage_limit_days": 400})
    assert error_of(both)["fields"] == {"closed": vi("choice", choices="true"),
                                        "stage_limit_days": vi("too_large", max=365)}
    login(client, world.admin)
    form = client.get(f"/admin/campaigns/{world.cdht.id}/edit")
    assert form.status_code == 200
    page = client.post(f"/admin/campaigns/{world.cdht.id}/edit", data={
        "name": world.cdht.name, "rubric_id": str(world.cdht.rubric_id), "stage_limit_days": "400",
        "escalate_after_days": str(world.cdht.escalate_after_days),
        **{k: getattr(world.cdht, k).strftime("%d/%m/%Y") for k in ("opens_on", "submit_deadline",
                                                                   "decision_deadline")}})
    assert page.status_code == 422 and vi("too_large", max=365) in page_text(page)
    db.session.expire_all()
    assert db.session.get(Campaign, world.cdht.id).stage_limit_days != 400
    assert db.session.get(Campaign, world.cdht.id).closed_at is None
    assert count(AuditEvent, AuditEvent.action.in_(("campaign.update", "campaign.close"))) == 0


def test_a_unit_name_with_hidden_characters_is_refused_alike_by_api_and_page(client, world):
    name = "Chi hội thôn\u202eĐông"
    commune = world.communes[0]
    assert codes(NewUnit, {"name": name, "level": "branch", "parent": commune.id}) == {"name": "name_chars"}
    before = count(Unit)
    api = client.post(f"{API}/units", headers=bearer(world.admin), json={"name": name, "level": "branch",
                                                                          "parent": commune.id})
    assert api.status_code == 422 and error_of(api)["fields"] == {"name": vi("name_chars")}
    login(client, world.admin)
    page = client.post(f"/admin/units/{commune.id}/units", data={"name": name, "level": "branch"})
    assert page.status_code == 422 and vi("name_chars") in page_text(page)
    assert count(Unit) == before


def test_a_bad_username_is_refused_alike_by_api_and_page(client, world):
    data = {"username": "a b", "full_name": "Trần Thị Bình", "grants": [{"role": "auditor",
                                                                         "unit": world.communes[0].id}]}
    assert codes(UserIn, data) == {"username": "username_format"}
    before = count(User)
    api = client.post(f"{API}/users", headers=bearer(world.admin), json=data)
    assert api.status_code == 422 and error_of(api)["fields"] == {"username": vi("username_format")}
    login(client, world.admin)
    page = client.post("/admin/users/new", data={"username": "a b", "full_name": "Trần Thị Bình", "email": "",
                                                 "phone": "", "role": "auditor", "unit": str(world.communes[0].id)})
    assert page.status_code == 422 and vi("username_format") in page_text(page)
    assert count(User) == before


def test_a_grant_to_a_unit_that_is_no_number_is_refused_alike_by_api_and_page(client, world):
    target = world.officer()
    assert codes(GrantIn, {"role": "auditor", "unit": "abc"}) == {"unit": "integer"}
    grants = count(RoleGrant)
    api = client.post(f"{API}/users/{target.id}/grants", headers=bearer(world.admin),
                      json={"role": "auditor", "unit": "abc"})
    assert api.status_code == 422 and error_of(api)["fields"] == {"unit": vi("integer")}
    login(client, world.admin)
    page = client.post(f"/admin/users/{target.id}/grants", data={"role": "auditor", "unit": "abc"},
                       follow_redirects=True)
    assert vi("integer") in page_text(page)  # the user's page says why, after the redirect
    assert count(RoleGrant) == grants


def test_activation_takes_a_json_boolean_only(client, world):
    # (the page has no field to type it in: its buttons send active=1 or 0)
    target = world.officer()
    assert codes(UserPatch, {"active": "no"}) == {"active": "boolean"}
    api = client.patch(f"{API}/users/{target.id}", headers=bearer(world.admin), json={"active": "no"})
    assert api.status_code == 422 and error_of(api)["fields"] == {"active": vi("boolean")}
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_the_removal_version_in_a_json_body_is_judged_by_its_declaration(client, world):
    app = cdht_at(world, "evidence_collection")
    officer = bearer(world.officer())
    uploaded = client.post(f"{API}/applications/{app.id}/evidence", headers=officer, data={
        "criterion": "1.1", "file": (io.BytesIO(PDF), "a.pdf")})
    assert uploaded.status_code == 201, uploaded.get_json()
    evidence_id = uploaded.get_json()["evidence"]["id"]
    url = f"{API}/applications/{app.id}/evidence/{evidence_id}"
    for value, code, params in (("3", "not_integer", {}), (True, "not_integer", {}),
                                (0, "range", {"min": 1, "max": 2**31 - 1})):
        assert codes(VersionInput, {"version": value}) == {"version": code}
        refused = client.delete(url, headers=officer, json={"version": value})
        assert refused.status_code == 422 and error_of(refused)["fields"] == {"version": vi(code, **params)}
    assert db.session.get(Evidence, evidence_id).removed_at is None
    version = uploaded.get_json()["application"]["version"]
    removed = client.delete(url, headers=officer, json={"version": version, "note": "ignored"})
    assert removed.status_code == 200 and removed.get_json()["application"]["version"] == version + 1


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/units", {"parent": 2**40, "level": "commune", "name": "Xã Quá Lớn", "kind": "xã"}),
    ("/api/v1/campaigns", {"title": "CDHT", "year": 2027, "province_id": 2**40, "name": "Đợt quá lớn",
                           "opens_on": "2027-01-01", "submit_deadline": "2027-02-01",
                           "decision_deadline": "2027-03-01"}),
])
def test_an_id_past_32_bits_is_a_field_error_not_a_database_error(client, world, path, body):
    """An id no 32-bit column can hold is refused by the declared model (422 with the field named), on PostgreSQL
    too, where it would otherwise reach the database and fail as `integer out of range`."""
    resp = client.post(path, json=body, headers=bearer(world.admin))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) & {"parent", "province_id"}
