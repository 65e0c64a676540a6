"""Denominators from a spreadsheet (issue 11, section 1): an admin's XLSX or CSV of adults aged 15 and over, the
number of communes and wards, and staff of learning units, per unit and year; its template; the demo's figures.

The import follows the commune-list import (workflow/admin/units.py, docs/import.md): every row is judged first
(the declared input DenominatorRow, then its unit within the admin's provinces and duplicates in the file); any bad
row is reported with its line and nothing of the file is stored; a dry run (the preview) stores nothing either.
Then rows are written set-wise and the whole import is one audit event with its row count and each changed
figure's before and after. A row whose value is left empty (the template lists every commune) is skipped."""
from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import or_, select

from .. import clock
from ..admin import ADMIN, as_actor, record
from ..admin.inputs import Input, InvalidInput, parse
from ..admin.units import Problem
from ..db import db
from ..errors import NotAuthorized
from ..imports.reader import ImportRefused, header_field, read
from ..inputs import parse_int
from ..models import ReportDenominator, Unit
from ..text import fold, nfc
from . import targets
from .targets import DEMO_SOURCE

MAX_ROWS = 5000
# Header (folded) -> field; Vietnamese as the template writes it, and the field names themselves.
HEADERS = {"ma don vi": "unit_code", "ma": "unit_code", "unit_code": "unit_code", "code": "unit_code",
           "ten don vi": "unit_name", "ten": "unit_name", "unit_name": "unit_name", "name": "unit_name",
           "don vi": "unit", "unit": "unit", "nam": "year", "year": "year", "loai so lieu": "kind", "loai": "kind",
           "kind": "kind", "gia tri": "value", "so lieu": "value", "value": "value", "nguon": "source",
           "nguon so lieu": "source", "source": "source"}
TEMPLATE_HEADERS = ("Mã đơn vị", "Tên đơn vị", "Năm", "Loại số liệu", "Giá trị", "Nguồn")
KIND_ALIASES = {"adults": "adults", "nguoi tu 15 tuoi tro len": "adults", "nguoi tu 15 tuoi": "adults",
                "dan so tu 15 tuoi tro len": "adults", "communes": "communes", "so xa, phuong": "communes",
                "so xa phuong": "communes", "unit_staff": "unit_staff", "can bo don vi hoc tap": "unit_staff"}
KIND_LABELS = {"adults": "Người từ 15 tuổi trở lên", "communes": "Số xã, phường",
               "unit_staff": "Cán bộ đơn vị học tập"}


def _kind(value: Any) -> Any:
    key = fold(str(value or "")).strip()
    kind = KIND_ALIASES.get(key) or KIND_ALIASES.get(key.replace("_", " "))
    if kind is None:
        raise PydanticCustomError("denominator_kind", "unknown kind")
    return kind


def _whole(value: Any, code: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().replace(".", "").replace(" ", "") if isinstance(value, str) else None
    if text and text.startswith("-") and parse_int(text[1:]) is not None:
        return -int(text[1:])
    number = parse_int(text, maximum=10**12) if text else None
    if number is None:
        raise PydanticCustomError(code, "not a whole number")
    return number


def _year(value: Any) -> Any:
    number = _whole(value, "denominator_year")
    if not 2000 <= number <= 2100:
        raise PydanticCustomError("denominator_year", "year out of range")
    return number


def _value(value: Any) -> Any:
    number = _whole(value, "denominator_value")
    if number < 0:
        raise PydanticCustomError("denominator_negative", "negative")
    return number


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = nfc(str(value).strip()) or ""
    return value or None


class DenominatorRow(Input):
    """One row of a denominators file: the unit (its code, or its name), the year, the kind, the value, where the
    figure comes from."""

    unit_code: Annotated[Annotated[str, Field(max_length=32)] | None, BeforeValidator(_text)] = None
    unit_name: Annotated[Annotated[str, Field(max_length=200)] | None, BeforeValidator(_text)] = None
    unit: Annotated[Annotated[str, Field(max_length=200)] | None, BeforeValidator(_text)] = None
    year: Annotated[int, BeforeValidator(_year)]
    kind: Annotated[str, BeforeValidator(_kind)]
    value: Annotated[int, BeforeValidator(_value)]
    source: Annotated[Annotated[str, Field(max_length=500)] | None, BeforeValidator(_text)] = None


@dataclass
class DenominatorReport:
    """What an import did, or would do (dry run)."""

    file_name: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows whose value was left empty
    errors: list[Problem] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def as_dict(self, locale: str = "vi") -> dict[str, Any]:
        return {"file_name": self.file_name, "dry_run": self.dry_run, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped,
                "changed": self.changed, "errors": [p.as_dict(locale) for p in self.errors],
                "rows": [{k: v for k, v in r.items() if k != "unit"} for r in self.rows]}


def admin_scope(actor) -> list[str]:
    """The unit paths the actor administers (an import may name units under them only)."""
    return sorted({g.unit_path for g in as_actor(actor).grants if g.role in ADMIN})


def _cells(header: list[Any], cells: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, h in enumerate(header):
        key = header_field(h, HEADERS)
        if key and i < len(cells) and key not in out:
            value = cells[i]
            out[key] = None if isinstance(value, str) and not value.strip() else value
    return out


def _name_keys(unit: Unit) -> set[str]:
    """A unit is found by its folded name, with or without its kind ("Phường Bắc Giang" or "Bắc Giang")."""
    keys = {unit.name_folded}
    for prefix in ("tinh ", "thanh pho ", "phuong ", "xa ", "dac khu "):
        if unit.name_folded.startswith(prefix):
            keys.add(unit.name_folded[len(prefix):].strip())
    return keys


class _Units:
    """The units a file may name, looked up set-wise: by code (any level), by name (provinces and communes)."""

    def __init__(self, scope: list[str], codes: set[str], names: set[str]) -> None:
        self.scope = scope
        self.by_code = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))} \
            if codes else {}
        self.by_name: dict[str, list[Unit]] = {}
        if names:
            stmt = select(Unit).where(Unit.level.in_(("province", "commune")))
            for u in db.session.scalars(stmt):
                for key in _name_keys(u):
                    if key in names:
                        self.by_name.setdefault(key, []).append(u)

    def inside(self, unit: Unit) -> bool:
        return any(unit.path.startswith(p) for p in self.scope)

    def find(self, code: str | None, name: str | None) -> tuple[Unit | None, str | None]:
        """(unit, None) or (None, problem code)."""
        candidates: list[Unit] = []
        if code:
            unit = self.by_code.get(code) or (self.by_code.get(code.zfill(5)) if code.isdigit() else None)
            if unit is not None:
                candidates = [unit]
        if not candidates and name:
            candidates = self.by_name.get(fold(name).strip(), [])
        if not candidates:
            return None, "denominator_unknown_unit"
        mine = [u for u in candidates if self.inside(u)]
        if not mine:
            return None, "denominator_outside_unit"
        if len(mine) > 1:
            return None, "denominator_ambiguous_unit"
        return mine[0], None


def import_denominators(actor, data: bytes, filename: str = "", *, dry_run: bool = False) -> DenominatorReport:
    """Judge every row, then (unless a row is bad or this is a dry run) write them and audit the import once. An
    admin grant is needed; each row's unit must lie under one. The caller commits."""
    actor = as_actor(actor)
    scope = admin_scope(actor)
    if not scope:
        raise NotAuthorized("admin_required")
    report = DenominatorReport(file_name=(nfc(filename) or "")[:200], dry_run=dry_run)
    try:
        sheet = read(data, MAX_ROWS)
    except ImportRefused as exc:
        report.errors.append(Problem(1, "file", exc.code, dict(exc.params)))
        return report
    keys = {header_field(h, HEADERS) for h in sheet.header}
    missing = [c for c in ("year", "kind", "value") if c not in keys]
    if not keys & {"unit_code", "unit_name", "unit"}:
        missing.insert(0, "unit_code / unit_name")
    if missing:
        report.errors.append(Problem(1, "file", "denominators_missing_columns", {"columns": ", ".join(missing)}))
        return report
    parsed: list[tuple[int, DenominatorRow, str | None, str | None]] = []
    for line, cells in sheet.rows:
        values = _cells(sheet.header, cells)
        if values.get("value") is None and "value" in keys:
            report.skipped += 1
            continue
        try:
            row = parse(DenominatorRow, values)
        except InvalidInput as exc:
            report.errors.extend(Problem(line, name, code, params) for name, (code, params) in exc.fields.items())
            continue
        code = row.unit_code or row.unit
        name = row.unit_name or row.unit
        if not code and not name:
            report.errors.append(Problem(line, "unit", "required"))
            continue
        parsed.append((line, row, code, name))
    units = _Units(scope, {c for _l, _r, c, _n in parsed if c} | {c.zfill(5) for _l, _r, c, _n in parsed
                                                                  if c and c.isdigit()},
                   {fold(n).strip() for _l, _r, _c, n in parsed if n})
    seen: dict[tuple[int, int, str], int] = {}
    good: list[tuple[int, DenominatorRow, Unit]] = []
    for line, row, code, name in parsed:
        unit, problem = units.find(code, name)
        if problem:
            report.errors.append(Problem(line, "unit", problem, {"unit": code or name}))
            continue
        assert unit is not None
        if row.kind == "communes" and unit.level != "province":
            report.errors.append(Problem(line, "kind", "denominator_kind_level", {"unit": unit.name}))
            continue
        key = (unit.id, row.year, row.kind)
        if key in seen:
            report.errors.append(Problem(line, "unit", "denominator_duplicate_row", {"other": seen[key]}))
            continue
        seen[key] = line
        good.append((line, row, unit))
    if report.errors:
        return report
    existing = {(r.unit_id, r.year, r.kind): r for r in db.session.scalars(select(ReportDenominator).where(
        ReportDenominator.unit_id.in_({u.id for _l, _r, u in good}))) } if good else {}
    changes, new_rows = [], []
    for line, row, unit in good:
        current = existing.get((unit.id, row.year, row.kind))
        source = row.source or ""
        entry = {"line": line, "unit_id": unit.id, "unit_name": unit.name, "year": row.year, "kind": row.kind,
                 "value": row.value, "source": source, "unit": unit}
        if current is None:
            report.created += 1
            entry["action"] = "create"
            new_rows.append(entry)
            changes.append({"unit_id": unit.id, "year": row.year, "kind": row.kind, "before": None,
                            "after": row.value})
        elif current.value != row.value or current.source != source or current.is_demo:
            report.updated += 1
            entry.update(action="update", before=current.value)
            changes.append({"unit_id": unit.id, "year": row.year, "kind": row.kind, "before": current.value,
                            "after": row.value})
        else:
            report.unchanged += 1
            entry["action"] = "unchanged"
        report.rows.append(entry)
    if dry_run or not report.changed:
        return report
    now = clock.now()
    for entry in report.rows:
        current = existing.get((entry["unit_id"], entry["year"], entry["kind"]))
        if entry["action"] == "update" and current is not None:
            current.value, current.source, current.is_demo = entry["value"], entry["source"], False
            current.updated_by_id, current.updated_at = actor.id, now
    db.session.add_all([ReportDenominator(unit_id=e["unit_id"], year=e["year"], kind=e["kind"], value=e["value"],
                                          source=e["source"], is_demo=False, updated_by_id=actor.id, updated_at=now)
                        for e in new_rows])
    db.session.flush()
    provinces = sorted({int(e["unit"].path.strip("/").split("/")[0]) for e in report.rows})
    province = db.session.get(Unit, provinces[0]) if len(provinces) == 1 else None
    record(actor, "denominators.import", "report_denominators", None, before=None,
           after={"rows": len(report.rows), "created": report.created, "updated": report.updated,
                  "unchanged": report.unchanged},
           unit=province, file_name=report.file_name, rows=len(report.rows), changes=changes,
           provinces=provinces)
    return report


def template_xlsx(actor, year: int) -> bytes:
    """The import template: one row per commune of the admin's provinces (adults, the year, value empty), the
    province's own rows, and a sheet that explains each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    scope = admin_scope(actor)
    book = Workbook()
    sheet = book.active
    sheet.title = "Số liệu"
    sheet.append(list(TEMPLATE_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    provinces = list(db.session.scalars(select(Unit).where(
        Unit.level == "province", or_(*(Unit.path == p for p in scope)) if scope else Unit.id < 0)
        .order_by(Unit.name)))
    for province in provinces:
        for kind in ("adults", "communes"):
            sheet.append([province.code, province.name, year, kind, None, None])
        for commune in targets.active_communes(province, year):
            sheet.append([commune.code, commune.name, year, "adults", None, None])
    for row in sheet.iter_rows(min_row=2, max_col=1):
        for cell in row:
            cell.number_format = "@"
    for col, width in zip("ABCDEF", (14, 36, 8, 14, 14, 40), strict=True):
        sheet.column_dimensions[col].width = width
    notes = book.create_sheet("Hướng dẫn")
    for line in (
        ["Cột", "Ghi gì"],
        ["Mã đơn vị", "Mã của đơn vị (mã thống kê của xã, phường); có thể để trống nếu ghi Tên đơn vị."],
        ["Tên đơn vị", "Tên xã, phường hoặc tỉnh như trong hệ thống (có hoặc không có chữ «Xã», «Phường»)."],
        ["Năm", "Năm của số liệu (2000-2100)."],
        ["Loại số liệu", "adults: người từ 15 tuổi trở lên; communes: số xã, phường (chỉ ghi cho tỉnh); "
                         "unit_staff: cán bộ, công chức, viên chức, người lao động trong các đơn vị học tập."],
        ["Giá trị", "Số nguyên, không âm. Để trống: bỏ qua dòng."],
        ["Nguồn", "Nơi lấy số liệu (ví dụ: Chi cục Thống kê, niên giám 2025)."],
        ["", "Có dòng lỗi thì không lưu dòng nào; sửa rồi tải lên lại. Tải lên lại cùng tệp không thay đổi gì."],
    ):
        notes.append(line)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def seed_demo(communes: list[Unit], years: list[int], seed: int = 2026) -> int:
    """Demo figures for the demo's communes (adults aged 15 and over: about three quarters of the population when
    it is set, else a few thousand), flagged is_demo and sourced «Số liệu mẫu (demo)»; rows already there stay."""
    rng = random.Random(seed)
    have = {(r.unit_id, r.year, r.kind) for r in db.session.scalars(select(ReportDenominator).where(
        ReportDenominator.unit_id.in_([c.id for c in communes])))}
    added = 0
    for commune in communes:
        base = round(commune.population * 0.75) if commune.population else rng.randint(3000, 9000)
        for year in years:
            if (commune.id, year, "adults") in have:
                continue
            value = round(base * (1 + 0.01 * (year - max(years))))
            db.session.add(ReportDenominator(unit_id=commune.id, year=year, kind="adults", value=value,
                                             source=DEMO_SOURCE, is_demo=True))
            added += 1
    db.session.flush()
    return added

