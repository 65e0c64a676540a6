"""Spreadsheet cells to typed values, one rule per kind of column. Excel and LibreOffice hand back whatever the
officer's machine made of a typed value (a date object, a serial number, text in several orders, a CCCD turned
into a float); each function accepts the honest forms and raises CellError with a code for the rest, so a bad cell
is a message on its row, never a crash."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from .. import clock
from ..inputs import ASCII_DIGITS

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug included from serial 61)
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
SEPARATORS = str.maketrans("", "", " .\u00a0\u2009\u202f-")  # spaces, dots and dashes typed between digit groups


class CellError(Exception):
    """A cell that cannot be read as its column's kind: a code of workflow.errors.MESSAGES and its parameters."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(code)


def blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


def shown(value: Any) -> str:
    """A cell as the officer would recognise it in a message."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def text(value: Any) -> str | None:
    """Text as typed, NFC; numbers written back without a trailing .0; None when blank."""
    if type(value) is str:  # the usual case first
        value = value.strip()
        return (value if value.isascii() else unicodedata.normalize("NFC", value)) or None
    if blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return unicodedata.normalize("NFC", str(value)).strip()


def _two_digit_year(yy: int, day: int, month: int) -> int:
    """d/m/yy: the most recent century that does not put a birth date in the future."""
    today = clock.today()
    year = 2000 + yy
    try:
        if date(year, month, day) > today:
            year -= 100
    except ValueError:
        year -= 100 if year > today.year else 0
    return year


def birth_date(value: Any) -> date | None:
    """dd/mm/yyyy, d/m/yy (also with . or -), ISO yyyy-mm-dd, a date or datetime cell, an Excel serial number."""
    if type(value) is str and (m := _DMY.match(value.strip())) and len(m.group(3)) == 4:  # the usual case first
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            raise CellError("row_date", value=value.strip()) from None
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise CellError("row_date", value=shown(value))
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer() and value < 1:
            raise CellError("row_date", value=shown(value))
        serial = int(value)
        if not 1 <= serial <= 2958465:  # 9999-12-31
            raise CellError("row_date", value=shown(value))
        return EXCEL_EPOCH + timedelta(days=serial)
    raw = unicodedata.normalize("NFKC", str(value)).strip()
    if any(ch.isdigit() and ch not in ASCII_DIGITS for ch in str(value)):
        raise CellError("row_date", value=str(value).strip())
    try:
        if m := _DMY.match(raw):
            day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
            return date(_two_digit_year(int(year), day, month) if len(year) == 2 else int(year), month, day)
        if m := _ISO.match(raw):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise CellError("row_date", value=raw)


def citizen_id(value: Any) -> str | None:
    """The CCCD as text with separators (spaces, dots, dashes) removed. A number cell is refused unless it still
    has all 12 digits: a real CCCD starts with 0 (its province code), which a number cannot keep."""
    if blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("citizen_id", value=shown(value))
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise CellError("citizen_id", value=shown(value))
        digits = str(int(value))
        if len(digits) < 12:
            raise CellError("row_citizen_id_number", value=f"{float(value):.2E}".replace("E+", "E+"))
        return digits
    return unicodedata.normalize("NFC", str(value)).translate(SEPARATORS).strip()


def score(value: Any, criterion: str, maximum: int) -> int | None:
    """A whole number of points (a number cell or ASCII digits); bounds are the rubric's (checked by the caller)."""
    if value is None or value == "":
        return None
    if type(value) is float and value.is_integer():
        return int(value)
    if blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("row_score", criterion=criterion, max=maximum, value=shown(value))
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError("row_score", criterion=criterion, max=maximum, value=shown(value))
        return int(value)
    if isinstance(value, int):
        return value
    raw = str(value).strip()
    if raw.endswith(".0"):
        raw = raw[:-2]
    if not raw or not all(ch in ASCII_DIGITS for ch in raw) or len(raw) > 9:
        raise CellError("row_score", criterion=criterion, max=maximum, value=raw)
    return int(raw)
