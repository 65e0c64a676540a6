"""Small request helpers: parse a JSON body strictly, read typed fields into a FieldErrors, page a query, commit."""
from __future__ import annotations

import json
import unicodedata
from typing import Any

from flask import request
from sqlalchemy import Select

from workflow.db import db
from workflow.inputs import MAX_INT, is_ascii_digits

from .errors import ApiError, FieldErrors

MAX_PER_PAGE = 100
# MAX_INT (workflow.inputs): ids and versions are 32-bit integer columns, larger numbers cannot name anything.
ID = f"int(max={MAX_INT})"  # URL converter for ids in paths: a larger number is an unknown address (404)


def json_body() -> dict[str, Any]:
    """The body as a JSON object: malformed JSON or a non-object is a 400, before any field is judged."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested ~1,000 deep
        raise ApiError(400, "bad_json") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "bad_body")
    return data


def is_clean_text(value: str, *, multiline: bool = False) -> bool:
    """No control characters (NUL is refused by PostgreSQL, the others corrupt names and logs) and no lone
    surrogates (not encodable as UTF-8); free text may keep line breaks and tabs."""
    allowed = "\n\r\t" if multiline else ""
    return not any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value)


def string_field(body: dict[str, Any], name: str, errors: FieldErrors, *, required: bool = True,
                 max_len: int = 200, strip: bool = True, multiline: bool = False,
                 any_char: bool = False) -> str | None:
    """A string; `any_char` skips the control-character check (a password is hashed, never stored or shown)."""
    value = body.get(name)
    if value is None:
        if required:
            errors.add(name, "required")
        return None
    if not isinstance(value, str):
        errors.add(name, "string")
        return None
    if strip:
        value = value.strip()
    if required and not value:
        errors.add(name, "empty")
        return None
    if len(value) > max_len:
        errors.add(name, "too_long", max=max_len)
        return None
    if not any_char and not is_clean_text(value, multiline=multiline):
        errors.add(name, "control_chars")
        return None
    return value


def int_field(body: dict[str, Any], name: str, errors: FieldErrors, *, required: bool = True,
              minimum: int = 1, maximum: int = MAX_INT) -> int | None:
    """An integer (JSON number without fraction; booleans are not integers) within bounds: by default a positive
    32-bit number, so nothing reaches the database that it would refuse with an error of its own."""
    value = body.get(name)
    if value is None:
        if required:
            errors.add(name, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, "integer")
        return None
    if not minimum <= value <= maximum:
        errors.add(name, "range", min=minimum, max=maximum)
        return None
    return value


def query_int(name: str, errors: FieldErrors, *, default: int | None = None, minimum: int = 1,
              maximum: int = MAX_INT) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not is_ascii_digits(raw):  # ASCII digits only (workflow.inputs): "１０", "٩" and "²" are not numbers
        errors.add(name, "integer")
        return default
    if len(raw) > len(str(maximum)):  # never int() a thousand digits: it is out of range whatever it says
        errors.add(name, "range", min=minimum, max=maximum)
        return default
    return int_field({name: int(raw)}, name, errors, minimum=minimum, maximum=maximum)


def paged(stmt: Select, serialize, errors: FieldErrors | None = None, total: int | None = None) -> dict[str, Any]:
    """Run a select a page at a time: {"items", "page", "per_page", "total", "pages"}. A caller that knows the
    total (from a summary) passes it, and no COUNT runs."""
    errors = errors or FieldErrors()
    page = query_int("page", errors, default=1, maximum=1_000_000)
    per_page = query_int("per_page", errors, default=20, maximum=MAX_PER_PAGE)
    errors.raise_if_any()
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=total is None)
    total = result.total if total is None else total
    return {"items": [serialize(item) for item in result.items], "page": page, "per_page": per_page,
            "total": total, "pages": -(-total // per_page) if total else 0}


def iso(value: Any) -> str | None:
    """Dates and datetimes as ISO 8601 (SQLite gives naive UTC datetimes back: mark them as UTC)."""
    if value is None:
        return None
    from datetime import UTC, datetime

    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def commit() -> None:
    """The one commit point of a request that changed something."""
    db.session.commit()
