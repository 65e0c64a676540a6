"""Authorization as a matrix through the API (invariant 5): every role x every operation x own unit / other unit.

The expected code comes from the rule, not from the implementation: outside one's units an existing application
is 404 (creation names a unit, so it is 403 outside_scope); inside, only the role the approval chain names for the
stage may act (200/201), every other role gets 403. A refusal changes nothing."""
from __future__ import annotations

import io
import itertools

import pytest
from sqlalchemy import func, select

from workflow.db import db
from workflow.loader import add_unit
from workflow.models import Application, AuditEvent

from .factories import add_all_evidence, cdht_at, make_user, score_all
from .test_api_support import API, bearer, error_of
from .test_api_uploads import PDF

ROLES = ("branch_officer", "commune_appraiser", "provincial_approver", "district_approver", "auditor", "admin")
FINAL = "final"  # the approver the chain names for final approval: provincial (two tiers) or district (three)

# (operation, state the application is brought to, role that owns it at that state, new state on success)
CASES = [
    ("create", None, "branch_officer", "evidence_collection"),
    ("evidence", "evidence_collection", "branch_officer", "evidence_collection"),
    ("evidence", "branch_scoring", "branch_officer", "branch_scoring"),
    ("score", "branch_scoring", "branch_officer", "branch_scoring"),
    ("score", "commune_appraisal", "commune_appraiser", "commune_appraisal"),
    ("score", "final_approval", FINAL, "final_approval"),
    ("submit", "evidence_collection", "branch_officer", "branch_scoring"),
    ("submit", "branch_scoring", "branch_officer", "commune_appraisal"),
    ("withdraw", "evidence_collection", "branch_officer", "withdrawn"),
    ("withdraw", "branch_scoring", "branch_officer", "withdrawn"),
    ("return", "branch_scoring", "branch_officer", "evidence_collection"),
    ("approve", "commune_appraisal", "commune_appraiser", "final_approval"),
    ("return", "commune_appraisal", "commune_appraiser", "branch_scoring"),
    ("reject", "commune_appraisal", "commune_appraiser", "rejected"),
    ("approve", "final_approval", FINAL, "recognised"),
    ("return", "final_approval", FINAL, "commune_appraisal"),
    ("reject", "final_approval", FINAL, "rejected"),
    ("revoke", "recognised", FINAL, "revoked"),
]
_cids = itertools.count(790000000001)


def _owner(case_owner: str, tiers: int) -> str:
    if case_owner == FINAL:
        return "district_approver" if tiers == 3 else "provincial_approver"
    return case_owner


def users_for(world, role: str) -> tuple[object, object]:
    """(a user of this role whose grant covers the application's unit, one whose grant does not)."""
    if role == "branch_officer":
        return world.officer(0, 0), world.officer(1, 0)
    if role == "commune_appraiser":
        return world.appraiser(0), world.appraiser(1)
    if role == "district_approver":
        other_district = add_unit("DX", "Huyện Khác", "district", world.province)
        return world.approver, make_user(role, other_district)
    other_province = add_unit("PX", "Tỉnh Khác", "province")
    own = {"provincial_approver": world.approver, "auditor": world.auditor, "admin": world.admin}[role]
    return own, make_user(role, other_province)


def prepare(world, state: str | None) -> Application | None:
    """The application the operation acts on, made ready so that its owner would succeed."""
    if state is None:
        return None
    target = cdht_at(world, state)
    officer = world.officer()
    if state == "evidence_collection":
        add_all_evidence(target, officer)  # so that the owner's submit passes its guard
    if state == "branch_scoring":
        score_all(target, officer)
    db.session.commit()
    return target


def perform(client, world, operation: str, target: Application | None, version: int | None, headers: dict):
    if operation == "create":
        return client.post(f"{API}/applications", headers=headers, json={
            "campaign": world.cdht.id, "unit": world.branch(0, 0).id, "full_name": "Đỗ Thị Lan",
            "date_of_birth": "1988-08-08", "citizen_id": str(next(_cids)), "subject_group": "1"})
    path = f"{API}/applications/{target.id}"
    if operation == "evidence":
        return client.post(f"{path}/evidence", headers=headers, content_type="multipart/form-data",
                           data={"criterion": "1.1", "version": str(version),
                                 "file": (io.BytesIO(PDF), "minh chứng bổ sung.pdf")})
    if operation == "score":
        return client.put(f"{path}/scores", headers=headers,
                          json={"scores": {"1.1": 8}, "reason": "Điều chỉnh theo minh chứng", "version": version})
    return client.post(f"{path}/actions/{operation}", headers=headers,
                       json={"version": version, "reason": "Lý do: thiếu minh chứng tiêu chí 2.1"})


def expected_status(operation: str, role: str, owner: str, scope: str) -> int:
    if scope == "other":
        return 403 if operation == "create" else 404
    if role != owner:
        return 403
    return 201 if operation in ("create", "evidence") else 200


@pytest.mark.parametrize("scope", ["own", "other"])
@pytest.mark.parametrize(("operation", "state", "case_owner", "after"), CASES,
                         ids=[f"{c[0]}@{c[1] or 'new'}" for c in CASES])
@pytest.mark.parametrize("role", ROLES)
def test_matrix(request, client, role, operation, state, case_owner, after, scope):
    tiers = 3 if role == "district_approver" else 2
    world = request.getfixturevalue("world3" if tiers == 3 else "world")
    owner = _owner(case_owner, tiers)
    own, other = users_for(world, role)
    target = prepare(world, state)
    db.session.commit()
    user = own if scope == "own" else other
    version = target.version if target is not None else None
    app_id = target.id if target is not None else None
    before_apps = db.session.scalar(select(func.count()).select_from(Application))
    before_events = db.session.scalar(select(func.count()).select_from(AuditEvent))

    resp = perform(client, world, operation, target, version, bearer(user, "en"))

    expected = expected_status(operation, role, owner, scope)
    assert resp.status_code == expected, (role, operation, state, scope, resp.get_json())
    db.session.expire_all()
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    if expected >= 400:
        err = error_of(resp)
        assert err["code"] == {404: "not_found", 403: "wrong_role" if scope == "own" else "outside_scope"}[expected]
        assert events == before_events
        assert db.session.scalar(select(func.count()).select_from(Application)) == before_apps
        if target is not None:
            unchanged = db.session.get(Application, app_id)
            assert (unchanged.state, unchanged.version) == (state, version)
        return
    body = resp.get_json()
    assert events == before_events + 1
    if operation == "create":
        assert body["state"] == after and body["unit"]["id"] == world.branch(0, 0).id
    elif operation == "evidence":
        assert body["application"]["version"] == version + 1
        assert db.session.get(Application, app_id).state == after
    else:
        assert body["state"] == after and body["version"] == version + 1
