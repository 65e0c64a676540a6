"""Canonical forms of what people type: integers, dates, citizen IDs and names. One rule per kind of value, used by the
pages, the API and every later import alike, so that the same citizen, number or name is never stored two ways.

Python's `str.isdigit()`, `int()` and the regex `\\d` accept every Unicode digit ("１０", "٩", "²"); a 12-digit
citizen ID in full-width digits would then be a second person to the duplicate check. Here only ASCII 0-9 count.
Names refuse invisible format characters (bidi overrides, zero-width spaces) and floods of combining marks."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from .errors import GuardRefused

MAX_INT = 2**31 - 1  # ids, versions and counters are 32-bit integer columns: larger numbers name nothing
ASCII_DIGITS = frozenset("0123456789")
CITIZEN_ID_LENGTH = 12
MAX_MARKS = 2  # combining marks on one base character; Vietnamese needs at most two ("ệ" = e + ◌̂ + ◌̣)


def is_ascii_digits(value: str) -> bool:
    """True for a non-empty string of ASCII 0-9 only (unlike str.isdigit, which takes any Unicode digit)."""
    return bool(value) and all(ch in ASCII_DIGITS for ch in value)


def parse_int(value: object, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """An integer typed by a person: ASCII digits only, surrounding whitespace ignored, within [minimum, maximum];
    None for anything else ("", "１０", "٩", "²", "-1", "1e3", a number past 32 bits). Never raises."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not is_ascii_digits(text) or len(text) > len(str(maximum)):
            return None
        number = int(text)
    else:
        return None
    return number if minimum <= number <= maximum else None


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def parse_date(value: object) -> date | None:
    """A day as people and programs write it: dd/mm/yyyy (what the pages show and officers type; d/m/yyyy too)
    or YYYY-MM-DD (what the API answers), ASCII digits only, surrounding whitespace ignored; a date object as it
    is (a datetime gives its day). None for anything else: 31/02/2026, "12/01/26", a timestamp, a number.
    The one rule for a typed date: the declared inputs (workflow.declared), the campaign form and the page
    filters all read dates through it. Never raises."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if m := _DMY.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _ISO.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:  # no such day
        return None
    return None


def citizen_id_problem(value: str | None) -> str | None:
    """Why a citizen ID (CCCD) is refused, or None when it is canonical: "citizen_id_ascii" (digits other than
    0-9) or "citizen_id_format" (not 12 digits)."""
    text = (value or "").strip()
    if any(ch.isdigit() and ch not in ASCII_DIGITS for ch in text):
        return "citizen_id_ascii"
    if len(text) != CITIZEN_ID_LENGTH or not is_ascii_digits(text):
        return "citizen_id_format"
    return None


def canonical_citizen_id(value: str | None) -> str:
    """The one stored form of a CCCD: exactly 12 ASCII digits, surrounding whitespace stripped. Raises
    GuardRefused: citizen_id_ascii for other digits, invalid_field (field citizen_id) for any other shape."""
    problem = citizen_id_problem(value)
    if problem == "citizen_id_ascii":
        raise GuardRefused(problem, field="citizen_id")
    if problem:
        raise GuardRefused("invalid_field", field="citizen_id", detail="12 chữ số / 12 digits")
    return (value or "").strip()


def text_problem(value: str) -> str | None:
    """Why a name (of a person, unit or file) is refused, as a short reason, or None. Refused: every character of
    Unicode category C (controls, format characters such as U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, U+FEFF,
    surrogates, private use, unassigned) and more than MAX_MARKS combining marks on one base character. Marks are
    counted decomposed (NFD), so a precomposed letter cannot hide its own marks: Vietnamese never needs more than
    two ("ệ", "ặ", "ở"), whichever form it was typed in; "é" followed by two more acute accents is three."""
    marks = 0
    for ch in unicodedata.normalize("NFD", value):
        category = unicodedata.category(ch)
        if category.startswith("C"):
            return "format" if category == "Cf" else "control"
        if category.startswith("M"):
            marks += 1
            if marks > MAX_MARKS:
                return "marks"
        else:
            marks = 0
    return None


def clean_name(value: str | None, field: str = "full_name") -> str | None:
    """A person's or unit's name as stored: NFC, inner whitespace collapsed; None when empty. Raises
    GuardRefused("invalid_name") for the characters text_problem refuses."""
    if value is None:
        return None
    collapsed = " ".join(unicodedata.normalize("NFC", value).split())  # whitespace of any kind becomes one space
    if text_problem(collapsed):
        raise GuardRefused("invalid_name", field=field)
    return collapsed or None
