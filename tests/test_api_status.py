"""Every status code the API promises, each provoked through HTTP: 200/201, 400, 401 (see test_api_support), 403,
404, 405, 409, 413, 422; errors are JSON in the caller's language; one commit per request, nothing on refusal."""
from __future__ import annotations

from sqlalchemy import func, select

from workflow.db import db
from workflow.models import Application, AuditEvent, Notification, Score

from .factories import cdht_at, make_user
from .test_api_support import API, bearer, error_of

CDHT_CODES = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]


def new_body(world, **overrides) -> dict:
    body = {"campaign": world.cdht.id, "unit": world.branch().id, "full_name": "  Trần   Thị Bình ",
            "date_of_birth": "1990-04-30", "citizen_id": "001190000777", "subject_group": "1"}
    body.update(overrides)
    return body


def events_of(app_id: int) -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.application_id == app_id))


# ---------------------------------------------------------------- 200 / 201

def test_create_then_read_201_200(client, world):
    officer = world.officer()
    resp = client.post(f"{API}/applications", json=new_body(world), headers=bearer(officer))
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert resp.headers["Location"] == f"{API}/applications/{created['id']}"
    assert created["full_name"] == "Trần Thị Bình" and created["state"] == "evidence_collection"
    assert created["version"] == 1 and created["campaign"]["id"] == world.cdht.id
    assert created["unit"]["id"] == world.branch().id
    assert created["allowed_actions"] == ["submit", "withdraw"]
    got = client.get(f"{API}/applications/{created['id']}", headers=bearer(officer))
    assert got.status_code == 200
    assert got.get_json() == created
    assert events_of(created["id"]) == 1


def test_list_filters_and_paging(client, world):
    first = world.new_cdht(full_name="Nguyễn Văn An")
    world.new_cdht(full_name="Lê Thị Đào")
    world.new_cdht(1, full_name="Phạm Văn An")  # another commune
    db.session.commit()
    officer_headers = bearer(world.officer())
    mine = client.get(f"{API}/applications", headers=officer_headers).get_json()
    assert mine["total"] == 2 and {i["full_name"] for i in mine["items"]} == {"Nguyễn Văn An", "Lê Thị Đào"}
    approver = bearer(world.approver)
    everything = client.get(f"{API}/applications?per_page=2&page=1", headers=approver).get_json()
    assert (everything["total"], everything["pages"], len(everything["items"])) == (3, 2, 2)
    second_page = client.get(f"{API}/applications?per_page=2&page=2", headers=approver).get_json()
    assert len(second_page["items"]) == 1
    found = client.get(f"{API}/applications", query_string={"q": "nguyen van an"}, headers=approver).get_json()
    assert [i["id"] for i in found["items"]] == [first.id]
    by_unit = client.get(f"{API}/applications?unit={world.communes[1].id}", headers=approver).get_json()
    assert [i["full_name"] for i in by_unit["items"]] == ["Phạm Văn An"]
    by_state = client.get(f"{API}/applications?state=recognised&campaign={world.cdht.id}",
                          headers=approver).get_json()
    assert by_state["total"] == 0


def test_campaigns_and_rubric(client, world):
    headers = bearer(world.appraiser())
    campaigns = client.get(f"{API}/campaigns", headers=headers).get_json()["items"]
    cdht = next(c for c in campaigns if c["title"] == "CDHT")
    rubric = client.get(f"{API}/campaigns/{cdht['id']}/rubric", headers=headers)
    assert rubric.status_code == 200
    body = rubric.get_json()
    assert body["kind"] == "points" and body["pass_rule"]["min_total"] == 80
    assert len(body["criteria"]) == 10 and all(c["min"] == 0 and c["max"] == 10 for c in body["criteria"])
    assert client.get(f"{API}/campaigns/999999/rubric", headers=headers).status_code == 404


def test_action_200_with_new_state_and_history(client, world):
    target = cdht_at(world, "commune_appraisal")
    version = target.version
    resp = client.post(f"{API}/applications/{target.id}/actions/approve", json={"version": version},
                       headers=bearer(world.appraiser()))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["ok"], body["from"], body["state"], body["version"]) == (
        True, "commune_appraisal", "final_approval", version + 1)
    assert body["allowed_actions"] == []  # the appraiser's part is done
    history = client.get(f"{API}/applications/{target.id}/history", headers=bearer(world.auditor)).get_json()
    assert history["items"][-1]["action"] == "approve"
    assert history["items"][-1]["from"] == "commune_appraisal" and history["items"][-1]["to"] == "final_approval"
    assert [e["action"] for e in history["items"]][0] == "create"


def test_scores_put_200(client, world):
    target = cdht_at(world, "branch_scoring")
    version = target.version
    resp = client.put(f"{API}/applications/{target.id}/scores",
                      json={"scores": {"1.1": 9, "1.2": 8}, "version": version},
                      headers=bearer(world.officer()))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {s["criterion"]: s["value"] for s in body["scores"]} == {"1.1": 9, "1.2": 8}
    assert body["score"]["total"] == 17 and body["score"]["passes"] is False
    assert body["version"] == version + 1


def test_batch_gives_a_result_per_item(client, world):
    ok = cdht_at(world, "commune_appraisal")
    other_commune = cdht_at(world, "commune_appraisal", commune=1)
    wrong_state = cdht_at(world, "branch_scoring")
    resp = client.post(f"{API}/batches/approve", json={"ids": [ok.id, other_commune.id, wrong_state.id, 999999]},
                       headers=bearer(world.appraiser(), "en"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["succeeded"], body["failed"]) == (1, 3)
    results = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == [ok.id, other_commune.id, wrong_state.id, 999999]
    assert results[ok.id]["ok"] and results[ok.id]["state"] == "final_approval"
    assert results[other_commune.id]["error"]["code"] == "not_found"  # outside the commune: as if absent
    assert results[999999]["error"]["code"] == "not_found"
    assert results[wrong_state.id]["error"]["code"] == "invalid_action"
    assert results[wrong_state.id]["error"]["message"] == (
        "«Approve» is not possible while the application is in state «Branch scoring».")  # issue 13: labels
    assert results[wrong_state.id]["error"]["params"] == {"action": "approve", "state": "branch_scoring"}


def test_audit_verify_for_auditors_only(client, world):
    cdht_at(world, "commune_appraisal")
    for user in (world.auditor, world.admin):
        resp = client.get(f"{API}/audit/verify", headers=bearer(user))
        assert resp.status_code == 200
        body = resp.get_json()
        assert body["ok"] is True and body["sealed"] + body["waiting"] == db.session.scalar(
            select(func.count()).select_from(AuditEvent))
    for user in (world.officer(), world.appraiser(), world.approver):
        resp = client.get(f"{API}/audit/verify", headers=bearer(user))
        assert resp.status_code == 403 and error_of(resp)["code"] == "forbidden"


def test_notifications_are_the_callers_own(client, world):
    officer, other = world.officer(), world.officer(1)
    db.session.add_all([
        Notification(user_id=officer.id, channel="inapp", kind="transition", subject="Hồ sơ đã được duyệt"),
        Notification(user_id=officer.id, channel="email", kind="transition", subject="e-mail copy"),
        Notification(user_id=other.id, channel="inapp", kind="transition", subject="Không phải của bạn"),
    ])
    db.session.commit()
    mine = client.get(f"{API}/notifications", headers=bearer(officer)).get_json()
    assert [n["subject"] for n in mine["items"]] == ["Hồ sơ đã được duyệt"] and mine["total"] == 1
    unread = client.get(f"{API}/notifications?unread=true", headers=bearer(other)).get_json()
    assert [n["subject"] for n in unread["items"]] == ["Không phải của bạn"]
    assert client.get(f"{API}/notifications?unread=maybe", headers=bearer(other)).status_code == 422


def test_openapi_is_public_and_every_response_is_nosniff(client, world):
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200 and resp.get_json()["openapi"].startswith("3.1")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------- 400

def test_malformed_json_400_changes_nothing(client, world):
    target = cdht_at(world, "commune_appraisal")
    headers = bearer(world.appraiser(), "en")
    for data in ('{"version": 3,', "\xff\xfe", "[1, 2]", '"text"'):
        resp = client.post(f"{API}/applications/{target.id}/actions/approve", data=data,
                           content_type="application/json", headers=headers)
        assert resp.status_code == 400
        assert error_of(resp)["code"] in {"bad_json", "bad_body"}
    resp = client.post(f"{API}/applications", data="{", content_type="application/json", headers=headers)
    assert resp.status_code == 400 and error_of(resp)["message"] == "The request body is not valid JSON."
    db.session.expire_all()
    assert db.session.get(Application, target.id).version == target.version


# ---------------------------------------------------------------- 403

def test_wrong_role_403_in_scope(client, world):
    target = cdht_at(world, "commune_appraisal")
    resp = client.post(f"{API}/applications/{target.id}/actions/approve", json={"version": target.version},
                       headers=bearer(world.approver))  # in scope, but the commune approves this stage
    assert resp.status_code == 403
    err = error_of(resp)
    assert err["code"] == "wrong_role" and "«Xã thẩm định»" in err["message"]  # issue 13: the stage's label
    assert err["params"]["state"] == "commune_appraisal"


def test_create_in_a_unit_outside_scope_is_403(client, world):
    resp = client.post(f"{API}/applications", json=new_body(world, unit=world.branch(1).id),
                       headers=bearer(world.officer(0)))
    assert resp.status_code == 403 and error_of(resp)["code"] == "outside_scope"
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


# ---------------------------------------------------------------- 404

def test_other_units_application_is_404_everywhere(client, world):
    target = cdht_at(world, "commune_appraisal", commune=1)
    headers = bearer(world.appraiser(0), "en")
    calls = [
        client.get(f"{API}/applications/{target.id}", headers=headers),
        client.get(f"{API}/applications/{target.id}/history", headers=headers),
        client.post(f"{API}/applications/{target.id}/actions/approve", json={"version": target.version},
                    headers=headers),
        client.post(f"{API}/applications/{target.id}/actions/approve", json={"version": 999}, headers=headers),
        client.post(f"{API}/applications/{target.id}/actions/approve", json={}, headers=headers),
        client.put(f"{API}/applications/{target.id}/scores", json={"scores": {"1.1": 1}, "reason": "x"},
                   headers=headers),
        client.get(f"{API}/applications/{target.id}/evidence/1", headers=headers),
    ]
    missing = client.get(f"{API}/applications/987654", headers=headers)
    for resp in calls:
        assert resp.status_code == 404, (resp.request.path, resp.get_json())
        assert error_of(resp) == error_of(missing)  # identical to an id that does not exist
    assert error_of(missing)["message"] == "Application not found."
    listed = client.get(f"{API}/applications", headers=headers).get_json()
    assert listed["total"] == 0


def test_unknown_routes_and_methods_are_json(client, world):
    headers = bearer(world.officer(), "en")
    for path in (f"{API}/nothing-here", f"{API}/applications/abc", API):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 404 and error_of(resp)["code"] == "route_not_found"
    resp = client.delete(f"{API}/applications", headers=headers)
    assert resp.status_code == 405 and error_of(resp)["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert error_of(resp)["message"] == "This address does not accept DELETE."
    unknown_action = client.post(f"{API}/applications/1/actions/publish", json={"version": 1}, headers=headers)
    assert unknown_action.status_code == 404 and error_of(unknown_action)["code"] == "unknown_action"
    assert client.post(f"{API}/batches/publish", json={"ids": [1]}, headers=headers).status_code == 404


def test_with_csrf_on_the_api_is_exempt_and_unknown_addresses_stay_json(app, client, world, monkeypatch):
    """The pages protect forms with CSRF; bearer-token calls carry no CSRF token and must not be refused, and
    an unknown address or method under /api/v1 must not get the pages' HTML CSRF error either."""
    from .factories import PASSWORD

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    token = client.post(f"{API}/tokens", json={"username": world.officer().username, "password": PASSWORD})
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.get_json()['token']}", "Accept-Language": "en"}
    created = client.post(f"{API}/applications", json=new_body(world), headers=headers)
    assert created.status_code == 201
    for method, path, status in (("DELETE", f"{API}/applications", 405), ("POST", f"{API}/nothing", 404),
                                 ("PUT", f"{API}/campaigns", 405), ("PATCH", API, 404)):
        resp = client.open(path, method=method, headers=headers, json={})
        assert resp.status_code == status and error_of(resp)["code"] in {"method_not_allowed", "route_not_found"}


def test_unknown_route_needs_no_token_to_be_json(client):
    resp = client.get(f"{API}/no/such/thing")
    assert resp.status_code == 404 and error_of(resp)["message"] == "Không có địa chỉ này trong API."


# ---------------------------------------------------------------- 409

def test_stale_version_409_changes_nothing(client, world):
    target = cdht_at(world, "commune_appraisal")
    before = events_of(target.id)
    resp = client.post(f"{API}/applications/{target.id}/actions/return",
                       json={"version": target.version - 1, "reason": "Thiếu minh chứng 2.1"},
                       headers=bearer(world.appraiser()))
    assert resp.status_code == 409
    err = error_of(resp)
    assert err["code"] == "conflict" and err["params"] == {"expected": target.version - 1, "actual": target.version}
    assert "Vui lòng tải lại" in err["message"]
    assert events_of(target.id) == before
    stale_scores = client.put(f"{API}/applications/{target.id}/scores",
                              json={"scores": {"1.1": 10}, "reason": "điều chỉnh", "version": 1},
                              headers=bearer(world.appraiser()))
    assert stale_scores.status_code == 409


# ---------------------------------------------------------------- 422

def test_guard_refusal_422_with_reason(client, world):
    target = cdht_at(world, "evidence_collection")
    resp = client.post(f"{API}/applications/{target.id}/actions/submit", json={"version": target.version},
                       headers=bearer(world.officer(), "en"))
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "evidence_missing" and err["message"].startswith("Evidence missing for criteria:")
    scoring = cdht_at(world, "commune_appraisal")
    no_reason = client.post(f"{API}/applications/{scoring.id}/actions/reject", json={"version": scoring.version},
                            headers=bearer(world.appraiser()))
    assert no_reason.status_code == 422
    assert error_of(no_reason) == {"code": "reason_required",
                                   "message": "Vui lòng nêu lý do (với trả lại: liệt kê những gì cần bổ sung)."}


def test_pass_rule_refusal_422(client, world):
    target = cdht_at(world, "branch_scoring")
    headers = bearer(world.officer())
    put = client.put(f"{API}/applications/{target.id}/scores", json={"scores": dict.fromkeys(CDHT_CODES, 7)},
                     headers=headers)
    assert put.status_code == 200 and put.get_json()["score"]["total"] == 70
    db.session.expire_all()
    version = db.session.get(Application, target.id).version
    resp = client.post(f"{API}/applications/{target.id}/actions/submit", json={"version": version},
                       headers={**headers, "Accept-Language": "en"})
    assert resp.status_code == 422
    assert error_of(resp)["message"] == "Total 70 is below the pass mark 80."


def test_create_field_errors_422(client, world):
    resp = client.post(f"{API}/applications", headers=bearer(world.officer(), "en"), json=new_body(
        world, citizen_id="12345", date_of_birth="30/02/1990", full_name=17, unit="5", campaign=True))
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "invalid_input"
    assert err["fields"] == {"citizen_id": "A citizen ID has exactly 12 digits.",
                             "date_of_birth": "Must be a real date, as dd/mm/yyyy (for example 01/12/2026) or "
                                              "YYYY-MM-DD.",
                             "full_name": "Must be a string.", "unit": "Must be an integer.",
                             "campaign": "Must be an integer."}
    vi = client.post(f"{API}/applications", headers=bearer(world.officer()),
                     json=new_body(world, date_of_birth="2999-01-01", citizen_id="00119000077a"))
    assert error_of(vi)["fields"] == {"date_of_birth": "Ngày sinh phải từ 01/01/1900 đến hôm nay.",
                                      "citizen_id": "Số CCCD phải gồm đúng 12 chữ số."}
    missing = client.post(f"{API}/applications", headers=bearer(world.officer()), json={})
    assert set(error_of(missing)["fields"]) == {"campaign", "unit", "full_name", "citizen_id", "date_of_birth"}
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_create_duplicate_citizen_422(client, world):
    world.new_cdht(1, citizen_id="001190000777")
    db.session.commit()
    resp = client.post(f"{API}/applications", json=new_body(world), headers=bearer(world.officer()))
    assert resp.status_code == 422 and error_of(resp)["code"] == "duplicate_subject"


def test_create_across_provinces(client, world):
    from workflow.loader import add_unit
    from workflow.models import RoleGrant

    other = add_unit("PX", "Tỉnh Khác", "province")
    far_branch = add_unit("PXB", "Chi hội xa", "branch", other)
    stranger = make_user("branch_officer", far_branch)
    db.session.commit()
    resp = client.post(f"{API}/applications", json=new_body(world, unit=far_branch.id), headers=bearer(world.officer()))
    assert resp.status_code == 403 and error_of(resp)["code"] == "outside_scope"
    resp = client.post(f"{API}/applications", json=new_body(world, unit=far_branch.id), headers=bearer(stranger))
    assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"campaign"}  # not a campaign of theirs
    db.session.add(RoleGrant(user=stranger, role="branch_officer", unit=world.branch()))
    db.session.commit()
    db.session.expire(stranger)
    stranger._actor = None
    resp = client.post(f"{API}/applications", json=new_body(world, unit=far_branch.id),
                       headers=bearer(stranger, "en"))
    assert resp.status_code == 422
    assert error_of(resp)["fields"] == {"unit": "The unit is not in the campaign's province."}
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_scores_field_and_range_errors_422(client, world):
    target = cdht_at(world, "branch_scoring")
    headers = bearer(world.officer(), "en")
    bad_types = client.put(f"{API}/applications/{target.id}/scores",
                           json={"scores": {"1.1": "9", "1.2": True, "1.3": 9.5}}, headers=headers)
    assert bad_types.status_code == 422
    assert set(error_of(bad_types)["fields"]) == {"scores.1.1", "scores.1.2", "scores.1.3"}
    for payload in ({}, {"scores": []}, {"scores": {}}):
        assert client.put(f"{API}/applications/{target.id}/scores", json=payload, headers=headers).status_code == 422
    over = client.put(f"{API}/applications/{target.id}/scores", json={"scores": {"1.1": 11}}, headers=headers)
    assert over.status_code == 422
    assert error_of(over)["message"] == "Criterion 1.1 takes 0 to 10 points (got 11)."
    unknown = client.put(f"{API}/applications/{target.id}/scores", json={"scores": {"9.9": 1}}, headers=headers)
    assert error_of(unknown)["code"] == "unknown_criterion"
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0


def test_action_needs_a_version_422(client, world):
    target = cdht_at(world, "commune_appraisal")
    resp = client.post(f"{API}/applications/{target.id}/actions/approve", json={"version": "3"},
                       headers=bearer(world.appraiser()))
    assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"version"}
    invalid = client.post(f"{API}/applications/{target.id}/actions/revoke",
                          json={"version": target.version, "reason": "x"}, headers=bearer(world.approver))
    assert invalid.status_code == 422 and error_of(invalid)["code"] == "invalid_action"


def test_numbers_beyond_32_bits_are_refused_cleanly(client, world):
    """Found by the schemathesis run: a huge id once reached the database and failed there (500)."""
    headers = bearer(world.approver)
    huge = 2**63
    for path in (f"{API}/applications/{huge}", f"{API}/applications/{huge}/history",
                 f"{API}/campaigns/{huge}/rubric", f"{API}/applications/1/evidence/{huge}"):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 404 and error_of(resp)["code"] in {"route_not_found", "not_found"}, path
    listed = client.get(f"{API}/applications?unit={huge}&campaign={huge}", headers=headers)
    assert listed.status_code == 422 and set(error_of(listed)["fields"]) == {"unit", "campaign"}
    created = client.post(f"{API}/applications", headers=bearer(world.officer()),
                          json=new_body(world, campaign=huge, unit=huge, residence_unit=huge, target_level=huge))
    assert created.status_code == 422
    assert set(error_of(created)["fields"]) == {"campaign", "unit", "residence_unit", "target_level"}
    batch = client.post(f"{API}/batches/approve", headers=headers, json={"ids": [1, huge]})
    assert batch.status_code == 422
    action = client.post(f"{API}/applications/1/actions/approve", headers=headers, json={"version": huge})
    assert action.status_code in (404, 422)


def test_control_characters_and_lone_surrogates_are_refused(client, world):
    """Found by the schemathesis run on PostgreSQL: a NUL in a string reached the database and failed there (500)."""
    target = cdht_at(world, "commune_appraisal")
    headers = bearer(world.appraiser(), "en")
    for bad in ("a\x00b", "tab\x1bescape", "\ud800"):
        resp = client.post(f"{API}/tokens", json={"username": bad, "password": "x"})
        assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"username"}
        resp = client.post(f"{API}/applications", headers=bearer(world.officer()), json=new_body(world, full_name=bad))
        assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"full_name"}
        if bad.isascii():  # a lone surrogate cannot even be put into a URL
            resp = client.get(f"{API}/applications", query_string={"q": bad}, headers=headers)
            assert resp.status_code == 422
            assert error_of(resp)["fields"] == {"q": "Contains control or invalid characters."}
        resp = client.post(f"{API}/applications/{target.id}/actions/return", headers=headers,
                           json={"version": target.version, "reason": f"Thiếu {bad}"})
        assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"reason"}
    multiline = client.post(f"{API}/applications/{target.id}/actions/return", headers=headers,
                            json={"version": target.version, "reason": "Thiếu:\n- minh chứng 2.1\n\t- ảnh chụp"})
    assert multiline.status_code == 200


def test_list_query_errors_422(client, world):
    resp = client.get(f"{API}/applications?state=flying&page=0&per_page=1000&unit=x", headers=bearer(world.approver))
    assert resp.status_code == 422
    assert set(error_of(resp)["fields"]) == {"state", "page", "per_page", "unit"}


def test_batch_body_errors_422(client, world):
    headers = bearer(world.appraiser())
    for ids in (None, [], ["1"], [True], [0], list(range(1, 5003))):
        resp = client.post(f"{API}/batches/approve", json={"ids": ids}, headers=headers)
        assert resp.status_code == 422 and set(error_of(resp)["fields"]) == {"ids"}


# ---------------------------------------------------------------- one commit per request

def test_refused_action_writes_nothing_and_success_commits(client, world):
    target = cdht_at(world, "final_approval")
    before, version, headers = events_of(target.id), target.version, bearer(world.approver)
    refused = client.post(f"{API}/applications/{target.id}/actions/return", json={"version": version},
                          headers=headers)
    assert refused.status_code == 422
    assert events_of(target.id) == before
    done = client.post(f"{API}/applications/{target.id}/actions/approve", json={"version": version},
                       headers=headers)
    assert done.status_code == 200
    db.session.remove()  # a new session sees only what the request committed
    assert db.session.get(Application, target.id).state == "recognised"
    assert events_of(target.id) == before + 1
    detail = client.get(f"{API}/applications/{target.id}", headers=headers).get_json()
    assert detail["state"] == "recognised" and detail["allowed_actions"] == ["revoke"]


def test_xht_commune_files_itself(client, world):
    from .factories import xht_level1_history

    xht_level1_history(world)  # level 2 requires level 1 at least 12 months before (issue 12)
    headers = bearer(world.appraiser())
    resp = client.post(f"{API}/applications", headers=headers,
                       json={"campaign": world.xht.id, "unit": world.communes[0].id, "target_level": 2})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["full_name"], body["citizen_id"], body["target_level"]) == ("Xã Đông Phong", None, 2)
    assert body["rubric"]["kind"] == "met" and body["allowed_actions"] == ["submit", "withdraw"]
    rubric = client.get(f"{API}/campaigns/{world.xht.id}/rubric", headers=headers).get_json()
    assert rubric["kind"] == "met" and all(c["max"] == 1 for c in rubric["criteria"])
    again = client.post(f"{API}/applications", headers=headers,
                        json={"campaign": world.xht.id, "unit": world.communes[0].id})
    assert again.status_code == 422 and error_of(again)["code"] == "duplicate_commune"
