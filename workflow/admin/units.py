"""Units of a province: importing the official commune list, adding branches (chi hội) and villages (thôn, tổ dân
phố), the area class of a commune, and the scoped list every interface reads.

An import is all-or-nothing: every row is validated first (the declared input CommuneRow, then codes and names
against the file and the database); a bad row is reported with its line number and nothing of the file is
stored. Only then are the units written set-wise, one audit event per unit created or changed. A second import of
the same file finds every unit by its code (the statistics office's gso_code, or a stable code made from the
province and the folded kind and name when the list has none) and changes nothing."""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select, func, insert, select

from .. import clock
from ..authz import Actor, visible_units_clause
from ..db import db
from ..errors import MESSAGES, GuardRefused, NotFound
from ..inputs import MAX_INT, parse_int
from ..loader import (
    VALID_FROM_2025,
    commune_code,
    commune_name,
    parse_former_units,
)
from ..loader import add_unit as _loader_add_unit
from ..loader import set_area_class as _loader_set_area_class
from ..models import Unit, UnitPredecessor
from ..text import fold, nfc
from ..vocabulary import AREA_CLASSES, COMMUNE_KINDS, VILLAGE_KINDS
from . import ADMIN, as_actor, record, require_admin
from .inputs import FIELD_MESSAGES, Input, InvalidInput, Name, parse

PROVINCE_PREFIXES = ("tỉnh ", "thành phố ")
LEVEL_ALIASES = {"chi hội": "branch", "chi hoi": "branch", "branch": "branch", "village": "village",
                 "thôn": "village", "thon": "village", "tổ dân phố": "village", "to dan pho": "village",
                 "commune": "commune"}


# ------------------------------------------------------------------------------------------------ inputs
def _lower_kind(value: Any) -> Any:
    return (nfc(value) or "").lower() if isinstance(value, str) else value


def _optional_int(value: Any) -> Any:
    """"" is not given; anything else must be ASCII digits (workflow.inputs.parse_int)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = parse_int(str(value)) if isinstance(value, str | float) else None
    if number is None:
        raise PydanticCustomError("int_parsing", "not a whole number")
    return number


def _optional_float(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.replace(",", ".").strip() if isinstance(value, str) else value


def _blank_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _level(value: Any) -> Any:
    if isinstance(value, str):
        return LEVEL_ALIASES.get(fold(value), LEVEL_ALIASES.get((nfc(value) or "").lower(), value))
    return value


def _id(value: Any) -> Any:
    if isinstance(value, str):
        number = parse_int(value, minimum=1)
        if number is None:
            raise PydanticCustomError("int_parsing", "not an id")
        return number
    return value


CommuneKind = Annotated[Literal[COMMUNE_KINDS], BeforeValidator(_lower_kind)]  # type: ignore[valid-type]
OptionalInt = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_optional_int)]
def _optional_text(max_length: int) -> Any:
    return Annotated[Annotated[str, Field(max_length=max_length)] | None, BeforeValidator(_blank_none)]


class _OptionalText:
    def __class_getitem__(cls, max_length: int) -> Any:
        return _optional_text(max_length)


OptionalText = _OptionalText
UnitId = Annotated[int, BeforeValidator(_id), Field(ge=1, le=MAX_INT)]  # a 32-bit id column: larger names nothing


class CommuneRow(Input):
    """One row of an official commune list (gso_code, name, type, population, area_km2, former_units)."""

    gso_code: Annotated[Annotated[str, Field(max_length=20, pattern=r"^[0-9A-Za-z]+$")] | None,
                        BeforeValidator(_blank_none)] = None
    name: Annotated[Name, Field(max_length=180)]
    type: CommuneKind
    population: OptionalInt = None
    area_km2: Annotated[Annotated[float, Field(ge=0)] | None, BeforeValidator(_optional_float)] = None
    former_units: OptionalText[4000] = None


class _LevelKind(Input):
    @model_validator(mode="before")
    @classmethod
    def _village_kind(cls, data: Any) -> Any:
        """"thôn" or "tổ dân phố" as the level says both: a village, of that kind."""
        if isinstance(data, dict) and isinstance(data.get("level"), str):
            raw = (nfc(data["level"]) or "").lower()
            match = next((k for k in VILLAGE_KINDS if fold(k) == fold(raw)), None)
            if match and not data.get("kind"):
                data = dict(data, kind=match)
        return data


class NewUnit(_LevelKind):
    """A unit added by hand: a commune under a province, a branch or a village under a commune."""

    name: Annotated[Name, Field(max_length=180)]
    level: Annotated[Literal["commune", "branch", "village"], BeforeValidator(_level)]
    parent: UnitId
    kind: OptionalText[32] = None


class SubunitRow(_LevelKind):
    """One row of a branches/villages spreadsheet: name, level, the commune's code (blank: the page's commune)."""

    name: Annotated[Name, Field(max_length=180)]
    level: Annotated[Literal["branch", "village"], BeforeValidator(_level)]
    commune_code: OptionalText[32] = None
    kind: OptionalText[32] = None


class AreaClassChange(Input):
    """The area class of a commune, with the reason the trail keeps."""

    area_class: Literal[AREA_CLASSES]  # type: ignore[valid-type]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


# ------------------------------------------------------------------------------------------------ reports
@dataclass
class Problem:
    """What is wrong with one line of a file (line 1 is the header)."""

    line: int
    field: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, locale: str = "vi") -> str:
        en = locale.startswith("en")
        if self.code in MESSAGES:
            vi_text, en_text = MESSAGES[self.code]
        else:
            vi_text, en_text = FIELD_MESSAGES.get(self.code, FIELD_MESSAGES["invalid"])
        params = {"max": "", "min": "", "choices": "", **self.params}
        return (en_text if en else vi_text).format(**params)

    def as_dict(self, locale: str = "vi") -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "code": self.code, "message": self.message(locale)}


@dataclass
class ImportReport:
    """What an import did, or would do (dry run): counts, the rows refused, and one entry per unit touched."""

    province: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    province_created: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.province_created)

    def summary(self) -> str:
        """One line for the CLI and logs (English)."""
        if self.errors:
            return f"{len(self.errors)} problem(s) in the file; nothing was stored."
        if not self.changed:
            return f"Nothing to change: all {self.unchanged} units are already as the file says."
        return (f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
                f" ({'dry run: nothing stored' if self.dry_run else 'stored'})")

    def as_dict(self, locale: str = "vi") -> dict[str, Any]:
        return {"province": self.province, "dry_run": self.dry_run, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "changed": self.changed,
                "errors": [p.as_dict(locale) for p in self.errors], "rows": self.rows}


# ------------------------------------------------------------------------------------------------ reading files
def read_table(data: bytes | str, filename: str = "") -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV (UTF-8, with or without BOM) or XLSX file as (line number, {folded header: cell}); line 1
    is the header. A file that is neither is refused as a whole (units_bad_file)."""
    if isinstance(data, bytes) and data[:2] == b"PK":
        return _read_xlsx(data)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    except UnicodeDecodeError:
        raise _file_problem("units_bad_file") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise _file_problem("units_bad_file") from None
    keys = [_header(h) for h in header]
    out = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            out.append((reader.line_num, {k: (values[i] if i < len(values) else "") for i, k in enumerate(keys)}))
    except csv.Error:
        raise _file_problem("units_bad_file") from None
    return out


def _read_xlsx(data: bytes) -> list[tuple[int, dict[str, str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    except Exception:  # a damaged or foreign zip: openpyxl raises many kinds
        raise _file_problem("units_bad_file") from None
    if not rows:
        raise _file_problem("units_bad_file")
    keys = [_header(str(h or "")) for h in rows[0]]
    out = []
    for n, values in enumerate(rows[1:], start=2):
        cells = ["" if v is None else str(v) for v in values]
        if any(c.strip() for c in cells):
            out.append((n, {k: (cells[i] if i < len(cells) else "") for i, k in enumerate(keys)}))
    return out


HEADER_ALIASES = {"ten": "name", "ten don vi": "name", "cap": "level", "loai": "level", "ma xa": "commune_code",
                  "commune code": "commune_code", "commune": "commune_code", "ma": "gso_code", "code": "gso_code",
                  "loai hinh": "type"}


def _header(value: str) -> str:
    key = fold(value).strip()
    return HEADER_ALIASES.get(key, key.replace(" ", "_"))


class FileRefused(Exception):
    """The file as a whole cannot be read; the report carries the reason."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _file_problem(code: str, **params: Any) -> FileRefused:
    return FileRefused(Problem(1, "file", code, params))


def _row_problems(line: int, exc: InvalidInput) -> list[Problem]:
    return [Problem(line, name, code, params) for name, (code, params) in exc.fields.items()]


# ------------------------------------------------------------------------------------------------ provinces
def find_province(name: str) -> Unit | None:
    """A province by its name, ignoring case, diacritics and a leading "Tỉnh" / "Thành phố"."""
    wanted = _province_key(name)
    for unit in db.session.scalars(select(Unit).where(Unit.level == "province").order_by(Unit.id)):
        if _province_key(unit.name) == wanted:
            return unit
    return None


def _province_key(name: str) -> str:
    key = fold(name)
    for prefix in PROVINCE_PREFIXES:
        if key.startswith(fold(prefix)):
            return key[len(fold(prefix)):].strip()
    return key


def admin_provinces(actor) -> list[Unit]:
    """The provinces the actor administers (an admin grant at the province itself)."""
    ids = [g.unit_id for g in as_actor(actor).grants if g.role in ADMIN and g.unit_level == "province"]
    if not ids:
        return []
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))


def _new_province(name: str) -> Unit:
    clean = nfc(name) or ""
    if not _province_key(clean) or fold(clean) == _province_key(clean):
        clean = f"Tỉnh {clean}"
    code = "P-" + hashlib.sha256(_province_key(clean).encode()).hexdigest()[:8]
    return _loader_add_unit(code, clean, "province")


# ------------------------------------------------------------------------------------------------ commune import
def snapshot(unit: Unit, former: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The facts of a unit an audit event keeps before and after a change."""
    out: dict[str, Any] = {"code": unit.code, "name": unit.name, "level": unit.level, "kind": unit.kind,
                           "parent_id": unit.parent_id, "population": unit.population, "area_class": unit.area_class,
                           "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
                           "valid_to": unit.valid_to.isoformat() if unit.valid_to else None}
    if former is not None:
        out["former_units"] = [_former_text(f) for f in former]
    return out


def _former_text(f: Mapping[str, Any]) -> str:
    text = " ".join(p for p in (f["former_kind"], f["former_name"]) if p)
    return f"{text} ({f['qualifier']})" if f.get("qualifier") else text


def _former_key(rows: list[Mapping[str, Any]]) -> list[tuple]:
    return [(r["former_kind"], r["former_name"], r["qualifier"], bool(r["partial"])) for r in rows]


def import_communes(province: str | Unit, data: bytes | str, actor=None, *, dry_run: bool = False,
                    valid_from: date = VALID_FROM_2025) -> ImportReport:
    """Import a province's official commune list. `actor` None is the system (the CLI), which may create the
    province; anyone else needs an admin grant at an existing province. Nothing is written when a row is bad or
    on a dry run; the caller commits."""
    if isinstance(province, Unit):
        unit: Unit | None = province
    else:
        unit = find_province(province)
    if actor is not None:
        if unit is None:
            raise NotFound("unit_not_found")
        require_admin(actor, unit)
        if unit.level != "province":
            raise NotFound("unit_not_found")
    name = unit.name if unit is not None else (nfc(str(province)) or "")
    report = ImportReport(province=name, dry_run=dry_run)
    try:
        table = read_table(data)
    except FileRefused as exc:
        report.errors.append(exc.problem)
        return report
    rows = _validate_communes(table, unit, name, report)
    if report.errors:
        return report
    existing = {u.code: u for u in db.session.scalars(
        select(Unit).where(Unit.code.in_([r["code"] for r in rows])))} if rows and unit is not None else {}
    for r in rows:  # a code held by something that is not a commune of this province
        other = existing.get(r["code"])
        if other is not None and (other.level != "commune" or other.parent_id != unit.id):  # type: ignore[union-attr]
            report.errors.append(Problem(r["line"], "gso_code", "row_code_taken", {"code": r["code"]}))
    if report.errors:
        return report
    former_by_unit: dict[int, list[dict[str, Any]]] = {}
    if existing:
        for p in db.session.scalars(select(UnitPredecessor).where(
                UnitPredecessor.successor_id.in_([u.id for u in existing.values()]))
                .order_by(UnitPredecessor.successor_id, UnitPredecessor.position, UnitPredecessor.id)):
            former_by_unit.setdefault(p.successor_id, []).append(
                {"former_kind": p.former_kind, "former_name": p.former_name, "qualifier": p.qualifier,
                 "partial": p.partial})
    plan_new, plan_changed = [], []
    for r in rows:
        current = existing.get(r["code"])
        if current is None:
            report.created += 1
            plan_new.append(r)
            report.rows.append({"line": r["line"], "code": r["code"], "name": r["name"], "action": "create"})
            continue
        changes = {}
        if current.name != r["name"]:
            changes["name"] = r["name"]
        if current.kind != r["kind"]:
            changes["kind"] = r["kind"]
        if r["population"] is not None and current.population != r["population"]:
            changes["population"] = r["population"]
        if current.valid_from is None:
            changes["valid_from"] = valid_from
        old_former = former_by_unit.get(current.id, [])
        former_changed = _former_key(old_former) != _former_key(r["former"])
        if changes or former_changed:
            report.updated += 1
            plan_changed.append((current, changes, old_former if former_changed else None, r))
            report.rows.append({"line": r["line"], "code": r["code"], "name": r["name"], "action": "update",
                                "fields": sorted(changes) + (["former_units"] if former_changed else [])})
        else:
            report.unchanged += 1
    if dry_run:
        report.province_created = unit is None
        return report
    if unit is None:
        unit = _new_province(name)
        report.province_created = True
        record(actor, "unit.create", "unit", unit.id, after=snapshot(unit), unit=unit)
    _write_communes(actor, unit, plan_new, plan_changed, valid_from)
    return report


def _validate_communes(table: list[tuple[int, dict[str, str]]], province: Unit | None, province_name: str,
                       report: ImportReport) -> list[dict[str, Any]]:
    if not table:
        report.errors.append(Problem(1, "file", "units_empty_file"))
        return []
    missing = [c for c in ("name", "type") if c not in table[0][1]]
    if missing:
        report.errors.append(Problem(1, "file", "units_missing_columns", {"columns": ", ".join(missing)}))
        return []
    code_seed = province or Unit(code="P-" + hashlib.sha256(_province_key(province_name).encode())
                                 .hexdigest()[:8])
    rows, codes, names = [], {}, {}
    for line, cells in table:
        values = {k: cells.get(k, "") for k in CommuneRow.model_fields if k in cells}
        try:
            row = parse(CommuneRow, values)
        except InvalidInput as exc:
            report.errors.extend(_row_problems(line, exc))
            continue
        code = row.gso_code or commune_code(code_seed, row.type, row.name)
        full_name = commune_name(row.type, row.name)
        key = full_name.lower()  # not folded: "Văn Lăng" and "Văn Lang" are two communes
        if code in codes:
            report.errors.append(Problem(line, "gso_code", "row_duplicate_code", {"code": code, "other": codes[code]}))
            continue
        if key in names:
            report.errors.append(Problem(line, "name", "row_duplicate_unit", {"name": full_name, "other": names[key]}))
            continue
        codes[code], names[key] = line, line
        rows.append({"line": line, "code": code, "name": full_name, "kind": row.type, "population": row.population,
                     "former": parse_former_units(row.former_units)})
    return rows


def _write_communes(actor, province: Unit, plan_new: list[dict[str, Any]], plan_changed: list[tuple],
                    valid_from: date) -> None:
    """Set-wise: the new units in one flush (then their paths in one more), their former units in one INSERT;
    one audit event per unit created or changed."""
    created = [Unit(code=r["code"], name=r["name"], name_folded=fold(r["name"]), level="commune", parent=province,
                    population=r["population"], area_class=province.area_class, kind=r["kind"],
                    valid_from=valid_from, path="") for r in plan_new]
    db.session.add_all(created)
    db.session.flush()
    for u in created:
        u.path = f"{province.path}{u.id}/"
    former_rows = [dict(f, successor_id=u.id) for u, r in zip(created, plan_new, strict=True) for f in r["former"]]
    for current, changes, old_former, r in plan_changed:
        before = snapshot(current, old_former if old_former is not None else None)
        for attr, value in changes.items():
            setattr(current, attr, value)
        if "name" in changes:
            current.name_folded = fold(current.name)
        if old_former is not None:
            db.session.execute(UnitPredecessor.__table__.delete().where(
                UnitPredecessor.__table__.c.successor_id == current.id))
            former_rows.extend(dict(f, successor_id=current.id) for f in r["former"])
        plan_changed_after = snapshot(current, r["former"] if old_former is not None else None)
        record(actor, "unit.update", "unit", current.id, before=before, after=plan_changed_after, unit=current)
    db.session.flush()
    if former_rows:
        db.session.execute(insert(UnitPredecessor.__table__), former_rows)
    for u, r in zip(created, plan_new, strict=True):
        record(actor, "unit.create", "unit", u.id, after=snapshot(u, r["former"]), unit=u)


# ------------------------------------------------------------------------------------------------ branches, villages
def _subunit_code(parent: Unit, level: str, name: str) -> str:
    digest = hashlib.sha256(f"{parent.id}|{level}|{fold(name)}".encode()).hexdigest()[:10]
    return f"{level[0].upper()}{parent.id}-{digest}"


def _check_placement(level: str, parent: Unit, kind: str | None) -> None:
    wanted = "province" if level == "commune" else "commune"
    if parent.level != wanted:
        raise GuardRefused("wrong_parent_level", level=level, parent_level=wanted)
    if level == "commune" and kind is not None and kind not in COMMUNE_KINDS:
        raise InvalidInput({"kind": ("choice", {"choices": ", ".join(COMMUNE_KINDS)})})
    if level == "village" and kind is not None and kind not in VILLAGE_KINDS:
        raise InvalidInput({"kind": ("choice", {"choices": ", ".join(VILLAGE_KINDS)})})


def _exists(parent: Unit, level: str, name: str) -> bool:
    """A sibling of that level and name (case-insensitive, diacritics kept: "Văn Lăng" is not "Văn Lang")."""
    wanted = (nfc(name) or "").lower()
    return any(n.lower() == wanted for n in db.session.scalars(select(Unit.name).where(
        Unit.parent_id == parent.id, Unit.level == level, Unit.name_folded == fold(name))))


def _create(actor, parent: Unit, level: str, name: str, kind: str | None) -> Unit:
    if level == "commune":
        kind = kind or "xã"
        code = commune_code(parent, kind, name)
        name = name if fold(name).startswith(fold(kind) + " ") else commune_name(kind, name)
    else:
        code = _subunit_code(parent, level, name)
    if _exists(parent, level, name) or db.session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise GuardRefused("unit_exists", name=nfc(name), parent=parent.name)
    unit = _loader_add_unit(code, name, level, parent, kind=kind, valid_from=clock.today())
    record(actor, "unit.create", "unit", unit.id, after=snapshot(unit), unit=unit)
    return unit


def add_unit(actor, data: Mapping[str, Any]) -> Unit:
    """Add one unit by hand (page or API): a branch or a village under a commune, or a commune under a
    province; the actor administers the parent. It takes the parent's area class."""
    item = parse(NewUnit, data)
    parent = db.session.get(Unit, item.parent)
    require_admin(actor, parent)
    assert parent is not None
    _check_placement(item.level, parent, item.kind)
    return _create(actor, parent, item.level, item.name, item.kind)


def import_subunits(actor, data: bytes | str, commune: Unit | None = None, *,
                    dry_run: bool = False) -> ImportReport:
    """Branches and villages from a spreadsheet (CSV or XLSX: name, level, commune code; a blank code means
    `commune`). All rows are checked first; any problem stores nothing."""
    if commune is not None:
        require_admin(actor, commune)
    report = ImportReport(province=commune.name if commune else "", dry_run=dry_run)
    try:
        table = read_table(data)
    except FileRefused as exc:
        report.errors.append(exc.problem)
        return report
    if not table:
        report.errors.append(Problem(1, "file", "units_empty_file"))
        return report
    missing = [c for c in ("name", "level") if c not in table[0][1]]
    if missing:
        report.errors.append(Problem(1, "file", "units_missing_columns", {"columns": ", ".join(missing)}))
        return report
    me = as_actor(actor)
    communes: dict[str, Unit | None] = {}
    seen: dict[tuple[int, str, str], int] = {}
    plan = []
    for line, cells in table:
        values = {k: cells.get(k, "") for k in SubunitRow.model_fields if k in cells}
        try:
            row = parse(SubunitRow, values)
        except InvalidInput as exc:
            report.errors.extend(_row_problems(line, exc))
            continue
        target = commune
        if row.commune_code:
            if row.commune_code not in communes:
                found = db.session.scalar(select(Unit).where(Unit.code == row.commune_code,
                                                             Unit.level == "commune"))
                communes[row.commune_code] = found if found is not None and me.covers(found.path, ADMIN) else None
            target = communes[row.commune_code]
        if target is None:
            report.errors.append(Problem(line, "commune_code", "row_unknown_commune",
                                         {"code": row.commune_code or ""}))
            continue
        if row.level == "village" and row.kind is not None and row.kind not in VILLAGE_KINDS:
            report.errors.append(Problem(line, "kind", "choice", {"choices": ", ".join(VILLAGE_KINDS)}))
            continue
        key = (target.id, row.level, row.name.lower())
        if key in seen:
            report.errors.append(Problem(line, "name", "row_duplicate_unit", {"name": row.name, "other": seen[key]}))
            continue
        seen[key] = line
        if _exists(target, row.level, row.name):
            report.unchanged += 1
            continue
        plan.append((target, row))
        report.created += 1
        report.rows.append({"line": line, "name": row.name, "level": row.level, "commune": target.name,
                            "action": "create"})
    if report.errors:
        report.created = report.unchanged = 0
        report.rows = []
        return report
    if not dry_run:
        for target, row in plan:
            _create(actor, target, row.level, row.name, row.kind)
    return report


# ------------------------------------------------------------------------------------------------ area class
def set_area_class(actor, unit: Unit | None, data: Mapping[str, Any]) -> int:
    """Class a commune ordinary or disadvantaged (the CDHT pass mark 80 or 70), with a reason; its branches and
    villages follow. Returns how many units changed (0: it already had that class, nothing is recorded)."""
    require_admin(actor, unit)
    assert unit is not None
    item = parse(AreaClassChange, data)
    if unit.level != "commune":
        raise GuardRefused("wrong_unit_level", unit=unit.name, level="commune")
    before = unit.area_class
    if before == item.area_class:
        return 0
    count = _loader_set_area_class(unit, item.area_class)
    db.session.refresh(unit)
    record(actor, "unit.area_class", "unit", unit.id, before={"area_class": before},
           after={"area_class": item.area_class, "units": count}, unit=unit, reason=item.reason)
    return count


# ------------------------------------------------------------------------------------------------ reads
def units_query(actor, *, level: str | None = None, parent: int | None = None, q: str | None = None,
                admin_only: bool = False) -> Select:
    """Units under the actor's grants (admin grants only when `admin_only`), by level, parent and a name
    search ignoring diacritics; a parent outside them is not found."""
    me: Actor = as_actor(actor)
    roles = ADMIN if admin_only else None
    stmt = select(Unit).where(visible_units_clause(me, Unit.path, roles))
    if parent is not None:
        parent_unit = db.session.get(Unit, parent)
        if parent_unit is None or not me.covers(parent_unit.path, roles):
            raise NotFound("unit_not_found")
        stmt = stmt.where(Unit.parent_id == parent)
    if level:
        stmt = stmt.where(Unit.level == level)
    if q and fold(q):
        stmt = stmt.where(Unit.name_folded.contains(fold(q), autoescape=True))
    return stmt.order_by(Unit.name_folded, Unit.id)


def visible_unit(actor, unit_id: int, *, admin: bool = True) -> Unit:
    """A unit the actor administers (404 outside their grants, 403 inside without the admin role)."""
    unit = db.session.get(Unit, unit_id)
    if admin:
        require_admin(actor, unit)
    elif unit is None or not as_actor(actor).covers(unit.path):
        raise NotFound("unit_not_found")
    assert unit is not None
    return unit


def child_counts(unit_ids: list[int]) -> dict[int, dict[str, int]]:
    """Branches and villages per commune, in one grouped query."""
    if not unit_ids:
        return {}
    out: dict[int, dict[str, int]] = {i: {"branch": 0, "village": 0} for i in unit_ids}
    for parent_id, level, n in db.session.execute(
            select(Unit.parent_id, Unit.level, func.count()).where(Unit.parent_id.in_(unit_ids))
            .group_by(Unit.parent_id, Unit.level)):
        out[parent_id][level] = n
    return out


def predecessors(unit: Unit) -> list[UnitPredecessor]:
    return list(db.session.scalars(select(UnitPredecessor).where(UnitPredecessor.successor_id == unit.id)
                                   .order_by(UnitPredecessor.position, UnitPredecessor.id)))
