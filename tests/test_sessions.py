"""Sessions and tokens that end (finding 2 of the hardening issue): logout, a password change or reset,
deactivation and a revoked grant end every session cookie and API token of the user at once, wherever they were
copied to; an idle session and an old one end by themselves."""
from __future__ import annotations

from datetime import timedelta

import pytest

from web.api.auth import issue_token
from workflow import accounts, clock
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.models import RoleGrant

from .factories import PASSWORD

API = "/api/v1"
NEW_PASSWORD = "a-much-longer-secret"


def login(client, user, password: str = PASSWORD):
    return client.post("/login", data={"username": user.username, "password": password})


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def copy_session(source, target) -> None:
    """What an attacker does with a stolen cookie: present the same session in another browser."""
    target.set_cookie("session", source.get_cookie("session").value)


def token_works(client, token: str) -> bool:
    return client.get(f"{API}/campaigns", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.fixture
def thief(app):
    return app.test_client()


def test_a_copied_cookie_dies_with_logout(client, thief, world):
    officer = world.officer()
    assert login(client, officer).status_code == 302
    copy_session(client, thief)
    assert logged_in(thief)
    token = issue_token(officer)
    assert client.post("/logout").status_code == 302
    assert not logged_in(thief)  # the stolen copy is refused too
    assert thief.get("/").location.startswith("/login")
    assert not token_works(thief, token)
    assert login(client, officer).status_code == 302 and logged_in(client)  # logging in again works


def test_a_password_change_ends_every_session_and_token(client, thief, world):
    officer = world.officer()
    login(client, officer)
    copy_session(client, thief)
    token = issue_token(officer)
    resp = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                  "confirm_password": NEW_PASSWORD})
    assert resp.status_code == 302 and resp.location.startswith("/login")
    assert not logged_in(client) and not logged_in(thief) and not token_works(thief, token)
    assert login(client, officer).status_code == 401
    assert login(client, officer, NEW_PASSWORD).status_code == 302


def test_a_password_change_is_checked_and_says_why(client, world):
    officer = world.officer()
    login(client, officer)
    wrong = client.post("/account/password", data={"current_password": "nope", "new_password": NEW_PASSWORD,
                                                   "confirm_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng." in wrong.get_data(as_text=True)
    short = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "short",
                                                   "confirm_password": "short"})
    assert "ít nhất 10 ký tự" in short.get_data(as_text=True)
    differ = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "confirm_password": NEW_PASSWORD + "x"})
    assert differ.status_code == 422
    assert logged_in(client)  # a refused change ends nothing
    assert login(client.application.test_client(), officer).status_code == 302  # the old password still works


@pytest.mark.parametrize("change", ["reset", "deactivate", "revoke_grant"])
def test_an_administrative_change_ends_sessions_and_tokens(client, thief, world, change):
    officer = world.officer()
    login(client, officer)
    copy_session(client, thief)
    token = issue_token(officer)
    if change == "reset":
        accounts.reset_password(officer, NEW_PASSWORD, actor=world.admin)
    elif change == "deactivate":
        accounts.set_active(officer, False, actor=world.admin)
    else:
        accounts.revoke_grant(officer.grants[0], actor=world.admin)
    db.session.commit()
    assert not logged_in(client) and not logged_in(thief) and not token_works(thief, token)


def test_an_unrelated_user_keeps_their_session(client, thief, world):
    login(client, world.officer())
    login(thief, world.appraiser())
    client.post("/logout")
    assert logged_in(thief)


def test_account_changes_are_audited(world):
    from sqlalchemy import select

    from workflow.models import AuditEvent

    officer = world.officer()
    accounts.reset_password(officer, NEW_PASSWORD, actor=world.admin)
    accounts.set_active(officer, False, actor=world.admin)
    db.session.commit()
    events = db.session.execute(select(AuditEvent.action, AuditEvent.actor_name, AuditEvent.payload)
                                .where(AuditEvent.action.like("account.%")).order_by(AuditEvent.id)).all()
    assert [(a, n, p["username"]) for a, n, p in events] == [
        ("account.reset", world.admin.username, officer.username),
        ("account.deactivate", world.admin.username, officer.username)]


def test_the_last_admin_of_a_province_stays(world):
    with pytest.raises(GuardRefused) as refused:
        accounts.set_active(world.admin, False)
    assert refused.value.code == "last_admin"
    grant = db.session.scalars(db.select(RoleGrant).where(RoleGrant.user_id == world.admin.id)).one()
    with pytest.raises(GuardRefused):
        accounts.revoke_grant(grant)
    db.session.rollback()
    from .factories import make_user

    make_user("admin", world.province)  # with a second admin, the first may go
    accounts.set_active(world.admin, False)
    db.session.commit()
    assert not world.admin.active


def test_an_idle_session_ends(app, client, world, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    login(client, world.officer())
    idle = app.config["SESSION_IDLE_MINUTES"]
    time_machine.shift(timedelta(minutes=idle - 1))
    assert logged_in(client)  # each request counts as use
    time_machine.shift(timedelta(minutes=idle - 1))
    assert logged_in(client)
    time_machine.shift(timedelta(minutes=idle + 1))
    resp = client.get("/")
    assert resp.status_code == 302 and resp.location.startswith("/login")
    assert "Phiên làm việc đã kết thúc" in client.get(resp.location).get_data(as_text=True)


def test_a_session_ends_after_its_lifetime_even_when_used(app, client, world, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    login(client, world.officer())
    hours = app.config["SESSION_MAX_HOURS"]
    step = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] - 5)
    elapsed = timedelta()
    while elapsed + step < timedelta(hours=hours):
        time_machine.shift(step)
        elapsed += step
        assert logged_in(client)
    time_machine.shift(step)
    assert not logged_in(client)


def test_a_forged_epoch_is_refused(app, client, world):
    """The epoch lives in the signed cookie: a client cannot reset it to an old value."""
    officer = world.officer()
    login(client, officer)
    accounts.end_sessions(officer)
    db.session.commit()
    with client.session_transaction() as sess:  # even a session rewritten server-side with the old epoch
        assert sess["_ep"] == officer.session_epoch - 1
    assert not logged_in(client)


def test_operators_end_sessions_from_the_command_line(client, runner, world):
    officer = world.officer()
    login(client, officer)
    token = issue_token(officer)
    result = runner.invoke(args=["users", "end-sessions", officer.username.upper()])
    assert result.exit_code == 0, result.output
    assert not logged_in(client) and not token_works(client, token)
    result = runner.invoke(args=["users", "reset-password", officer.username, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert login(client, officer, NEW_PASSWORD).status_code == 302
    refused = runner.invoke(args=["users", "deactivate", world.admin.username])
    assert refused.exit_code == 1 and "last administrator" in refused.output
    assert runner.invoke(args=["users", "deactivate", "nobody"]).exit_code == 1
