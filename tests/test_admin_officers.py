"""The officers pages: create a user with a first grant, the one-time set-password link (works once, expires after
72 hours, ends sessions), deactivation with confirmation, and the spreadsheet import (all or nothing, per-row
errors with row number and column in Vietnamese)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from workflow import clock
from workflow.admin import officers
from workflow.db import db
from workflow.models import AuditEvent, OutboxMessage, User

from .test_web_flow import login, text

NEW_PW = "mat-khau-that-dai"


def link_of(resp) -> str:
    found = re.search(r'id="set-password-link" value="http://127\.0\.0\.1:5000(/password/set/[^"]+)"',
                      resp.get_data(as_text=True))
    assert found, text(resp)
    return found.group(1)


def create_by_page(client, world, **kw):
    data = {"username": "xa1.canbo9", "full_name": "Lê Văn Cường", "email": "", "phone": "",
            "role": "branch_officer", "unit": str(world.branch().id)}
    data.update(kw)
    return client.post("/admin/users/new", data=data)


def test_create_by_page_shows_the_link_once_and_refuses_a_taken_username(client, world):
    login(client, world.admin)
    assert client.get("/admin/users/new").status_code == 200
    resp = create_by_page(client, world)
    assert resp.status_code == 200 and "Lê Văn Cường" in text(resp)
    token = link_of(resp).rsplit("/", 1)[1]
    stored = [str(e.payload) + str(e.reason) for e in db.session.scalars(select(AuditEvent))]
    stored += [str(o.payload) for o in db.session.scalars(select(OutboxMessage))]
    assert stored and not any(token[:20] in s for s in stored)  # the link is nowhere in the database
    user = db.session.scalar(select(User).where(User.username == "xa1.canbo9"))
    assert user is not None and [g.role for g in user.grants] == ["branch_officer"]
    page = client.get(f"/admin/users/{user.id}")
    assert page.status_code == 200 and "/password/set/" not in page.get_data(as_text=True)  # shown only once
    dup = create_by_page(client, world, username="XA1.CANBO9")
    assert dup.status_code == 422 and "Tên đăng nhập này đã có người dùng." in text(dup)
    listing = text(client.get("/admin/users/?q=canbo9"))
    assert "Lê Văn Cường" in listing and "Cán bộ chi hội — Chi hội thôn 1" in listing
    assert "Lê Văn Cường" not in text(client.get("/admin/users/?q=nobody-like-this"))


def test_the_link_sets_the_password_once_and_ends_sessions(app, client, world):
    login(client, world.admin)
    path = link_of(create_by_page(client, world))
    client.post("/logout")
    form = client.get(path)
    assert form.status_code == 200 and "xa1.canbo9" in text(form)
    short = client.post(path, data={"new_password": "ngan", "confirm_password": "ngan"})
    assert short.status_code == 422 and "ít nhất 10 ký tự" in text(short)
    done = client.post(path, data={"new_password": NEW_PW, "confirm_password": NEW_PW})
    assert done.status_code == 302 and done.location.startswith("/login")
    again = client.get(path)
    assert again.status_code == 410 and "đã được dùng" in text(again)
    assert client.post(path, data={"new_password": NEW_PW + "x", "confirm_password": NEW_PW + "x"}).status_code == 410
    assert client.post("/login", data={"username": "xa1.canbo9", "password": NEW_PW}).status_code == 302
    # an admin reset: the password stops working and the user's session ends; the new link works
    other = app.test_client()
    login(other, world.admin)
    user = db.session.scalar(select(User).where(User.username == "xa1.canbo9"))
    assert client.get("/").status_code == 200
    reset = other.post(f"/admin/users/{user.id}/reset", data={"confirm": "1"})
    new_path = link_of(reset)
    assert client.get("/").status_code == 302  # the user's session ended
    assert client.post("/login", data={"username": "xa1.canbo9", "password": NEW_PW}).status_code == 401
    assert client.post(new_path, data={"new_password": NEW_PW + "2", "confirm_password": NEW_PW + "2"}
                       ).status_code == 302
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(("user.create", "user.reset_password", "account.reset"))).order_by(AuditEvent.id))] \
        == ["user.create", "account.reset", "user.reset_password", "account.reset"]


def test_the_link_expires_after_72_hours(client, world, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    login(client, world.admin)
    path = link_of(create_by_page(client, world))
    client.post("/logout")
    time_machine.shift(timedelta(hours=71, minutes=59))
    assert client.get(path).status_code == 200
    time_machine.shift(timedelta(minutes=2))
    expired = client.get(path)
    assert expired.status_code == 410 and "hết hạn" in text(expired)
    assert client.post(path, data={"new_password": NEW_PW, "confirm_password": NEW_PW}).status_code == 410


def test_deactivation_needs_confirmation_and_ends_the_session(app, client, world):
    officer = world.officer()
    victim = app.test_client()
    login(victim, officer)
    login(client, world.admin)
    no = client.post(f"/admin/users/{officer.id}/active", data={"active": "0"})
    assert no.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, officer.id).active and victim.get("/").status_code == 200
    yes = client.post(f"/admin/users/{officer.id}/active", data={"active": "0", "confirm": "1"}, follow_redirects=True)
    assert "Vô hiệu" in text(yes) or "vô hiệu" in text(yes)
    db.session.expire_all()
    assert not db.session.get(User, officer.id).active and victim.get("/").status_code == 302


def test_another_communes_user_page_is_not_found(client, world):
    from .factories import make_user

    admin = make_user("admin", world.communes[0])
    db.session.commit()
    login(client, admin)
    assert client.get(f"/admin/users/{world.appraiser(1).id}").status_code == 404
    assert client.get(f"/admin/users/{world.appraiser(0).id}").status_code == 200
    above = create_by_page(client, world, unit=str(world.province.id), role="auditor")
    assert above.status_code == 422 and "cấp trên" in text(above)


def sheet(rows, kind="xlsx") -> tuple[bytes, str]:
    header = ["Tên đăng nhập", "Họ và tên", "E-mail", "Điện thoại", "Vai trò", "Mã đơn vị"]
    if kind == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *rows])
        return ("\ufeff" + buf.getvalue()).encode(), "can-bo.csv"
    wb = Workbook()
    wb.active.append(header)
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), "can-bo.xlsx"


def upload(client, content: bytes, name: str):
    return client.post("/admin/users/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def users_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


def test_the_template_explains_columns_and_roles(client, world):
    login(client, world.admin)
    resp = client.get("/admin/users/import/template.xlsx")
    wb = load_workbook(io.BytesIO(resp.data))
    assert resp.status_code == 200 and wb.sheetnames == ["Can bo", "Huong dan"]
    assert [c.value for c in wb["Can bo"][1]] == ["Tên đăng nhập", "Họ và tên", "E-mail", "Điện thoại", "Vai trò",
                                                  "Mã đơn vị"]
    guide = " ".join(str(c.value) for row in wb["Huong dan"].iter_rows() for c in row if c.value)
    assert "Cán bộ chi hội" in guide and "commune_appraiser" in guide and "không dòng nào được lưu" in guide


def test_a_valid_file_creates_every_officer(client, world):
    login(client, world.admin)
    before = users_count()
    rows = [["xa1.a", "Nguyễn Thị A", "a@example.vn", "0912345678", "branch_officer", world.branch().code],
            ["xa1.b", "Phạm Văn B", "", "", "Cán bộ thẩm định cấp xã", world.communes[0].code]]
    content, name = sheet(rows, "csv")
    preview = upload(client, content, name)
    assert preview.status_code == 200 and "Nguyễn Thị A" in text(preview)
    assert users_count() == before  # the preview stores nothing
    rows_json = re.search(r'name="rows" value="([^"]*)"', preview.get_data(as_text=True)).group(1)
    import html

    done = client.post("/admin/users/import/confirm", data={"rows": html.unescape(rows_json)})
    assert done.status_code == 200 and users_count() == before + 2
    b = db.session.scalar(select(User).where(User.username == "xa1.b"))
    assert [g.role for g in b.grants] == ["commune_appraiser"] and "/password/set/" in done.get_data(as_text=True)
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).all()) == 2


def test_one_bad_row_stores_nothing_and_names_row_and_column(client, world):
    login(client, world.admin)
    before = users_count()
    rows = [["xa1.c", "Nguyễn Thị C", "c@example.vn", "", "branch_officer", world.branch().code],
            ["xa1.d", "Trần Văn D", "không-phải-email", "", "branch_officer", world.branch().code],
            ["xa1.e", "Lê Thị E", "", "", "chủ tịch", "KHONG-CO"]]
    content, name = sheet(rows)
    resp = upload(client, content, name)
    body = text(resp)
    assert resp.status_code == 422 and users_count() == before
    assert "Dòng 3, cột «E-mail»: Địa chỉ e-mail không hợp lệ." in body
    assert "Dòng 4, cột «Vai trò»" in body and "Dòng 4, cột «Mã đơn vị»" in body
    # importing the same rows anyway (a crafted form) is refused as a whole too
    rows_dicts = [dict(zip(officers.COLUMNS, r, strict=True)) for r in rows]
    import json

    forced = client.post("/admin/users/import/confirm", data={"rows": json.dumps(rows_dicts)})
    assert forced.status_code == 422 and users_count() == before
    assert db.session.scalar(select(User).where(User.username == "xa1.c")) is None


def test_the_e_mail_speaks_the_users_language_and_takes_the_link_only_when_sent():
    from notifications import messages

    subject, body = messages.set_password_notice("Jane Doe", "jane", 72, "en")
    assert subject.startswith("Set your password") and "72 hours" in body and messages.LINK_MARK in body
    vi_subject, vi_body = messages.set_password_notice("Nguyễn Thị Hoa", "hoa", 72, "vi")
    assert "Đặt mật khẩu" in vi_subject and "72 giờ" in vi_body
    sent = messages.with_link(vi_body, "http://x/password/set/abc")
    assert "http://x/password/set/abc" in sent and messages.LINK_MARK not in sent
