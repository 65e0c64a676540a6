"""The officers API: users and role grants in the caller's administration. Proves: 201 with the user (and the
one-time link only without e-mail), duplicate usernames refused per field in Vietnamese, a commune admin cannot
grant above their level (403) nor see another commune's users (404), the last admin of a province stays,
deactivation and revocation end tokens, the e-mailed link goes through the notifications path and never lands in
the database, and every change is audited with before and after."""
from __future__ import annotations

import re

from sqlalchemy import select

from workflow.db import db
from workflow.models import AuditEvent, Notification, OutboxMessage, RoleGrant, User

from .factories import make_user
from .test_api_support import API, bearer, error_of

pytest_plugins = ["tests.notif_fixtures"]


def new_user(**kw) -> dict:
    body = {"username": "xa1.canbo2", "full_name": "Trần Thị Bình", "grants": []}
    body.update(kw)
    return body


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def token_works(client, headers) -> bool:
    return client.get(f"{API}/campaigns", headers=headers).status_code == 200


def test_create_user_answers_201_and_refuses_a_taken_username_per_field(client, world):
    branch = world.branch()
    resp = client.post(f"{API}/users", headers=bearer(world.admin),
                       json=new_user(phone="0912 345 678", grants=[{"role": "branch_officer", "unit": branch.id}]))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["username"] == "xa1.canbo2" and body["active"] is True and body["phone"] == "0912 345 678"
    assert [(g["role"], g["unit"]) for g in body["grants"]] == [("branch_officer", {"id": branch.id,
                                                                                   "name": branch.name})]
    assert body["set_password_url"].startswith("http://127.0.0.1:5000/password/set/")  # no e-mail: handed over
    created = events("user.create")
    assert len(created) == 1 and created[0].payload["before"] is None
    assert created[0].payload["after"]["username"] == "xa1.canbo2" and created[0].actor_id == world.admin.id

    again = client.post(f"{API}/users", headers=bearer(world.admin),
                        json=new_user(username="XA1.CanBo2", grants=[{"role": "branch_officer", "unit": branch.id}]))
    err = error_of(again)
    assert again.status_code == 422 and err["fields"] == {"username": "Tên đăng nhập này đã có người dùng."}
    bad = client.post(f"{API}/users", headers=bearer(world.admin),
                      json=new_user(username="có dấu", phone="０９１２３４５６７８", email="nope", grants=[]))
    fields = error_of(bad)["fields"]
    assert set(fields) == {"username", "phone", "email", "grants"}
    assert "chữ cái không dấu" in fields["username"] and "chữ số 0-9" in fields["phone"]
    assert db.session.scalar(select(User).where(User.username == "có dấu")) is None
    listed = client.get(f"{API}/users", headers=bearer(world.admin)).get_json()
    assert "xa1.canbo2" in [u["username"] for u in listed["items"]]


def test_a_commune_admin_stays_inside_the_commune(client, world):
    admin = make_user("admin", world.communes[0])
    db.session.commit()
    h = bearer(admin)
    above = client.post(f"{API}/users", headers=h,
                        json=new_user(grants=[{"role": "auditor", "unit": world.province.id}]))
    assert above.status_code == 403 and error_of(above)["code"] == "grant_above_own"
    other = client.post(f"{API}/users", headers=h,
                        json=new_user(grants=[{"role": "branch_officer", "unit": world.branch(1).id}]))
    assert other.status_code == 404
    assert db.session.scalar(select(User).where(User.username == "xa1.canbo2")) is None
    stranger = world.appraiser(1)  # the other commune's appraiser
    for resp in (client.get(f"{API}/users/{stranger.id}", headers=h),
                 client.patch(f"{API}/users/{stranger.id}", headers=h, json={"active": False}),
                 client.post(f"{API}/users/{stranger.id}/grants", headers=h,
                             json={"role": "branch_officer", "unit": world.branch(0).id}),
                 client.delete(f"{API}/users/{stranger.id}/grants/{stranger.grants[0].id}", headers=h)):
        assert resp.status_code == 404, resp.get_json()
    # the province's auditor is not in the commune admin's scope either; the commune's own officer is
    names = {u["username"] for u in client.get(f"{API}/users", headers=h).get_json()["items"]}
    assert world.officer(0).username in names and world.auditor.username not in names
    assert stranger.username not in names
    # a user of this commune who also holds a provincial role cannot be deactivated from below
    officer = world.officer(0)
    db.session.add(RoleGrant(user=officer, role="auditor", unit=world.province))
    db.session.commit()
    above_user = client.patch(f"{API}/users/{officer.id}", headers=h, json={"active": False})
    assert above_user.status_code == 403 and error_of(above_user)["code"] == "user_above_own"
    db.session.expire_all()
    assert db.session.get(User, officer.id).active is True


def test_the_last_admin_of_a_province_is_neither_deactivated_nor_stripped(client, world):
    admin = world.admin
    h = bearer(admin)
    assert client.post(f"{API}/users/{admin.id}/grants", headers=h,
                       json={"role": "auditor", "unit": world.province.id}).status_code == 201
    db.session.expire_all()
    admin_grant = next(g for g in db.session.get(User, admin.id).grants if g.role == "admin")
    h = bearer(db.session.get(User, admin.id))  # the grant ended the earlier token? no: adding keeps sessions
    off = client.patch(f"{API}/users/{admin.id}", headers=h, json={"active": False})
    assert off.status_code == 422 and error_of(off)["code"] == "last_admin"
    strip = client.delete(f"{API}/users/{admin.id}/grants/{admin_grant.id}", headers=h)
    assert strip.status_code == 422 and error_of(strip)["code"] == "last_admin"
    db.session.expire_all()
    assert db.session.get(User, admin.id).active and db.session.get(RoleGrant, admin_grant.id) is not None
    # with a second admin, the first may go
    second = make_user("admin", world.province)
    db.session.commit()
    assert client.patch(f"{API}/users/{admin.id}", headers=bearer(second), json={"active": False}).status_code == 200


def test_deactivation_and_revocation_end_every_token(client, world):
    officer = world.officer()
    h_admin = bearer(world.admin)
    h = bearer(officer)
    assert token_works(client, h)
    resp = client.patch(f"{API}/users/{officer.id}", headers=h_admin, json={"active": False})
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert not token_works(client, h)
    ev = events("user.deactivate")
    assert ev[-1].payload["before"] == {"active": True} and ev[-1].payload["after"] == {"active": False}
    assert client.patch(f"{API}/users/{officer.id}", headers=h_admin, json={"active": True}).status_code == 200
    assert client.patch(f"{API}/users/{officer.id}", headers=h_admin, json={"active": "no"}).status_code == 422
    db.session.expire_all()
    officer = db.session.get(User, officer.id)
    h = bearer(officer)
    added = client.post(f"{API}/users/{officer.id}/grants", headers=h_admin,
                        json={"role": "auditor", "unit": world.communes[0].id})
    assert added.status_code == 201
    grant_id = next(g["id"] for g in added.get_json()["grants"] if g["role"] == "auditor")
    assert token_works(client, h)  # a new grant leaves sessions alone
    revoked = client.delete(f"{API}/users/{officer.id}/grants/{grant_id}", headers=h_admin)
    assert revoked.status_code == 200 and [g["role"] for g in revoked.get_json()["grants"]] == ["branch_officer"]
    assert not token_works(client, h)
    ev = events("user.revoke_grant")[-1]
    assert len(ev.payload["before"]["grants"]) == 2 and len(ev.payload["after"]["grants"]) == 1
    only = client.delete(f"{API}/users/{officer.id}/grants/{revoked.get_json()['grants'][0]['id']}",
                         headers=h_admin)
    assert only.status_code == 422 and error_of(only)["code"] == "last_grant"


def test_the_link_is_e_mailed_through_the_notifications_path_and_never_stored(app, client, world, smtp_sink):
    keys = ("REDIS_URL", "NOTIFY_INLINE", "SMTP_HOST", "SMTP_PORT")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(REDIS_URL=None, NOTIFY_INLINE=True, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port)
    try:
        resp = client.post(f"{API}/users", headers=bearer(world.admin),
                           json=new_user(email="binh@example.vn",
                                         grants=[{"role": "commune_appraiser", "unit": world.communes[0].id}]))
        assert resp.status_code == 201 and "set_password_url" not in resp.get_json()
        mails = [m for m in smtp_sink.messages if m.rcpt == "binh@example.vn"]
        assert len(mails) == 1 and "Đặt mật khẩu" in mails[0].subject
        link = re.search(r"http://127\.0\.0\.1:5000(/password/set/(\S+))", mails[0].body)
        assert link, mails[0].body
        path, token = link.group(1), link.group(2)
        db.session.expire_all()
        outbox = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "set_password")).all()
        assert len(outbox) == 1 and outbox[0].delivered_at is not None
        stored = [str(o.payload) for o in db.session.scalars(select(OutboxMessage))]
        stored += [n.subject + n.body for n in db.session.scalars(select(Notification))]
        stored += [str(e.payload) + str(e.reason) for e in db.session.scalars(select(AuditEvent))]
        assert stored and not any(token in s or token[:20] in s or "/password/set/" in s for s in stored)
        got = client.post(path, data={"new_password": "mat-khau-moi-123", "confirm_password": "mat-khau-moi-123"})
        assert got.status_code == 302
        assert client.post("/login", data={"username": "xa1.canbo2", "password": "mat-khau-moi-123"}).status_code == 302
    finally:
        app.config.update(saved)


def test_officers_responses_conform_to_the_document(client, world):
    """Every officers operation, in its success and refusal statuses, against web/api/openapi_officers.py."""
    from .test_api_openapi import Contract

    c = Contract()
    h = bearer(world.admin)
    users, one = f"{API}/users", f"{API}/users/{{user_id}}"
    grants, grant = f"{one}/grants", f"{one}/grants/{{grant_id}}"
    c.check(client.get(users, headers=h), "get", users)
    c.check(client.get(f"{users}?page=x", headers=h), "get", users)
    created = c.check(client.post(users, headers=h, json=new_user(
        grants=[{"role": "branch_officer", "unit": world.branch().id}])), "post", users)
    uid = created["id"]
    c.check(client.post(users, headers=h, json=new_user()), "post", users)
    c.check(client.post(users, headers=h, data="{", content_type="application/json"), "post", users)
    c.check(client.post(users, json=new_user()), "post", users)
    commune_admin = make_user("admin", world.communes[0])
    db.session.commit()
    ch = bearer(commune_admin)
    c.check(client.post(users, headers=ch, json=new_user(username="x.y.z", grants=[
        {"role": "auditor", "unit": world.province.id}])), "post", users)
    c.check(client.post(users, headers=ch, json=new_user(username="x.y.z", grants=[
        {"role": "auditor", "unit": world.communes[1].id}])), "post", users)
    c.check(client.get(f"{users}/{uid}", headers=h), "get", one)
    c.check(client.get(f"{users}/{world.appraiser(1).id}", headers=ch), "get", one)
    c.check(client.patch(f"{users}/{uid}", headers=h, json={"active": False}), "patch", one)
    c.check(client.patch(f"{users}/{uid}", headers=h, json={"active": 1}), "patch", one)
    c.check(client.patch(f"{users}/{uid}", headers=h, data="[", content_type="application/json"), "patch", one)
    c.check(client.patch(f"{users}/{world.auditor.id}", headers=ch, json={"active": False}), "patch", one)
    officer = world.officer(0)
    db.session.add(RoleGrant(user=officer, role="auditor", unit=world.province))
    db.session.commit()
    c.check(client.patch(f"{users}/{officer.id}", headers=ch, json={"active": False}), "patch", one)
    added = c.check(client.post(f"{users}/{uid}/grants", headers=h,
                                json={"role": "auditor", "unit": world.communes[0].id}), "post", grants)
    c.check(client.post(f"{users}/{uid}/grants", headers=h, json={"role": "boss", "unit": 1}), "post", grants)
    c.check(client.post(f"{users}/{uid}/grants", headers=h, data="{", content_type="application/json"), "post", grants)
    c.check(client.post(f"{users}/{uid}/grants", headers=ch, json={"role": "auditor", "unit": world.province.id}),
            "post", grants)
    c.check(client.post(f"{users}/99999/grants", headers=h, json={"role": "auditor", "unit": 1}), "post", grants)
    gid = next(g["id"] for g in added["grants"] if g["role"] == "auditor")
    c.check(client.delete(f"{users}/{uid}/grants/{gid}", headers=h), "delete", grant)
    c.check(client.delete(f"{users}/{uid}/grants/{added['grants'][0]['id']}", headers=h), "delete", grant)
    c.check(client.delete(f"{users}/{uid}/grants/424242", headers=h), "delete", grant)
    prov_grant = next(g.id for g in officer.grants if g.role == "auditor")
    c.check(client.delete(f"{users}/{officer.id}/grants/{prov_grant}", headers=ch), "delete", grant)
    mine = {(m, p) for m, p, _ in c.seen}
    assert mine == {(m, p) for p, item in c.doc["paths"].items() if p.startswith(users) for m in item}
    assert {s for _, _, s in c.seen} >= {"200", "201", "400", "401", "403", "404", "422"}
