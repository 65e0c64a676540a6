"""Authorization through the pages, as a matrix: every role x every action x own unit / other unit.

Outside one's units an application does not exist (404, never a hint that it does); inside them, a role that
does not act at the application's stage gets 403; the acting role succeeds and the state (or data) changes."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from workflow.db import db
from workflow.loader import add_unit
from workflow.models import Application, Evidence

from .factories import PASSWORD, cdht_at, make_user, score_all

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ROLES = ("branch_officer", "commune_appraiser", "provincial_approver", "auditor", "admin")
# (action, the state the application is in, the role that acts there)
ACTIONS = [
    ("withdraw", "evidence_collection", "branch_officer"),
    ("evidence", "evidence_collection", "branch_officer"),
    ("score", "branch_scoring", "branch_officer"),
    ("submit", "branch_scoring", "branch_officer"),
    ("approve", "commune_appraisal", "commune_appraiser"),
    ("return", "commune_appraisal", "commune_appraiser"),
    ("reject", "commune_appraisal", "commune_appraiser"),
    ("adjust", "commune_appraisal", "commune_appraiser"),
    ("approve", "final_approval", "provincial_approver"),
    ("return", "final_approval", "provincial_approver"),
    ("reject", "final_approval", "provincial_approver"),
    ("revoke", "recognised", "provincial_approver"),
]


def _user(world, role: str, own: bool):
    """A user of `role` whose units cover commune 0 (own) or do not (other: commune 1 or another province)."""
    if role == "branch_officer":
        return world.officer(0 if own else 1)
    if role == "commune_appraiser":
        return world.appraiser(0 if own else 1)
    if own:
        return {"provincial_approver": world.approver, "auditor": world.auditor, "admin": world.admin}[role]
    other = add_unit("Q9", "Tỉnh Khác", "province")
    return make_user(role, other)


def _post(client, application, action: str):
    a = application
    if action == "evidence":
        return client.post(f"/applications/{a.id}/evidence", content_type="multipart/form-data",
                           data={"criterion": "1.1", "version": a.version, "file": (io.BytesIO(PDF), "giấy.pdf")})
    if action in ("score", "adjust"):
        return client.post(f"/applications/{a.id}/scores",
                           data={"score-1.1": "8", "version": a.version, "reason": "Điều chỉnh theo minh chứng"})
    return client.post(f"/applications/{a.id}/actions/{action}",
                       data={"version": a.version, "reason": "Lý do kiểm thử", "confirm": "yes"})


def _snapshot(app_id: int) -> tuple:
    db.session.expire_all()
    a = db.session.get(Application, app_id)
    evidence = db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.application_id == app_id))
    return a.state, a.version, evidence


@pytest.mark.parametrize("own", [True, False], ids=["own_unit", "other_unit"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "state", "actor_role"), ACTIONS, ids=[f"{a}@{s}" for a, s, _ in ACTIONS])
def test_action_matrix(client, world, role, own, action, state, actor_role):
    application = cdht_at(world, state)
    if action == "submit":
        score_all(application, world.officer())
        db.session.commit()
    user = _user(world, role, own)
    db.session.commit()
    before = _snapshot(application.id)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    response = _post(client, application, action)
    if not own:
        expected = 404
    elif role == actor_role:
        expected = 302
    else:
        expected = 403
    assert response.status_code == expected, response.get_data(as_text=True)[-600:]
    after = _snapshot(application.id)
    assert (after != before) == (expected == 302)
    if expected == 404:
        assert "Không tìm thấy" in response.get_data(as_text=True)


@pytest.mark.parametrize("own", [True, False], ids=["own_unit", "other_unit"])
@pytest.mark.parametrize("role", ROLES)
def test_view_matrix(client, world, role, own):
    application = cdht_at(world, "commune_appraisal")
    user = _user(world, role, own)
    db.session.commit()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    pages = [f"/applications/{application.id}", f"/applications/{application.id}/timeline",
             f"/applications/{application.id}/scores"]
    for page in pages:
        assert client.get(page).status_code == (200 if own else 404), page
    listed = client.get("/applications?state=all").get_data(as_text=True)
    # the row links to the file with the queue's filter (?from=, for "next file")
    assert (f"/applications/{application.id}?from=" in listed) == own
    batch = client.post("/applications/batch", data={"action": "approve", "ids": [application.id], "confirm": "yes"})
    assert batch.status_code == 200
    assert (application.full_name in batch.get_data(as_text=True)) == own
    assert _snapshot(application.id)[0] == ("final_approval" if own and role == "commune_appraiser"
                                            else "commune_appraisal")


@pytest.mark.parametrize("role", ROLES)
def test_role_pages(client, world, role):
    user = _user(world, role, True)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    audit_ok = role in ("auditor", "admin")
    log = client.get("/audit/log")
    assert log.status_code == (200 if audit_ok else 403)
    if not audit_ok:
        assert "Bạn không có quyền thực hiện" in log.get_data(as_text=True)
    assert client.get("/audit/chain").status_code == (200 if audit_ok else 403)
    decides = role == "provincial_approver"
    assert client.get(f"/decisions/new?campaign={world.cdht.id}").status_code == (200 if decides else 403)
    creates = role == "branch_officer"
    assert client.get(f"/campaigns/{world.cdht.id}/applications/new").status_code == (200 if creates else 403)


@pytest.mark.parametrize("own", [True, False], ids=["own", "other"])
@pytest.mark.parametrize("role", ROLES)
def test_decision_visibility(client, world, role, own):
    """Issue 12 §4: a decision of the province recognising a file of commune 0 and one of commune 1 opens for
    every role whose units hold one of them (a branch or commune read-only, with its own rows only; the province
    whole) and is not found for anyone else (another province), by its page, its CSV and XLSX and in the
    decisions' list."""
    from datetime import date

    from workflow import operations

    mine = cdht_at(world, "final_approval", full_name="Đặng Thị Hương")
    theirs = cdht_at(world, "final_approval", commune=1, full_name="Lê Văn Bảo")
    decision, _ = operations.create_decision(world.cdht, world.province, world.approver, "7/QĐ-UBND",
                                             date(world.cdht.year, 1, 5), "Nguyễn Văn Ất", [mine.id, theirs.id])
    db.session.commit()
    user = _user(world, role, own)
    db.session.commit()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    lower = role in ("branch_officer", "commune_appraiser")  # "other": commune 1's; else another province's
    sees = own or lower
    for page in (f"/decisions/{decision.id}", f"/decisions/{decision.id}.csv", f"/decisions/{decision.id}.xlsx"):
        assert client.get(page).status_code == (200 if sees else 404), page
    assert (f"/decisions/{decision.id}\"" in client.get("/decisions").get_data(as_text=True)) == sees
    if sees:
        text = client.get(f"/decisions/{decision.id}.csv").get_data(as_text=True)
        assert ("Đặng Thị Hương" in text) == (own or not lower) and ("Lê Văn Bảo" in text) == (not own or not lower)
        page = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
        assert ('id="decision-part"' in page) == lower
