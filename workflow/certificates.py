"""Certificates (giấy chứng nhận, issue 12 §2): one per file a decision recognises, issued set-wise with the
decision (workflow/decisions.py calls `issue` for each chunk it attaches), for the demo's decisions, and for files
decided before certificates existed (`flask --app wsgi certificates issue`).

- The serial is "<prefix>-<year>-<seq:06>" (BN-2026-000123), `seq` counted per province and year of the decision's
  signing. A chunk takes a block of numbers with one `UPDATE certificate_counters SET last = last + n ... RETURNING
  last`: on PostgreSQL the row lock holds a concurrent decision until this transaction ends, on SQLite the database's
  write lock does; so two decisions never share a number and the numbers of one province-year have no gaps.
- The public code is secrets.token_urlsafe(24): 32 characters, 192 random bits, unrelated to any id, the key of
  /verify/<code>.
- What a certificate says (`facts`) is read from the file, its decision and the title's data at the time it is
  shown, so a revocation (state 'revoked', its day the state change) or an expiry (workflow/validity.py) shows at
  once on the verify page."""
from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Select, exists, insert, select, update

from . import clock, validity
from .db import db
from .definitions import data_file
from .models import Application, Campaign, Certificate, CertificateCounter, Decision, Unit
from .rubrics import spec
from .text import fold

CODE_BYTES = 24  # 192 bits; token_urlsafe gives 32 characters
CODE_RE = re.compile(r"[A-Za-z0-9_-]{32}")
ISSUED_STATES = ("recognised", "revoked")  # a file revoked after its decision had its paper (the backfill's case)
NEVER = "!" * 32  # looked up in place of a malformed code: no code has "!", and the lookup costs the same

apps = Application.__table__
certs = Certificate.__table__


@cache
def settings() -> dict[str, Any]:
    """workflow/data/certificates.json: paper size, serial prefixes, printed words."""
    return data_file("certificates.json")


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def well_formed(code: str | None) -> bool:
    return bool(code) and CODE_RE.fullmatch(code) is not None


_KINDS = ("thanh pho ", "tinh ", "huyen ", "quan ", "thi xa ", "xa ", "phuong ", "dac khu ", "thi tran ")


def bare_name(name: str) -> str:
    """A unit's name without its kind ("Tỉnh Bắc Ninh" -> "Bắc Ninh")."""
    folded = fold(name).lower()
    for kind in _KINDS:
        if folded.startswith(kind):
            return name[len(kind):].strip()
    return name


def prefix(province: Unit) -> str:
    """The serial's letters: the data's prefix for the province's code, else the initials of its bare name."""
    given = (settings().get("prefixes") or {}).get(province.code)
    if given:
        return given
    words = fold(bare_name(province.name)).upper().split()
    return "".join(w[0] for w in words if w[:1].isalnum()) or "X"


def _allocate(province_id: int, year: int, n: int) -> int:
    """Reserve n consecutive numbers of (province, year): the first of them."""
    table = CertificateCounter.__table__
    bump = (update(table).where(table.c.province_id == province_id, table.c.year == year)
            .values(last=table.c.last + n).returning(table.c.last))
    last = db.session.execute(bump).scalar()
    if last is None:  # the year's first certificate: create the row (a concurrent twin may do so first)
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        db.session.execute(dialect_insert(table).values(province_id=province_id, year=year, last=0)
                           .on_conflict_do_nothing())
        last = db.session.execute(bump).scalar()
    return int(last) - n + 1


def issue(decision: Decision, ids: Sequence[int] | None = None) -> int:
    """Certificates for the decision's files that have none, recognised (or revoked since: the backfill gives the
    paper they had, the verify page then says revoked) (only `ids` when given: the chunk just
    attached), in the printed order (unit, folded name, id): one SELECT, one counter UPDATE, one INSERT.
    Returns how many were issued. The caller commits."""
    stmt = (select(apps.c.id).where(apps.c.decision_id == decision.id, apps.c.state.in_(ISSUED_STATES),
                                    ~exists(select(certs.c.id).where(certs.c.application_id == apps.c.id)))
            .order_by(apps.c.unit_id, apps.c.full_name_folded, apps.c.id))
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return 0
        stmt = stmt.where(apps.c.id.in_(wanted))
    found = list(db.session.scalars(stmt))
    if not found:
        return 0
    campaign = db.session.get(Campaign, decision.campaign_id)
    province = db.session.get(Unit, campaign.province_id)
    year = decision.signed_on.year
    first = _allocate(province.id, year, len(found))
    letters, now = prefix(province), clock.now()
    db.session.execute(insert(certs), [
        {"application_id": app_id, "decision_id": decision.id, "province_id": province.id, "year": year,
         "seq": first + i, "serial": f"{letters}-{year}-{first + i:06d}", "code": new_code(), "issued_at": now}
        for i, app_id in enumerate(found)])
    return len(found)


def backfill(decision_id: int | None = None) -> dict[int, int]:
    """Certificates for files decided before certificates existed: per decision (all, or one), how many issued."""
    stmt = select(Decision).order_by(Decision.signed_on, Decision.id)
    if decision_id is not None:
        stmt = stmt.where(Decision.id == decision_id)
    return {d.id: issue(d) for d in db.session.scalars(stmt).all()}


@dataclass(frozen=True, slots=True)
class Facts:
    """What a certificate says, and nothing more (the verify page shows exactly this; no CCCD, no birth date)."""

    serial: str
    code: str
    name: str
    title_code: str
    title_vi: str
    title_en: str
    level: int | None
    year: int
    issuer: str
    decision_number: str
    decision_date: date
    valid_until: date
    revoked_on: date | None
    unit_name: str  # where the person belongs (branch) or the commune itself: the batch's heading
    commune_name: str

    @property
    def status(self) -> str:
        if self.revoked_on is not None:
            return "revoked"
        return "expired" if clock.today() > self.valid_until else "valid"


def issuer_body(unit: Unit) -> str:
    """The issuing body's name from workflow/data/decision_papers.json ("Sở Giáo dục và Đào tạo tỉnh Bắc Ninh")."""
    issuers = data_file("decision_papers.json").get("issuers") or {}
    issuer = issuers.get(unit.level) or {}
    body = issuer.get("body")
    if not body:
        return unit.name
    kind = unit.kind or (fold(unit.name).split()[0] if unit.name else "")
    kind = {"xa": "xã", "phuong": "phường"}.get(kind.lower(), kind.lower())
    return body.format(unit=bare_name(unit.name), kind=kind, UNIT=bare_name(unit.name).upper(), KIND=kind.upper())


def _facts(rows: list[Any]) -> list[Facts]:
    units: dict[int, Unit] = {}

    def unit(uid: int) -> Unit:
        if uid not in units:
            units[uid] = db.session.get(Unit, uid)
        return units[uid]

    out = []
    for r in rows:
        title = validity.titles()[r.title_code]
        recognised_on = validity.vn_day(r.recognised_at) if r.recognised_at else r.signed_on
        own = unit(r.unit_id)
        commune = own if own.level == "commune" else (unit(own.parent_id) if own.parent_id else own)
        leveled = len(spec(r.rubric_id).levels) > 1  # XHT, DVHT: the level recognised
        out.append(Facts(
            serial=r.serial, code=r.code, name=r.full_name or own.name,
            title_code=r.title_code, title_vi=title.get("name_vi", r.title_code),
            title_en=title.get("name_en", r.title_code), level=r.target_level if leveled else None, year=r.year,
            issuer=issuer_body(unit(r.decision_unit_id)), decision_number=r.number, decision_date=r.signed_on,
            valid_until=validity.valid_until(r.title_code, recognised_on),
            revoked_on=(validity.vn_day(r.state_changed_at) if r.state == "revoked" else None),
            unit_name=own.name, commune_name=commune.name))
    return out


def _select():
    return (select(Certificate.serial, Certificate.code, Certificate.decision_id, Application.full_name,
                   Application.unit_id, Application.target_level, Application.state, Application.state_changed_at,
                   Application.recognised_at, Application.rubric_id, Campaign.title_code, Campaign.year,
                   Decision.number,
                   Decision.signed_on, Decision.unit_id.label("decision_unit_id"))
            .join(Application, Application.id == Certificate.application_id)
            .join(Campaign, Campaign.id == Application.campaign_id)
            .join(Decision, Decision.id == Certificate.decision_id))


def lookup(code: str | None) -> Facts | None:
    """The certificate of a public code; None for an unknown or malformed one (the same single lookup either
    way, so neither answers faster)."""
    key = code if well_formed(code) else NEVER
    rows = db.session.execute(_select().where(Certificate.code == key)).all()
    found = _facts(rows)
    return found[0] if found and well_formed(code) else None


def of_decision(decision: Decision, application_ids: Select | None = None,
                unit: Unit | None = None) -> list[Facts]:
    """The decision's certificates to print (a revoked file's is never printed again) in the printed order
    (commune, unit, folded name), optionally only those of `application_ids` (a select of the ids the actor may
    see) and under `unit`."""
    stmt = _select().where(Certificate.decision_id == decision.id, Application.state == "recognised")
    if application_ids is not None:
        stmt = stmt.where(Application.id.in_(application_ids))
    if unit is not None:
        stmt = stmt.join(Unit, Unit.id == Application.unit_id).where(Unit.path.startswith(unit.path,
                                                                                           autoescape=False))
    stmt = stmt.order_by(Application.unit_id, Application.full_name_folded, Application.id)
    facts = _facts(db.session.execute(stmt).all())
    return sorted(facts, key=lambda f: (fold(f.commune_name), fold(f.unit_name)))  # stable: names keep their order


def batches(decision: Decision, application_ids: Any = None) -> list[tuple[Unit, int]]:
    """The decision's print batches: (branch for CDHT / commune for XHT, how many certificates), by name."""
    stmt = (select(Application.unit_id, db.func.count()).join(Certificate, Certificate.application_id ==
                                                              Application.id)
            .where(Certificate.decision_id == decision.id, Application.state == "recognised")
            .group_by(Application.unit_id))
    if application_ids is not None:
        stmt = stmt.where(Application.id.in_(application_ids))
    rows = [(db.session.get(Unit, uid), n) for uid, n in db.session.execute(stmt)]
    return sorted(rows, key=lambda r: (r[0].path, r[0].name_folded))


def count(decision: Decision) -> int:
    """How many of the decision's certificates print (its files still recognised)."""
    return db.session.scalar(select(db.func.count()).select_from(Certificate)
                             .join(Application, Application.id == Certificate.application_id)
                             .where(Certificate.decision_id == decision.id, Application.state == "recognised")) or 0
