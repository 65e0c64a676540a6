"""Helpers the page views share: the current actor, role checks, pagination arguments, CSV safety."""
from __future__ import annotations

from collections.abc import Iterable
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from workflow import queries
from workflow.authz import Actor, actor_of
from workflow.db import db
from workflow.inputs import MAX_INT, is_ascii_digits, parse_int

ID = f"int(max={MAX_INT})"  # URL converter for ids in page paths: a larger number names nothing (404), never a 500
MAX_PAGE = 1_000_000


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


def int_arg(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """An integer from the query string or form (workflow.inputs.parse_int: ASCII digits within bounds), else
    `default`: "１０", "٩", "²" and numbers past 32 bits are not numbers here."""
    value = parse_int(request.values.get(name, ""), minimum=minimum, maximum=maximum)
    return default if value is None else value


def int_list(name: str) -> list[int]:
    """The positive ids of a repeated form field (batch selections); anything that is not one is ignored."""
    return [i for raw in request.form.getlist(name) if (i := parse_int(raw, minimum=1)) is not None]


def version_arg() -> int | None:
    """The version a form was rendered with (optimistic locking); absent is None, anything but a number is a
    malformed request (400): never silently act without the check."""
    raw = (request.form.get("version") or "").strip()
    if not raw:
        return None
    value = parse_int(raw)
    if value is None:
        abort(400)
    return value


def paginate(stmt: Select, *, per_page: int, max_per_page: int = 200, count: bool = True) -> Pagination:
    """One page of a select from ?page= and ?per_page=; a page past the last shows the last one (a number too
    large to be a page at all is taken as "the end"), a malformed one the first."""
    raw = (request.args.get("page") or "").strip()
    page = parse_int(raw, minimum=1, maximum=MAX_PAGE)
    if page is None:
        page = MAX_PAGE if is_ascii_digits(raw) and raw.lstrip("0") else 1
    size = int_arg("per_page", per_page, minimum=1, maximum=max_per_page)
    result = db.paginate(stmt, page=page, per_page=size, max_per_page=max_per_page, error_out=False, count=count)
    if count and result.pages and page > result.pages:
        result = db.paginate(stmt, page=result.pages, per_page=size, max_per_page=max_per_page, error_out=False,
                             count=count)
    return result


def keyset(stmt: Select, id_column, total: int | None, *, per_page: int,
           max_per_page: int = 200) -> queries.KeysetPage:
    """A page of `stmt` (newest first by `id_column`) from ?before= / ?after= and ?per_page=. `total` comes from
    the summary when the caller has it; a search (None) shows the planner's estimate on PostgreSQL, exact when
    the whole list fits on one page, and is counted up to queries.SEARCH_CAP elsewhere."""
    size = int_arg("per_page", per_page, minimum=1, maximum=max_per_page)
    if total == 0:  # nothing matches: do not walk the index looking for it
        return queries.KeysetPage(items=[], newer=None, older=None, total=0, capped=False, per_page=size)
    guess = queries.estimate(stmt) if total is None else None
    page = queries.keyset_page(stmt, id_column, before=int_arg("before"), after=int_arg("after"), per_page=size,
                               cap=queries.SEARCH_CAP, total=total if guess is None else guess,
                               count_stmt=stmt.with_only_columns(id_column).order_by(id_column.desc()))
    if guess is not None:
        if page.older is None and page.newer is None:
            page.total = len(page.items)  # all of it is here: exact, for nothing
        else:
            page.total, page.estimated = max(guess, len(page.items) + 1), True
    return page


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
