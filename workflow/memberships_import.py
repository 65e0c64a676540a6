"""Memberships from a spreadsheet (issue 14 §2): a branch's or a commune's XLSX or CSV of households, clans and
organisations with their members, read by the intake's reader (workflow/imports/reader.py). One row is one member:

  Loại (hộ gia đình | dòng họ | cơ quan) · Tên (the collective) · Nơi (its village or commune, by name) ·
  Số CCCD (a person's citizen ID) or Hộ thành viên (a member household, for a clan) · Họ tên · Từ ngày

A collective not yet registered is registered by its first row. All or nothing: every row is judged first (the
same declared inputs as the pages and the API, workflow/subjects.py); one bad row refuses the file with each
problem and its line, and nothing is stored. A dry run reports what would be done. Each registration and each
membership is its own audit event, as when typed on the page. The caller commits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from . import subjects
from .admin.inputs import InvalidInput, parse
from .admin.units import Problem
from .authz import Actor, actor_of
from .db import db
from .errors import MESSAGES, WorkflowError
from .imports.reader import ImportRefused, header_field, read
from .models import Collective, Unit
from .text import fold

MAX_ROWS = 20_000
HEADERS = {"loai": "kind", "kind": "kind", "ten": "name", "name": "name", "noi": "place", "thon/xa": "place",
           "place": "place", "so cccd": "citizen_id", "cccd": "citizen_id", "citizen_id": "citizen_id",
           "ho thanh vien": "household", "household": "household", "ho ten": "member_name",
           "member_name": "member_name", "tu ngay": "joined_on", "joined_on": "joined_on"}
KINDS = {"ho gia dinh": "household", "ho": "household", "household": "household", "dong ho": "clan",
         "clan": "clan", "co quan": "organisation", "don vi": "organisation", "truong hoc": "organisation",
         "doanh nghiep": "organisation", "organisation": "organisation"}
TEMPLATE_HEADERS = ("Loại", "Tên", "Nơi", "Số CCCD", "Hộ thành viên", "Họ tên", "Từ ngày")
MESSAGES.update({
    "members_missing_columns": ("Tệp thiếu cột: {columns}.", "The file lacks the columns: {columns}."),
    "members_kind": ("Loại phải là hộ gia đình, dòng họ hoặc cơ quan.",
                     "The kind must be household, clan or organisation."),
    "members_place": ("Không tìm thấy «{place}» trong các đơn vị của bạn (hoặc có nhiều nơi cùng tên).",
                      "«{place}» is not one of your units (or several share the name)."),
    "members_household": ("Không tìm thấy đúng một hộ «{name}» trong xã (không có, hoặc có nhiều hộ cùng tên).",
                          "Not exactly one household «{name}» in the commune (none, or several of that name)."),
    "members_group_many": ("Có nhiều «{name}» cùng tên ở nơi này: hãy ghi nhận thành viên trên trang của từng mục.",
                           "Several «{name}» of that name at this place: add the members on each one's page."),
})


@dataclass
class MembersReport:
    file_name: str
    dry_run: bool
    collectives: int = 0  # registered (or to register)
    members: int = 0  # added (or to add)
    errors: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, locale: str = "vi") -> dict[str, Any]:
        return {"file_name": self.file_name, "dry_run": self.dry_run, "collectives": self.collectives,
                "members": self.members, "errors": [p.as_dict(locale) for p in self.errors]}


def _cells(header: list[Any], cells: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, h in enumerate(header):
        key = header_field(h, HEADERS)
        if key and i < len(cells) and key not in out and str(cells[i] or "").strip():
            out[key] = cells[i]
    return out


def _places(actor: Actor) -> dict[str, list[Unit]]:
    """Villages and communes the actor's grants reach, by folded name (with or without "thôn", "xã" ...)."""
    paths = subjects.reach_paths(actor, subjects.RECORDERS)
    out: dict[str, list[Unit]] = {}
    if not paths:
        return out
    for u in db.session.scalars(select(Unit).where(Unit.level.in_(("commune", "village")),
                                                   or_(*[Unit.path.startswith(p) for p in paths]))):
        for key in {u.name_folded, u.name_folded.split(",")[0].strip()}:
            out.setdefault(key, []).append(u)
    return out


def import_members(actor, data: bytes, file_name: str = "", *, dry_run: bool = False) -> MembersReport:
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    report = MembersReport(file_name=file_name[:200], dry_run=dry_run)
    try:
        sheet = read(data, MAX_ROWS)
    except ImportRefused as exc:
        report.errors.append(Problem(1, "file", exc.code, dict(exc.params)))
        return report
    keys = {header_field(h, HEADERS) for h in sheet.header}
    missing = [c for c in ("kind", "name", "place") if c not in keys]
    if not keys & {"citizen_id", "household"}:
        missing.append("citizen_id / household")
    if missing:
        report.errors.append(Problem(1, "file", "members_missing_columns", {"columns": ", ".join(missing)}))
        return report
    places = _places(actor)
    rows: list[tuple[int, str, str, Unit, dict[str, Any]]] = []
    for line, cells in sheet.rows:
        values = _cells(sheet.header, cells)
        kind = KINDS.get(fold(str(values.get("kind") or "")).strip())
        found = places.get(fold(str(values.get("place") or "")).strip(), [])
        if kind is None:
            report.errors.append(Problem(line, "kind", "members_kind"))
            continue
        if len(found) != 1:
            report.errors.append(Problem(line, "place", "members_place", {"place": values.get("place") or ""}))
            continue
        rows.append((line, kind, str(values.get("name") or "").strip(), found[0], values))
    try:  # the other rows judged by the operations themselves (every problem at once), then kept or undone
        with db.session.begin_nested() as nested:
            _apply(actor, rows, report)
            if report.errors or dry_run:
                nested.rollback()
    except WorkflowError as exc:  # a refusal outside any one row (scope): the whole file
        report.errors.append(Problem(1, "file", exc.code, dict(exc.params)))
    report.errors.sort(key=lambda p: p.line)
    return report


def _apply(actor: Actor, rows, report: MembersReport) -> None:
    known: dict[tuple[str, str, int], Collective] = {}
    for line, kind, name, place, values in rows:
        key = (kind, fold(name), place.id)
        found = [known[key]] if key in known else list(db.session.scalars(select(Collective).where(
            Collective.kind == kind, Collective.name_folded == fold(name), Collective.unit_id == place.id).limit(2)))
        if len(found) > 1:
            report.errors.append(Problem(line, "name", "members_group_many", {"name": name}))
            continue
        group = found[0] if found else None
        try:
            if group is None:
                group = subjects.create_collective(actor, parse(subjects.CollectiveInput, {
                    "kind": kind, "name": name, "unit_id": place.id}))
                report.collectives += 1
            known[key] = group
            member: dict[str, Any] = {"collective_id": group.id}
            if values.get("household"):
                homes = list(db.session.scalars(select(Collective).join(Unit, Unit.id == Collective.unit_id).where(
                    Collective.kind == "household", Collective.name_folded == fold(str(values["household"])),
                    Unit.path.startswith(subjects.commune_path(group.unit))).limit(2)))
                home = homes[0] if len(homes) == 1 else None
                if home is None:
                    report.errors.append(Problem(line, "household", "members_household",
                                                 {"name": values["household"]}))
                    continue
                member["member_collective_id"] = home.id
            if values.get("citizen_id"):
                member["member_citizen_id"] = str(values["citizen_id"]).strip()
            if values.get("member_name"):
                member["member_name"] = str(values["member_name"])
            joined = values.get("joined_on")
            if joined:
                member["joined_on"] = joined if isinstance(joined, date) else str(joined).strip()
            with db.session.begin_nested():
                subjects.add_member(actor, parse(subjects.MembershipInput, member))
            report.members += 1
        except InvalidInput as exc:
            report.errors.extend(Problem(line, f, code, params) for f, (code, params) in exc.fields.items())
        except WorkflowError as exc:
            if exc.status == 404:
                raise
            report.errors.append(Problem(line, str(exc.params.get("field") or "row"), exc.code, dict(exc.params)))
