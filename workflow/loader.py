"""Loading reference data (title types, rubric versions, approval chains) and unit trees into the database.

Loading is idempotent. A rubric version, once loaded, is never rewritten (invariant 6): a file whose content
differs from the stored version under the same version string is refused; publish a new version instead."""
from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from . import chains, definitions, rubrics
from .db import db
from .definitions import DATA_DIR, data_file
from .models import ApprovalChain, Rubric, TitleDefinition, TitleType, Unit
from .text import fold, nfc


class DataError(Exception):
    pass


def load_titles() -> None:
    for t in data_file("titles.json")["titles"]:
        row = db.session.get(TitleType, t["code"]) or TitleType(code=t["code"])
        row.name_vi, row.name_en, row.subject_kind = t["name_vi"], t["name_en"], t["subject_kind"]
        db.session.add(row)
    db.session.flush()
    for t in data_file("titles.json")["titles"]:
        load_definition(t)


def load_definition(content: dict[str, Any]) -> TitleDefinition:
    """One definition version of a title (its titles.json entry, or an admin's new version): immutable like a
    rubric version, so the same version with other content is refused."""
    definitions.build(content)  # refuse unknown stages before touching the database
    digest = rubrics.content_hash(content)  # the same canonical hash as a rubric version's
    row = db.session.scalar(select(TitleDefinition).filter_by(title_code=content["code"],
                                                              version=str(content["version"])))
    if row is not None:
        if row.sha256 != digest:
            raise DataError(f"definition {content['code']} {content['version']} already loaded with other "
                            "content; give the corrected definition a new version")
        return row
    row = TitleDefinition(title_code=content["code"], version=str(content["version"]), content=content,
                          sha256=digest)
    db.session.add(row)
    db.session.flush()
    return row


def load_rubric(definition: dict[str, Any]) -> Rubric:
    rubrics.parse(definition)  # refuse a malformed file before touching the database
    digest = rubrics.content_hash(definition)
    row = db.session.scalar(select(Rubric).filter_by(title_code=definition["title"], version=definition["version"]))
    if row is not None:
        if row.sha256 != digest:
            raise DataError(f"rubric {definition['title']} {definition['version']} already loaded with other "
                            "content; give the corrected file a new version")
        return row
    row = Rubric(title_code=definition["title"], version=definition["version"], kind=definition["kind"],
                 definition=definition, sha256=digest)
    db.session.add(row)
    db.session.flush()
    return row


def load_chains(definition: dict[str, Any]) -> None:
    for c in definition["chains"]:
        province_id = None
        if c.get("province"):
            province = db.session.scalar(select(Unit).filter_by(code=c["province"], level="province"))
            if province is None:
                raise DataError(f"chain {c['code']}: province {c['province']} not found")
            province_id = province.id
        row = db.session.scalar(select(ApprovalChain).filter_by(code=c["code"])) or ApprovalChain(code=c["code"])
        row.title_code, row.province_id, row.stages, row.source = c["title"], province_id, c["stages"], c["source"]
        row.valid_from = date.fromisoformat(c["valid_from"])
        row.valid_to = date.fromisoformat(c["valid_to"]) if c.get("valid_to") else None
        db.session.add(row)
    db.session.flush()
    chains.clear_cache()


def load_reference_data() -> dict[str, Rubric]:
    """Titles, every rubric file shipped in workflow/data, the default chains and the plans' targets
    (workflow/data/targets.json). Returns rubrics by title."""
    load_titles()
    loaded = {}
    default = {t["code"]: t.get("rubric") for t in data_file("titles.json")["titles"]}
    files = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(DATA_DIR.glob("rubric_*.json"))]
    # each title's default version last: a new campaign takes the latest loaded (workflow/admin/campaigns.py)
    for content in sorted(files, key=lambda f: f["version"] == default.get(f["title"])):
        r = load_rubric(content)
        if r.title_code not in loaded or r.version == default.get(r.title_code):
            loaded[r.title_code] = r
    load_chains(data_file("chains.json"))
    from .reports.targets import load_plans  # the plans' targets (issue 11); a province's once it is loaded

    load_plans()
    return loaded


def add_unit(code: str, name: str, level: str, parent: Unit | None = None, *, population: int | None = None,
             area_class: str | None = None, kind: str | None = None, valid_from: date | None = None) -> Unit:
    """A unit under `parent`; it inherits the parent's area class unless told otherwise (a branch of a
    disadvantaged commune is judged by the lower pass mark)."""
    area_class = area_class or (parent.area_class if parent else "ordinary")
    unit = Unit(code=code, name=nfc(name), name_folded=fold(name), level=level, parent=parent,
                population=population, area_class=area_class, kind=kind, valid_from=valid_from)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def set_area_class(unit: Unit, area_class: str) -> int:
    """Reclassify a unit and its whole subtree (the pass rule reads the class of the application's own unit)."""
    result = db.session.execute(update(Unit).where(Unit.path.startswith(unit.path)).values(area_class=area_class)
                                .execution_options(synchronize_session="fetch"))
    return result.rowcount


# The 2025 commune lists (Nghị quyết 1658, 1683/NQ-UBTVQH15 ...) take effect on 1/7/2025.
VALID_FROM_2025 = date(2025, 7, 1)
FORMER_KINDS = ("thị trấn", "phường", "xã", "đặc khu")  # how a former unit of `former_units` starts
PARTIAL_QUALIFIERS = ("một phần", "phần còn lại")


def commune_code(province: Unit, kind: str, name: str) -> str:
    """A stable code for a commune the official list gives no code: the province's code and a short hash of the
    kind and name (NFC, lower case, spaces collapsed), so a second import of the same list finds the same unit.
    Diacritics are kept: Thái Nguyên has both "xã Văn Lăng" and "xã Văn Lang"."""
    import hashlib

    digest = hashlib.sha256((nfc(f"{kind} {name}") or "").lower().encode()).hexdigest()[:10]
    return f"{province.code[:20]}-{digest}"


def commune_name(kind: str, name: str) -> str:
    """The stored name of a commune: its kind capitalised, then its name ("Phường Bắc Giang")."""
    return nfc(f"{kind.capitalize()} {name}") or ""


def parse_former_units(text: str | None) -> list[dict[str, Any]]:
    """`former_units` of an official list ("xã A; phường B (một phần); xã C (huyện Yên Thế)") as rows of
    unit_predecessors: kind, name, the parenthetical qualifier and whether only part of the unit came over."""
    import re

    out: list[dict[str, Any]] = []
    for position, part in enumerate(p for p in (nfc(x) for x in (text or "").split(";")) if p):
        qualifier = None
        match = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", part)
        if match:
            part, qualifier = match.group(1).strip(), match.group(2).strip() or None
        kind = next((k for k in FORMER_KINDS if fold(part).startswith(fold(k) + " ")), None)
        name = part[len(kind):].strip() if kind else part
        out.append({"position": position, "former_kind": kind, "former_name": name, "qualifier": qualifier,
                    "partial": qualifier in PARTIAL_QUALIFIERS})
    return out


def load_communes_csv(path: Path, province: Unit, limit: int | None = None) -> list[Unit]:
    """Communes of a two-tier province from shared/data (gso_code when published, else the stable code of
    `commune_code`), with their kind, validity and former units, as workflow.admin.units imports them."""
    from sqlalchemy import insert

    from .models import UnitPredecessor

    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for i, rec in enumerate(csv.DictReader(fh)):
            if limit is not None and i >= limit:
                break
            kind, name = nfc(rec["type"]).lower(), nfc(rec["name"])
            code = (rec.get("gso_code") or "").strip() or commune_code(province, kind, name)
            population = int(rec["population"]) if rec.get("population") else None
            unit = add_unit(code, commune_name(kind, name), "commune", province, population=population, kind=kind,
                            valid_from=VALID_FROM_2025)
            former = parse_former_units(rec.get("former_units"))
            if former:
                db.session.execute(insert(UnitPredecessor.__table__), [dict(f, successor_id=unit.id) for f in former])
            out.append(unit)
    return out
