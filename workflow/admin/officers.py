"""Officers: users, their role grants at units, one-time set-password links and the officers spreadsheet.

Rules: an admin grant covers its unit's subtree; a user is visible to an admin when one of the user's grants lies
in that subtree (else not found); nobody grants a role at a unit above their own admin grants (403), and only an
admin over every grant of a user may deactivate them or reset their password (403). There is no shared default
password: a new user gets an unusable hash and a set-password link. The link is never stored: it is signed over
SECRET_KEY and carries the user id, the session epoch and a fingerprint of the password hash, so setting the
password (which changes both) spends it, and it expires after SET_PASSWORD_HOURS. Every change is audited; the
caller commits."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool
from pydantic_core import PydanticCustomError
from sqlalchemy import exists, func, or_, select

from .. import accounts
from ..authz import Actor, visible_units_clause
from ..db import db
from ..errors import GuardRefused, NotAuthorized, NotFound
from ..inputs import parse_int
from ..models import OutboxMessage, RoleGrant, Unit, User
from ..passwords import hash_password
from ..vocabulary import ROLES
from . import ADMIN, as_actor, record, require_admin
from .inputs import FIELD_MESSAGES, Input, InvalidInput, Name, parse

SET_PASSWORD_SALT = "hoctap-set-password"
SET_PASSWORD_HOURS = 72
OUTBOX_KIND = "set_password"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"

# Field codes of this module (added to the shared table, so parse() and every interface know their messages).
FIELD_MESSAGES.update({
    "username_format": ("Tên đăng nhập gồm 3-80 ký tự: chữ cái không dấu, chữ số, dấu chấm, gạch ngang, gạch dưới.",
                        "A username has 3-80 characters: ASCII letters, digits, dot, hyphen, underscore."),
    "username_taken": ("Tên đăng nhập này đã có người dùng.", "This username is already taken."),
    "phone": ("Số điện thoại chỉ gồm chữ số 0-9, dấu + và khoảng trắng (6-20 chữ số).",
              "A phone number takes the digits 0-9, + and spaces only (6-20 digits)."),
    "unit_unknown": ("Không có đơn vị này trong phạm vi quản trị của bạn.", "No such unit within your administration."),
    "role": ("Vai trò không hợp lệ.", "Not a valid role."),
    "grants_empty": ("Cần ít nhất một vai trò tại một đơn vị.", "At least one role at a unit is needed."),
    "duplicate_row": ("Trùng tên đăng nhập với dòng {row}.", "Same username as row {row}."),
})

_USERNAME = re.compile(r"[A-Za-z0-9._-]{3,80}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_PHONE = re.compile(r"\+?[0-9 ]+")


def _username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
        raise PydanticCustomError("username_format", "bad username")
    return value


def _email(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("string", "not text")
    value = value.strip()
    if not value:
        return None
    if len(value) > 255 or not _EMAIL.fullmatch(value) or not value.isascii():
        raise PydanticCustomError("email", "bad e-mail")
    return value


def _phone(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # a spreadsheet cell typed as a number
        value = str(value)
    if not isinstance(value, str):
        raise PydanticCustomError("string", "not text")
    value = " ".join(value.split())
    if not value:
        return None
    digits = value.replace("+", "").replace(" ", "")
    if not _PHONE.fullmatch(value) or not value.isascii() or not 6 <= len(digits) <= 20 or "+" in value[1:]:
        raise PydanticCustomError("phone", "bad phone")
    return value


def _unit_id(value: Any) -> int:
    number = parse_int(value, minimum=1)
    if number is None:
        raise PydanticCustomError("integer", "not an id")
    return number


Username = Annotated[str, Field(max_length=80), AfterValidator(_username)]
Email = Annotated[str | None, BeforeValidator(_email)]
Phone = Annotated[str | None, BeforeValidator(_phone)]
UnitId = Annotated[int, BeforeValidator(_unit_id)]  # parse_int bounds it to a 32-bit id


class GrantIn(Input):
    """A role at a unit (by id)."""

    role: Literal[ROLES]  # type: ignore[valid-type]
    unit: UnitId


class UserIn(Input):
    """A new officer: username (ASCII), full name, optional e-mail and phone, at least one grant."""

    username: Username
    full_name: Annotated[Name, Field(max_length=200)]
    email: Email = None
    phone: Phone = None
    grants: Annotated[list[GrantIn], Field(min_length=1)]


class UserPatch(Input):
    """What PATCH /users/<id> changes: for now, whether the account is active."""

    active: StrictBool


# -- scope --------------------------------------------------------------------------------------------------------

def _in_scope(actor: Actor):
    """SQL: the user has a grant at a unit inside one of the actor's admin grants."""
    return exists(select(RoleGrant.id).join(Unit, Unit.id == RoleGrant.unit_id)
                  .where(RoleGrant.user_id == User.id, visible_units_clause(actor, Unit.path, ADMIN)))


def users_query(actor, q: str | None = None):
    """Users in the actor's administration, by username; `q` matches username, name or e-mail."""
    actor = as_actor(actor)
    stmt = select(User).where(_in_scope(actor)).order_by(func.lower(User.username), User.id)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.full_name).like(like),
                              func.lower(User.email).like(like)))
    return stmt


def visible_user(actor, user_id: int) -> User:
    """The user, if one of their grants lies in the actor's administration; else not found."""
    actor = as_actor(actor)
    user = db.session.get(User, user_id)
    if user is None or not any(actor.covers(g.unit.path, ADMIN) for g in user.grants):
        raise NotFound("user_not_found")
    return user


def _require_over_user(actor: Actor, user: User) -> None:
    """Deactivating or resetting someone needs an admin grant over every grant they hold."""
    if not all(actor.covers(g.unit.path, ADMIN) for g in user.grants):
        raise NotAuthorized("user_above_own")


def _grant_unit(actor: Actor, unit_id: int) -> Unit:
    """The unit of a grant the actor may give: inside their admin grants. An ancestor of their own units (the
    province above a commune admin) is refused as above their level (403); anything else is not found (404)."""
    unit = db.session.get(Unit, unit_id)
    if unit is not None and not actor.covers(unit.path, ADMIN) and any(
            g.unit_path.startswith(unit.path) for g in actor.grants):
        raise NotAuthorized("grant_above_own")
    require_admin(actor, unit)
    return unit  # type: ignore[return-value]


def _username_taken(username: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(User)
                             .where(func.lower(User.username) == username.lower())) > 0


# -- serialising and audit ----------------------------------------------------------------------------------------

def grant_dict(g: RoleGrant) -> dict[str, Any]:
    return {"id": g.id, "role": g.role, "unit": {"id": g.unit.id, "name": g.unit.name}}


def user_dict(user: User) -> dict[str, Any]:
    """The user as the API returns it and the audit records it (never the password hash)."""
    return {"id": user.id, "username": user.username, "full_name": user.full_name, "email": user.email,
            "phone": user.phone, "active": user.active,
            "grants": [grant_dict(g) for g in sorted(user.grants, key=lambda g: g.id or 0)]}


# -- set-password links -------------------------------------------------------------------------------------------

def _serializer(secret_key: str | bytes | None = None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key or current_app.config["SECRET_KEY"], salt=SET_PASSWORD_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def set_password_token(user: User) -> str:
    """A signed token naming the user, their session epoch and password fingerprint (never stored)."""
    return _serializer().dumps({"uid": user.id, "ep": user.session_epoch, "pw": _fingerprint(user)})


def public_url() -> str:
    return (current_app.config.get("PUBLIC_URL") or os.environ.get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


def set_password_url(user: User) -> str:
    return f"{public_url()}/password/set/{set_password_token(user)}"


def user_from_set_password_token(token: str) -> User:
    """The user a link is for; expired (after SET_PASSWORD_HOURS) or spent links are refused (410)."""
    hours = float(current_app.config.get("SET_PASSWORD_HOURS", SET_PASSWORD_HOURS))
    try:
        data = _serializer().loads(token, max_age=int(hours * 3600))
    except SignatureExpired as exc:
        raise LinkRefused("set_password_expired", hours=int(hours)) from exc
    except BadSignature as exc:
        raise LinkRefused("set_password_invalid") from exc
    uid = data.get("uid") if isinstance(data, dict) else None
    user = db.session.get(User, uid) if isinstance(uid, int) and not isinstance(uid, bool) else None
    if user is None or not user.active or data.get("ep") != user.session_epoch or data.get("pw") != _fingerprint(
            user):
        raise LinkRefused("set_password_invalid")
    return user


class LinkRefused(GuardRefused):
    status = 410


def set_password_with_link(token: str, password: str) -> User:
    """Spend a link: the MIN_PASSWORD rule, a new hash, every session ended (accounts.reset_password)."""
    user = user_from_set_password_token(token)
    accounts.reset_password(user, password, actor=user)
    return user


def _hand_over(user: User) -> str | None:
    """E-mail the link through the notifications path (an outbox row minted into a link at send time) when the
    user has an address; else return the link for the admin to hand over, once."""
    if user.email:
        db.session.add(OutboxMessage(kind=OUTBOX_KIND, application_id=None, payload={"user_id": user.id}))
        db.session.flush()
        db.session.info["outbox_written"] = True
        return None
    return set_password_url(user)


def _unusable_hash() -> str:
    return hash_password(secrets.token_urlsafe(32))  # a secret nobody ever sees: no password works until set


# -- operations ---------------------------------------------------------------------------------------------------

def create_user(actor, data: UserIn) -> tuple[User, str | None]:
    """Create an officer with their grants; returns (user, link to hand over when there is no e-mail)."""
    actor = as_actor(actor)
    units = [_grant_unit(actor, g.unit) for g in data.grants]
    if _username_taken(data.username):
        raise InvalidInput({"username": ("username_taken", {})})
    user = User(username=data.username, full_name=data.full_name, email=data.email, phone=data.phone,
                password_hash=_unusable_hash(), active=True)
    db.session.add(user)
    seen: set[tuple[str, int]] = set()
    for g, unit in zip(data.grants, units, strict=True):
        if (g.role, unit.id) not in seen:
            seen.add((g.role, unit.id))
            user.grants.append(RoleGrant(role=g.role, unit=unit))
    db.session.flush()
    record(actor, "user.create", "user", user.id, before=None, after=user_dict(user), unit=units[0])
    return user, _hand_over(user)


def add_grant(actor, user: User, data: GrantIn) -> RoleGrant:
    """Give a visible user one more role at a unit inside the actor's administration."""
    actor = as_actor(actor)
    unit = _grant_unit(actor, data.unit)
    if any(g.role == data.role and g.unit_id == unit.id for g in user.grants):
        raise GuardRefused("grant_exists")
    before = user_dict(user)
    grant = RoleGrant(role=data.role, unit=unit)
    user.grants.append(grant)
    db.session.flush()
    record(actor, "user.grant", "user", user.id, before=before, after=user_dict(user), unit=unit)
    return grant


def revoke_grant(actor, user: User, grant_id: int) -> None:
    """Take a role away (the holder's sessions end; the last admin of a province stays; a user keeps one grant,
    deactivate them instead)."""
    actor = as_actor(actor)
    grant = next((g for g in user.grants if g.id == grant_id), None)
    if grant is None:
        raise NotFound("grant_not_found")
    require_admin(actor, grant.unit)
    if len(user.grants) == 1:
        raise GuardRefused("last_grant")
    before, unit = user_dict(user), grant.unit
    accounts.revoke_grant(grant, actor=_actor_user(actor))
    db.session.flush()
    db.session.expire(user, ["grants"])
    record(actor, "user.revoke_grant", "user", user.id, before=before, after=user_dict(user), unit=unit)


def set_active(actor, user: User, active: bool) -> None:
    """Deactivate (sessions and tokens end; never the last admin of a province) or reactivate."""
    actor = as_actor(actor)
    _require_over_user(actor, user)
    if user.active == active:
        return
    before = {"active": user.active}
    accounts.set_active(user, active, actor=_actor_user(actor))
    record(actor, "user.activate" if active else "user.deactivate", "user", user.id, before=before,
           after={"active": user.active}, unit=user.grants[0].unit if user.grants else None)


def reset_link(actor, user: User) -> str | None:
    """An admin's reset: the old password stops working, every session ends, and a new link goes out (e-mail) or
    is returned to hand over."""
    actor = as_actor(actor)
    _require_over_user(actor, user)
    user.password_hash = _unusable_hash()
    accounts.end_sessions(user)
    db.session.flush()
    record(actor, "user.reset_password", "user", user.id, before=None, after={"set_password_link": "issued",
                                                                              "by_email": bool(user.email)},
           unit=user.grants[0].unit if user.grants else None)
    return _hand_over(user)


def _actor_user(actor: Actor) -> User | None:
    return db.session.get(User, actor.id)


# -- the officers spreadsheet -------------------------------------------------------------------------------------

COLUMNS = ("username", "full_name", "email", "phone", "role", "unit_code")
COLUMN_LABELS = {
    "username": ("Tên đăng nhập", "Username"), "full_name": ("Họ và tên", "Full name"),
    "email": ("E-mail", "E-mail"), "phone": ("Điện thoại", "Phone"), "role": ("Vai trò", "Role"),
    "unit_code": ("Mã đơn vị", "Unit code"),
}
ROLE_NAMES_VI = {
    "branch_officer": "Cán bộ chi hội", "commune_appraiser": "Cán bộ thẩm định cấp xã",
    "district_approver": "Cán bộ phê duyệt cấp huyện", "provincial_approver": "Cán bộ phê duyệt cấp tỉnh",
    "auditor": "Kiểm toán viên", "admin": "Quản trị viên",
}
_FIELD_COLUMN = {"username": "username", "full_name": "full_name", "email": "email", "phone": "phone",
                 "grants.0.role": "role", "grants.0.unit": "unit_code", "grants": "role"}


@dataclass
class RowError:
    row: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, locale: str = "vi") -> str:
        en = locale.startswith("en")
        label = COLUMN_LABELS.get(self.column, (self.column, self.column))[1 if en else 0]
        vi_text, en_text = FIELD_MESSAGES.get(self.code, FIELD_MESSAGES["invalid"])
        text = (en_text if en else vi_text).format(**self.params)
        return f"Row {self.row}, column «{label}»: {text}" if en else f"Dòng {self.row}, cột «{label}»: {text}"


class ImportRefused(GuardRefused):
    """At least one row is wrong: nothing is stored; `errors` say which row and column, and why."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("import_refused", count=len(errors))


def _role_code(value: str) -> str:
    text = value.strip()
    if text in ROLES:
        return text
    folded = text.casefold()
    for code, name in ROLE_NAMES_VI.items():
        if name.casefold() == folded:
            return code
    return text


def check_rows(actor, rows: list[dict[str, Any]]) -> tuple[list[UserIn], list[RowError]]:
    """Validate every row (row numbers as in the sheet: the header is row 1) without writing anything."""
    actor = as_actor(actor)
    inputs: list[UserIn] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rows, start=2):
        code = str(raw.get("unit_code") or "").strip()
        unit = db.session.scalar(select(Unit).where(Unit.code == code)) if code else None
        row_errors: list[RowError] = []
        if not code:
            row_errors.append(RowError(i, "unit_code", "required"))
        elif unit is None or not actor.covers(unit.path, ADMIN):
            row_errors.append(RowError(i, "unit_code", "unit_unknown"))
        data = {"username": raw.get("username") or "", "full_name": raw.get("full_name") or "",
                "email": raw.get("email"), "phone": raw.get("phone"),
                "grants": [{"role": _role_code(str(raw.get("role") or "")), "unit": unit.id if unit else 1}]}
        try:
            model = parse(UserIn, data)
        except InvalidInput as exc:
            for fname, (fcode, params) in exc.fields.items():
                column = _FIELD_COLUMN.get(fname, fname.split(".")[-1])
                row_errors.append(RowError(i, column, "role" if column == "role" else fcode, params))
            model = None
        if model is not None:
            key = model.username.lower()
            if key in seen:
                row_errors.append(RowError(i, "username", "duplicate_row", {"row": seen[key]}))
            elif _username_taken(model.username):
                row_errors.append(RowError(i, "username", "username_taken"))
            seen.setdefault(key, i)
        if row_errors:
            errors += row_errors
        elif model is not None:
            inputs.append(model)
    return inputs, errors


def import_rows(actor, rows: list[dict[str, Any]]) -> list[tuple[User, str | None]]:
    """All or nothing: every row valid, then every user created (one audit event each); else ImportRefused."""
    if not rows:
        raise ImportRefused([RowError(2, "username", "required")])
    inputs, errors = check_rows(actor, rows)
    if errors:
        raise ImportRefused(errors)
    return [create_user(actor, data) for data in inputs]


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if not isinstance(value, str) else value.strip()


def read_sheet(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Rows of an officers file (.xlsx or .csv, header in the first row, columns in the template's order)."""
    import csv
    import io

    if filename.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GuardRefused("import_bad_file") from exc
        table = list(csv.reader(io.StringIO(text)))
    else:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            table = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
            wb.close()
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the same refusal to a person
            raise GuardRefused("import_bad_file") from exc
    if not table:
        raise GuardRefused("import_bad_file")
    rows = []
    for line in table[1:]:
        cells = [_cell(v) for v in list(line)[:len(COLUMNS)]]
        if not any(cells):
            continue
        cells += [None] * (len(COLUMNS) - len(cells))
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    if len(rows) > 5000:
        raise GuardRefused("import_too_many", max=5000)
    return rows


def template_xlsx() -> bytes:
    """The officers template: the header row, one example, and a second sheet explaining columns and roles."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Can bo"
    ws.append([COLUMN_LABELS[c][0] for c in COLUMNS])
    ws.append(["nguyen.van.an", "Nguyễn Văn An", "an@example.vn", "0912 345 678", "branch_officer", "MA-DON-VI"])
    guide = wb.create_sheet("Huong dan")
    guide.append(["Cột", "Ý nghĩa"])
    guide.append(["Tên đăng nhập", "Bắt buộc; 3-80 ký tự: chữ cái không dấu, chữ số, dấu chấm, gạch ngang, gạch "
                                   "dưới; không trùng (không phân biệt hoa thường)."])
    guide.append(["Họ và tên", "Bắt buộc; họ tên đầy đủ, có dấu."])
    guide.append(["E-mail", "Không bắt buộc; nếu có, liên kết đặt mật khẩu được gửi qua e-mail (hết hạn sau "
                            f"{SET_PASSWORD_HOURS} giờ). Nếu không có, quản trị viên nhận liên kết để trao tận tay."])
    guide.append(["Điện thoại", "Không bắt buộc; chữ số 0-9, dấu + và khoảng trắng."])
    guide.append(["Vai trò", "Bắt buộc; mã vai trò hoặc tên vai trò ở bảng dưới."])
    guide.append(["Mã đơn vị", "Bắt buộc; mã của đơn vị (trong phạm vi quản trị của bạn)."])
    guide.append([])
    guide.append(["Mã vai trò", "Tên vai trò"])
    for code in ROLES:
        guide.append([code, ROLE_NAMES_VI[code]])
    guide.append([])
    guide.append(["Lưu ý", "Nếu có một dòng sai, không dòng nào được lưu; sửa các dòng được báo lỗi rồi tải lên lại."])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["GrantIn", "UserIn", "UserPatch", "create_user", "add_grant", "revoke_grant", "set_active",
           "reset_link", "users_query", "visible_user", "user_dict", "set_password_with_link", "import_rows",
           "check_rows", "read_sheet", "template_xlsx"]
