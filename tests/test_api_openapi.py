"""The OpenAPI document matches the server: every /api/v1 route and method is documented and every documented path
is served; the document is valid OpenAPI 3.1; and real responses (status and body) conform to what it promises."""
from __future__ import annotations

import io
import re

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from web.api.openapi import document

from .factories import cdht_at
from .test_api_status import CDHT_CODES
from .test_api_support import API, bearer
from .test_api_uploads import PDF

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def served_routes(app) -> dict[str, set[str]]:
    """Path template (OpenAPI style) -> methods, from the app's URL map."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule == API or rule.rule.startswith(API + "/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m for m in rule.methods if m not in IGNORED_METHODS)
    return routes


def documented_routes() -> dict[str, set[str]]:
    return {path: {m.upper() for m in item if m in {"get", "put", "post", "delete", "patch"}}
            for path, item in document()["paths"].items()}


def test_every_route_is_documented_and_every_documented_path_is_served(app):
    served, documented = served_routes(app), documented_routes()
    assert served, "the API blueprint is not registered"
    assert served == documented


def test_the_document_is_valid_openapi(client):
    served = client.get(f"{API}/openapi.json").get_json()
    assert served == document()
    validate(served)


def test_every_operation_documents_its_errors():
    for path, item in document()["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert codes & {"200", "201", "202"}, (path, method)  # 202: an import job accepted
            if op.get("security") != []:
                assert "401" in codes, (path, method)
            if "{app_id}" in path:
                assert "404" in codes, (path, method)
            if method in {"post", "put"} and path != f"{API}/batches/{{action}}":
                assert "422" in codes, (path, method)


class Contract:
    """Checks each response against the document: its status is listed for the operation, and a JSON body
    validates against the schema given for that status."""

    def __init__(self) -> None:
        self.doc = document()
        self.seen: set[tuple[str, str, str]] = set()

    def _resolve(self, obj: dict) -> dict:
        while "$ref" in obj:
            node = self.doc
            for part in obj["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            obj = node
        return obj

    def check(self, resp, method: str, path: str) -> dict | None:
        op = self.doc["paths"][path][method]
        status = str(resp.status_code)
        assert status in op["responses"], (method, path, status, resp.get_data(as_text=True)[:300])
        self.seen.add((method, path, status))
        spec = self._resolve(op["responses"][status])
        content = spec.get("content", {})
        if "application/json" in content:
            assert resp.is_json, (method, path, status)
            body = resp.get_json()
            schema = {**content["application/json"]["schema"], "components": self.doc["components"]}
            OAS31Validator(schema).validate(body)
            documented = self._resolve(content["application/json"]["schema"]).get("properties")
            if documented and path != f"{API}/openapi.json":  # no undocumented top-level fields either
                assert set(body) <= set(documented), (method, path, set(body) - set(documented))
            return body
        assert set(content) and not resp.is_json, (method, path, status)
        return None


# Tags whose operations each have a conformance test of their own that exercises every one of them:
# tests/test_api_units.py, tests/test_api_officers.py and tests/test_api_evidence_bulk.py.
OWN_CONTRACT_TESTS = {"units", "officers", "evidence-bulk", "citizens"}  # citizens: tests/test_api_citizens.py
OWN_CONTRACT_TESTS |= {"imports"}  # spreadsheet import: tests/test_api_imports.py
OWN_CONTRACT_TESTS |= {"jobs"}  # mass actions as jobs: tests/test_api_jobs.py
OWN_CONTRACT_TESTS |= {"reports"}  # the annual report and coverage: tests/test_report_annual.py
OWN_CONTRACT_TESTS |= {"targets"}  # targets and denominators: tests/test_report_targets.py
OWN_CONTRACT_TESTS |= {"records"}  # signed recognition records: tests/test_records.py
OWN_CONTRACT_TESTS |= {"papers"}  # the decision's PDF: tests/test_papers_decision.py
OWN_CONTRACT_TESTS |= {"collectives", "definitions"}  # issue 14: tests/test_web_titles.py


@pytest.fixture
def contract() -> Contract:
    return Contract()


def test_responses_conform_to_the_document(app, client, world, contract, monkeypatch):
    c = contract
    officer, appraiser = bearer(world.officer()), bearer(world.appraiser())
    apps_path, one = f"{API}/applications", f"{API}/applications/{{app_id}}"
    c.check(client.get(f"{API}/openapi.json"), "get", f"{API}/openapi.json")
    from .factories import PASSWORD

    c.check(client.post(f"{API}/tokens", json={"username": world.officer().username, "password": PASSWORD}),
            "post", f"{API}/tokens")
    c.check(client.post(f"{API}/tokens", json={"username": "x", "password": "y"}), "post", f"{API}/tokens")
    c.check(client.post(f"{API}/tokens", data="{", content_type="application/json"), "post", f"{API}/tokens")
    c.check(client.post(f"{API}/tokens", json={}), "post", f"{API}/tokens")
    c.check(client.get(f"{API}/campaigns", headers=officer), "get", f"{API}/campaigns")
    c.check(client.get(f"{API}/campaigns"), "get", f"{API}/campaigns")
    rubric_path = f"{API}/campaigns/{{campaign_id}}/rubric"
    c.check(client.get(f"{API}/campaigns/{world.cdht.id}/rubric", headers=officer), "get", rubric_path)
    c.check(client.get(f"{API}/campaigns/99999/rubric", headers=officer), "get", rubric_path)

    created = c.check(client.post(apps_path, headers=officer, json={
        "campaign": world.cdht.id, "unit": world.branch().id, "full_name": "Hoàng Văn Đức",
        "date_of_birth": "1970-01-02", "citizen_id": "079070000001", "subject_group": "2"}), "post", apps_path)
    c.check(client.post(apps_path, headers=officer, json={"campaign": "x"}), "post", apps_path)
    c.check(client.post(apps_path, headers=appraiser, json={
        "campaign": world.cdht.id, "unit": world.branch().id, "full_name": "X", "date_of_birth": "1970-01-02",
        "citizen_id": "079070000002", "subject_group": "2"}), "post", apps_path)
    c.check(client.post(apps_path, headers=officer, data="[", content_type="application/json"), "post", apps_path)
    c.check(client.get(apps_path, headers=officer), "get", apps_path)
    c.check(client.get(f"{apps_path}?state=nope", headers=officer), "get", apps_path)
    app_id = created["id"]
    c.check(client.get(f"{apps_path}/{app_id}", headers=officer), "get", one)
    c.check(client.get(f"{apps_path}/{app_id}", headers=bearer(world.officer(1))), "get", one)
    c.check(client.get(f"{apps_path}/{app_id}/history", headers=officer), "get", f"{one}/history")
    c.check(client.get(f"{apps_path}/{app_id}/history", headers=bearer(world.officer(1))), "get", f"{one}/history")

    ev_path = f"{one}/evidence"
    version = created["version"]
    for i, code in enumerate(CDHT_CODES):
        form = {"criterion": code, "file": (io.BytesIO(PDF + bytes([i])), f"mc {code}.pdf")}
        body = c.check(client.post(f"{apps_path}/{app_id}/evidence", headers=officer, data=form,
                                   content_type="multipart/form-data"), "post", ev_path)
        version = body["application"]["version"]
    evidence_id = body["evidence"]["id"]
    c.check(client.post(f"{apps_path}/{app_id}/evidence", headers=officer, content_type="multipart/form-data",
                        data={"criterion": "1.1", "file": (io.BytesIO(b"MZ"), "a.pdf")}), "post", ev_path)
    c.check(client.post(f"{apps_path}/{app_id}/evidence", headers=appraiser, content_type="multipart/form-data",
                        data={"criterion": "1.1", "file": (io.BytesIO(PDF), "a.pdf")}), "post", ev_path)
    c.check(client.post(f"{apps_path}/{app_id}/evidence", headers=bearer(world.officer(1)),
                        content_type="multipart/form-data", data={"criterion": "1.1"}), "post", ev_path)
    c.check(client.post(f"{apps_path}/{app_id}/evidence", headers=officer, content_type="multipart/form-data",
                        data={"criterion": "1.1", "version": "1", "file": (io.BytesIO(PDF), "a.pdf")}),
            "post", ev_path)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    c.check(client.post(f"{apps_path}/{app_id}/evidence", headers=officer, content_type="multipart/form-data",
                        data={"criterion": "1.1", "file": (io.BytesIO(PDF * 100), "a.pdf")}), "post", ev_path)
    monkeypatch.undo()
    dl_path = f"{one}/evidence/{{evidence_id}}"
    c.check(client.get(f"{apps_path}/{app_id}/evidence/{evidence_id}", headers=officer), "get", dl_path)
    c.check(client.get(f"{apps_path}/{app_id}/evidence/999", headers=officer), "get", dl_path)

    act = f"{one}/actions/{{action}}"
    submitted = c.check(client.post(f"{apps_path}/{app_id}/actions/submit", headers=officer,
                                    json={"version": version}), "post", act)
    version = submitted["version"]
    scores_path = f"{one}/scores"
    c.check(client.put(f"{apps_path}/{app_id}/scores", headers=officer, json={"scores": {"1.1": 3}, "version": 1}),
            "put", scores_path)
    c.check(client.put(f"{apps_path}/{app_id}/scores", headers=officer, json={"scores": {"1.1": "3"}}),
            "put", scores_path)
    c.check(client.put(f"{apps_path}/{app_id}/scores", headers=officer, data="{", content_type="application/json"),
            "put", scores_path)
    c.check(client.put(f"{apps_path}/{app_id}/scores", headers=appraiser, json={"scores": {"1.1": 3}}),
            "put", scores_path)
    c.check(client.put(f"{apps_path}/{app_id}/scores", headers=bearer(world.officer(1)),
                       json={"scores": {"1.1": 3}}), "put", scores_path)
    version = c.check(client.put(f"{apps_path}/{app_id}/scores", headers=officer,
                                 json={"scores": dict.fromkeys(CDHT_CODES, 9), "version": version}),
                      "put", scores_path)["version"]
    c.check(client.post(f"{apps_path}/{app_id}/actions/submit", headers=officer, json={"version": version - 1}),
            "post", act)
    c.check(client.post(f"{apps_path}/{app_id}/actions/submit", headers=officer, data="{",
                        content_type="application/json"), "post", act)
    c.check(client.post(f"{apps_path}/{app_id}/actions/approve", headers=officer, json={"version": version}),
            "post", act)
    c.check(client.post(f"{apps_path}/{app_id}/actions/return", headers=officer, json={"version": version}),
            "post", act)
    c.check(client.post(f"{apps_path}/{app_id}/actions/submit", headers=bearer(world.officer(1)),
                        json={"version": version}), "post", act)

    batch = f"{API}/batches/{{action}}"
    other = cdht_at(world, "commune_appraisal")
    c.check(client.post(f"{API}/batches/approve", headers=appraiser, json={"ids": [other.id, 424242]}), "post", batch)
    c.check(client.post(f"{API}/batches/approve", headers=appraiser, json={"ids": []}), "post", batch)
    c.check(client.post(f"{API}/batches/approve", headers=appraiser, data="x", content_type="application/json"),
            "post", batch)
    c.check(client.post(f"{API}/batches/fly", headers=appraiser, json={"ids": [1]}), "post", batch)
    c.check(client.get(f"{API}/audit/verify", headers=bearer(world.auditor)), "get", f"{API}/audit/verify")
    c.check(client.get(f"{API}/audit/verify", headers=officer), "get", f"{API}/audit/verify")
    c.check(client.get(f"{API}/notifications", headers=officer), "get", f"{API}/notifications")
    c.check(client.get(f"{API}/notifications?unread=x", headers=officer), "get", f"{API}/notifications")

    admin = bearer(world.admin)
    campaigns, one_campaign = f"{API}/campaigns", f"{API}/campaigns/{{campaign_id}}"
    opened = c.check(client.post(campaigns, headers=admin, json={
        "title": "CDHT", "year": 2031, "province_id": world.province.id, "rubric_id": world.cdht.rubric_id,
        "name": "Đợt 2031", "opens_on": "2031-10-01", "submit_deadline": "2031-11-30",
        "decision_deadline": "2031-12-31"}), "post", campaigns)
    c.check(client.post(campaigns, headers=officer, json={"title": "CDHT"}), "post", campaigns)
    c.check(client.get(f"{campaigns}/{opened['id']}", headers=officer), "get", one_campaign)
    c.check(client.get(f"{campaigns}/424242", headers=officer), "get", one_campaign)
    c.check(client.patch(f"{campaigns}/{opened['id']}", headers=admin,
                         json={"submit_deadline": "2031-12-05", "reason": "Bão lũ"}), "patch", one_campaign)
    c.check(client.patch(f"{campaigns}/{opened['id']}", headers=admin, json={"submit_deadline": "x"}),
            "patch", one_campaign)

    exercised = {(m, p) for m, p, _ in c.seen}
    every_operation = {(m, p) for p, item in document()["paths"].items() for m, spec in item.items()
                       if not set(spec["tags"]) & OWN_CONTRACT_TESTS}
    assert exercised == every_operation
    statuses = {s for _, _, s in c.seen}
    assert statuses >= {"200", "201", "400", "401", "403", "404", "409", "413", "422"}
