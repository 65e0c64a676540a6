"""Helpers the page views share: the current actor, role checks, pagination arguments, CSV safety."""
from __future__ import annotations

from collections.abc import Iterable
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from workflow.authz import Actor, actor_of


def actor() -> Actor:
    return actor_of(current_user._get_current_object())


def roles_required(*roles: str):
    """Logged in and holding one of `roles` somewhere; object scope is still checked per application."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not actor().roles() & set(roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def int_arg(name: str, default: int | None = None) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.strip().isdigit() else default


def csv_safe(value: object) -> str:
    """Neutralise spreadsheet formulas in exported cells (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(rows: Iterable[Iterable[object]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return "\ufeff" + buf.getvalue()  # BOM: Excel then reads the Vietnamese text as UTF-8
