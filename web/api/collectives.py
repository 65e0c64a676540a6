"""API: households, clans and organisations with their members (issue 14 §2; workflow/subjects.py), and the title
definitions' versions with the dry run and the migration of files in flight (issue 14 §3;
workflow/admin/definitions.py). Reads are scoped like the pages; every change is audited."""
from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import or_, select

from workflow import subjects
from workflow.admin import definitions as dfn
from workflow.admin.inputs import parse
from workflow.db import db
from workflow.errors import NotFound
from workflow.inputs import parse_int
from workflow.models import Collective, Membership, TitleDefinition, Unit

from . import bp
from .auth import current_actor
from .errors import locale
from .openapi import declare
from .util import ID, commit, iso, json_body


def collective_dict(c: Collective) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "name": c.name, "unit": {"id": c.unit.id, "name": c.unit.name},
            "head_citizen_id": c.head_citizen_id, "org_type": c.org_type}


def membership_dict(m: Membership) -> dict[str, Any]:
    return {"id": m.id, "member_citizen_id": m.member_citizen_id, "member_collective_id": m.member_collective_id,
            "member_name": m.member_name, "joined_on": iso(m.joined_on), "left_on": iso(m.left_on)}


def _visible(actor, collective_id: int) -> Collective:
    row = db.session.get(Collective, collective_id)
    if row is None or not any(row.unit.path.startswith(p) for p in subjects.reach_paths(actor)):
        raise NotFound("not_found")
    return row


@bp.get("/collectives")
def list_collectives():
    """The collectives within the caller's reach, of one kind (`kind`), by name."""
    actor = current_actor()
    paths = subjects.reach_paths(actor)
    kind = request.args.get("kind")
    stmt = select(Collective).join(Unit, Unit.id == Collective.unit_id)
    stmt = stmt.where(or_(*[Unit.path.startswith(p) for p in paths])) if paths else stmt.where(False)
    if kind in subjects.COLLECTIVE_KINDS:
        stmt = stmt.where(Collective.kind == kind)
    return {"items": [collective_dict(c) for c in db.session.scalars(stmt.order_by(Collective.name_folded)
                                                                          .limit(1000))]}


@bp.post("/collectives")
@declare(json=subjects.CollectiveInput, operation_id="createCollective")
def create_collective():
    row = subjects.create_collective(current_actor(), parse(subjects.CollectiveInput, json_body()))
    commit()
    return collective_dict(row), 201


@bp.get(f"/collectives/<{ID}:collective_id>")
def get_collective(collective_id: int):
    row = _visible(current_actor(), collective_id)
    members = db.session.scalars(select(Membership).where(Membership.collective_id == row.id)
                                 .order_by(Membership.id))
    return collective_dict(row) | {"members": [membership_dict(m) for m in members]}


@bp.post(f"/collectives/<{ID}:collective_id>/members")
@declare(json=subjects.MembershipInput, operation_id="addMember")
def add_member(collective_id: int):
    actor = current_actor()
    _visible(actor, collective_id)
    row = subjects.add_member(actor, parse(subjects.MembershipInput, json_body() | {"collective_id": collective_id}))
    commit()
    return membership_dict(row), 201


@bp.post("/collectives/import")
def import_members():
    """Households, clans and organisations with their members from a spreadsheet (multipart `file`; `dry_run`
    true by default): all or nothing, each problem with its line."""
    from workflow import memberships_import

    upload = request.files.get("file")
    report = memberships_import.import_members(
        current_actor(), upload.read(5_000_001) if upload else b"", upload.filename if upload else "",
        dry_run=(request.form.get("dry_run") or "true").lower() not in ("0", "false", "no"))
    if report.ok and not report.dry_run:
        commit()
    else:
        db.session.rollback()
    return report.as_dict(locale()), 200 if report.ok else 422


# ---------------------------------------------------------------- definition versions (admins)

def version_dict(v: TitleDefinition) -> dict[str, Any]:
    return {"id": v.id, "title": v.title_code, "version": v.version, "stages": v.content.get("stages", []),
            "state_map": v.content.get("state_map", {}), "loaded_at": iso(v.loaded_at)}


@bp.get("/definitions")
def list_definitions():
    current_actor()
    return {"items": [version_dict(v) for v in db.session.scalars(
        select(TitleDefinition).order_by(TitleDefinition.title_code, TitleDefinition.id))]}


@bp.post("/definitions")
@declare(json=dfn.DefinitionIn, operation_id="loadDefinition")
def load_definition():
    row = dfn.load(current_actor(), json_body())
    commit()
    return version_dict(row), 201


ROWS = 1000  # files listed in a plan's answer (the groups count them all)


def _plan(definition_id: int, *, apply: bool) -> dict[str, Any]:
    actor = current_actor()
    target = db.session.get(TitleDefinition, definition_id)
    province_id = parse_int(request.args.get("province") or "", minimum=1)
    province = db.session.get(Unit, province_id) if province_id is not None else None
    if target is None or province is None or province.level != "province":
        raise NotFound("not_found")
    if apply:
        result = dfn.migrate(actor, province, target.title_code, target, expected=request.args.get("expected"))
        commit()
    else:
        result = dfn.plan(actor, province, target.title_code, target)
    lang = locale()
    return {"title": target.title_code, "version": target.version, "province_id": province.id, "applied": apply,
            "moved": result.moved, "counts": result.counts, "fingerprint": result.fingerprint,
            "unstaffed": result.unstaffed,
            "groups": [{"from_version": g.from_version, "from_state": g.from_state, "to_state": g.to_state,
                        "refusal": g.refusal, "files": g.files,
                        "refusal_message": dfn.refusal_text(g, lang) if g.refusal else None}
                       for g in result.groups],
            "rows": [{"application_id": r.application_id, "name": r.name, "from_version": r.from_version,
                      "from_state": r.from_state, "to_state": r.to_state, "refusal": r.refusal}
                     for r in result.rows(limit=ROWS)]}


@bp.get(f"/definitions/<{ID}:definition_id>/plan")
def plan_definition(definition_id: int):
    """The dry run of moving the province's files in flight to this version (nothing is written)."""
    return _plan(definition_id, apply=False)


@bp.post(f"/definitions/<{ID}:definition_id>/migrate")
def migrate_definition(definition_id: int):
    """Move the files the dry run would move, as it says; one audit event per file."""
    return _plan(definition_id, apply=True)
