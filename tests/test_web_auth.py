"""Pages: login, logout, rate limit, language switch, CSRF, cookie flags, safe redirects, translation catalog."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from web import create_app
from workflow.db import db

from .factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def login(client, user, password: str = PASSWORD):
    return client.post("/login", data={"username": user.username, "password": password})


def test_login_and_logout(client, world):
    officer = world.officer()
    assert client.get("/").status_code == 302  # anonymous: sent to the login page
    response = login(client, officer)
    assert response.status_code == 302 and response.location == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Việc chờ tôi xử lý" in home and officer.username in home
    response = client.post("/logout")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_in_vietnamese(client, world):
    response = login(client, world.officer(), "not-the-password")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_attempts_are_rate_limited(client, world):
    officer = world.officer()
    for _ in range(5):
        assert login(client, officer, "wrong").status_code == 401
    blocked = login(client, officer)  # even the right password waits until the window passes
    assert blocked.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in blocked.get_data(as_text=True)
    other = login(client, world.officer(1))  # another user from the same address is not blocked yet
    assert other.status_code == 302


def test_session_cookie_flags(client, world):
    response = login(client, world.officer())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # SESSION_COOKIE_SECURE=0 by default, so `make run` over http works


def test_next_only_redirects_inside_the_site(client, world):
    officer = world.officer()
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": officer.username, "password": PASSWORD})
    assert response.location == "/"
    client.post("/logout")
    response = client.post("/login?next=/applications",
                           data={"username": officer.username, "password": PASSWORD})
    assert response.location == "/applications"


def test_language_switch(client, world):
    page = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in page and 'lang="vi"' in page
    client.get("/lang/en?next=/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and 'lang="en"' in page and "Đăng nhập" not in page
    login(client, world.officer())  # the choice survives logging in
    assert "What waits for me" in client.get("/").get_data(as_text=True)
    client.get("/lang/vi")
    assert "Việc chờ tôi xử lý" in client.get("/").get_data(as_text=True)
    assert client.get("/lang/xx?next=//evil.example").location == "/"


@pytest.fixture
def csrf_app(app):
    """A second app over the same database with CSRF protection on, as in production."""
    second = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "PASSWORD_HASH_FAST": True, "SECRET_KEY": "csrf-test", "WTF_CSRF_ENABLED": True,
                         "UPLOAD_DIR": app.config["UPLOAD_DIR"]})
    yield second
    with second.app_context():  # let the next test's wipe find no open connection
        db.session.remove()
        db.engine.dispose()


def test_csrf_refuses_a_form_without_token(csrf_app, world):
    username = world.officer().username  # read here: inside the other app's context it would borrow its engine
    db.session.remove()
    with csrf_app.app_context():
        client = csrf_app.test_client()
        refused = client.post("/login", data={"username": username, "password": PASSWORD})
        assert refused.status_code == 400
        assert "Biểu mẫu đã hết hạn" in refused.get_data(as_text=True)
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        accepted = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": token})
        assert accepted.status_code == 302
        assert client.post("/logout").status_code == 400  # logging out needs the token too


def test_security_headers(client, world):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_friendly_404_in_vietnamese(client, world):
    login(client, world.officer())
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)


def test_every_message_is_translated_and_compiled(tmp_path):
    """The Vietnamese catalog covers every string in the code and templates, and the committed .mo matches it."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "web/babel.cfg",
                    "-k", "_l", "-k", "N_", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    po_path = ROOT / "web/translations/vi/LC_MESSAGES/messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id}
    assert wanted - translated.keys() == set()
    assert [k for k, v in translated.items() if not (v if isinstance(v, str) else v[0])] == []
    with po_path.with_suffix(".mo").open("rb") as fh:
        compiled = {(m.id if isinstance(m.id, str) else m.id[0]): m.string if isinstance(m.string, str)
                    else tuple(m.string) for m in read_mo(fh) if m.id}
    assert compiled == translated
