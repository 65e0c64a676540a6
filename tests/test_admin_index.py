"""The administration's starting page: an admin reaches every section from it; nobody else sees it."""
from __future__ import annotations

from flask import url_for

from web.views.admin import SECTIONS

from .factories import PASSWORD


def login(client, user):
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_an_admin_reaches_every_section(app, client, world):
    login(client, world.admin)
    home = client.get("/").get_data(as_text=True)
    assert 'id="nav-admin"' in home
    page = client.get("/admin/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Quản trị" in body and "Hàng đợi thông báo" in body
    with app.test_request_context():
        links = [url_for(endpoint) for endpoint, _t, _x in SECTIONS if endpoint in app.view_functions]
    assert len(links) >= 1
    for link in links:
        assert f'href="{link}"' in body
        assert client.get(link).status_code == 200, link


def test_others_are_refused(client, world):
    login(client, world.officer())
    assert client.get("/admin/").status_code == 403
    assert 'id="nav-admin"' not in client.get("/").get_data(as_text=True)
