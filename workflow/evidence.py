"""Evidence in bulk: several files to one application, removing and replacing a file while the file is with the
branch, a zip of folders by citizen ID for a campaign, and which stored files a person may still see.

The web layer judges each file's bytes (type sniffed from the content, size, name) and stores them under their
sha256; this module judges everything else (scope, role, state, criterion) and writes rows and audit events. A
request with several files keeps the good ones and reports each bad one by name (a branch officer who dropped ten
files and one photo in the wrong format expects nine kept and the tenth named, not to pick all ten again); every
kept file has its own audit event. A refusal of the request itself (not found, wrong role, file gone from the
branch, stale version) stores nothing. Removed and replaced files keep their row and their bytes for the trail:
only the dossier (Application.evidence, the evidence guard, downloads for anyone but an auditor) forgets them.
The caller commits."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from . import clock
from .authz import Actor
from .chains import chain_for
from .db import db
from .definitions import for_application, for_campaign
from .errors import MESSAGES, GuardRefused, NotFound
from .inputs import citizen_id_problem, text_problem
from .models import Application, AuditEvent, Campaign, Evidence, Unit
from .operations import (
    EVIDENCE_STATES,
    _actor,
    _audit,
    _check_version,
    _flush_versioned,
    _require_stage,
    _touch,
)
from .rubrics import spec
from .text import nfc

AUDITOR_ROLES = ("auditor",)  # may still open removed files (the trail); everyone else sees the dossier only
_SEPARATORS = " ._-()"


@dataclass(frozen=True)
class FileIn:
    """A file the web layer has judged and will store: `label` is what the report calls it (its name, or its
    path in an archive)."""
    label: str
    criterion_code: str
    original_name: str
    size: int
    sha256: str
    media_type: str


@dataclass
class FileOutcome:
    """One line of a per-file report: `status` is "attached" or a refusal code of workflow.errors."""
    label: str
    status: str
    criterion: str | None = None
    evidence_id: int | None = None
    application_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "attached"

    def message(self, locale: str = "vi") -> str:
        code = "evidence_attached" if self.ok else self.status
        en = locale.startswith("en")
        params = {k: (v[1] if en else v[0]) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return MESSAGES[code][1 if en else 0].format(**({"criterion": self.criterion} | params))

    def as_dict(self, locale: str = "vi") -> dict[str, Any]:
        return {"name": self.label, "criterion": self.criterion, "status": self.status,
                "evidence_id": self.evidence_id, "application_id": self.application_id,
                "message": self.message(locale)}


def refused(label: str, code: str, criterion: str | None = None, **params: Any) -> FileOutcome:
    return FileOutcome(label, code, criterion, params=params)


def criterion_of(name: str, codes: set[str] | list[str]) -> str | None:
    """The criterion an archive entry names: its folder ("1.1/giấy khen.pdf") or the start of its file name
    ("1.1.pdf", "1.1 giấy khen.jpg", "NL2-bằng.pdf"). The longest code that fits wins ("4.1b x.pdf" is 4.1b);
    a code must end at a separator, so "1.10.pdf" is never 1.1."""
    parts = [p for p in name.split("/") if p]
    candidates = parts[-2:] if len(parts) > 1 else parts
    ordered = sorted(codes, key=len, reverse=True)
    for part in candidates:
        for code in ordered:
            if _names(part, code):
                return code
    return None


def _names(part: str, code: str) -> bool:
    if part == code:
        return True
    if not part.startswith(code):
        return False
    rest = part[len(code):]
    return rest[0] in _SEPARATORS and not (rest[0] == "." and rest[1:2].isdigit())


def criteria_codes(app: Application) -> list[str]:
    return [c.code for c in spec(app.rubric_id).criteria_for(app.target_level)]


def _require_branch(app: Application, actor: Actor, action: str) -> None:
    """Evidence changes while the file is with the applicant side (evidence collection, branch scoring: also
    after a return), by the role that acts at the first stage. Outside one's scope the file does not exist."""
    if not actor.covers(app.unit.path):
        raise NotFound("not_found")
    if app.state not in EVIDENCE_STATES:
        raise GuardRefused("evidence_locked", state=app.state)
    _require_stage(app.unit, app.campaign.title_code, for_application(app).stages[0], actor, action)


def _audit_rows(rows: list[dict[str, Any]]) -> None:
    if rows:
        db.session.execute(insert(AuditEvent.__table__), rows)


def _audit_row(app_id: int, state: str, actor: Actor, action: str, payload: dict[str, Any], now) -> dict[str, Any]:
    return {"application_id": app_id, "actor_id": actor.id, "actor_name": actor.username, "action": action,
            "from_state": state, "to_state": state, "reason": None, "payload": payload, "created_at": now}


def _judge(app: Application, item: FileIn, codes: set[str]) -> FileOutcome | None:
    if item.criterion_code not in codes:
        return refused(item.label, "unknown_criterion", item.criterion_code or "—")
    if not item.original_name or text_problem(item.original_name):
        return refused(item.label, "invalid_name", item.criterion_code, field="original_name")
    return None


def add_several(app: Application, actor, items: list[FileIn | FileOutcome], *,
                version: int | None = None) -> list[FileOutcome]:
    """Several files to one application in one request, each to its criterion; `items` may already hold the web
    layer's refusals (bad bytes), kept in the report in their place. One version bump for the request, one audit
    event per kept file. Nothing is written when no file is good."""
    actor = _actor(actor)
    _check_version(app, version)
    _require_branch(app, actor, "evidence")
    if not items:
        raise GuardRefused("evidence_none")
    codes = set(criteria_codes(app))
    outcomes: list[FileOutcome] = []
    kept: list[tuple[FileOutcome, Evidence]] = []
    now = clock.now()
    for item in items:
        if isinstance(item, FileOutcome):
            outcomes.append(item)
            continue
        problem = _judge(app, item, codes)
        if problem is not None:
            outcomes.append(problem)
            continue
        row = Evidence(application=app, criterion_code=item.criterion_code, original_name=nfc(item.original_name),
                       size=item.size, sha256=item.sha256, media_type=item.media_type, uploaded_by_id=actor.id,
                       uploaded_at=now)
        db.session.add(row)
        outcome = FileOutcome(item.label, "attached", item.criterion_code, application_id=app.id)
        outcomes.append(outcome)
        kept.append((outcome, row))
    if not kept:
        return outcomes
    _touch(app)
    _flush_versioned(app)
    for outcome, row in kept:
        outcome.evidence_id = row.id
    _audit_rows([_audit_row(app.id, app.state, actor, "evidence", {
        "criterion": row.criterion_code, "name": row.original_name, "sha256": row.sha256, "evidence_id": row.id},
        now) for _o, row in kept])
    return outcomes


def _live_item(app: Application, evidence_id: int) -> Evidence:
    item = db.session.get(Evidence, evidence_id)
    if item is None or item.application_id != app.id or item.removed_at is not None:
        raise NotFound("evidence_not_found")
    return item


def remove(app: Application, actor, evidence_id: int, *, version: int | None = None) -> Evidence:
    """Take a file out of the dossier while it is with the branch; its row and bytes stay for the trail."""
    actor = _actor(actor)
    _check_version(app, version)
    _require_branch(app, actor, "evidence_remove")
    item = _live_item(app, evidence_id)
    item.removed_at, item.removed_by_id = clock.now(), actor.id
    _touch(app)
    _flush_versioned(app)
    db.session.expire(app, ["evidence"])
    _audit(app, actor, "evidence_remove", {"criterion": item.criterion_code, "name": item.original_name,
                                           "sha256": item.sha256, "evidence_id": item.id})
    return item


def replace(app: Application, actor, evidence_id: int, new: FileIn, *, version: int | None = None) -> Evidence:
    """Put another file in the place of one (same criterion): the branch's answer to an appraiser who returned
    the file. The old row names its successor; both names and hashes go into the audit event."""
    actor = _actor(actor)
    _check_version(app, version)
    _require_branch(app, actor, "evidence_replace")
    old = _live_item(app, evidence_id)
    new = FileIn(new.label, old.criterion_code, new.original_name, new.size, new.sha256, new.media_type)
    problem = _judge(app, new, set(criteria_codes(app)))
    if problem is not None:
        raise GuardRefused(problem.status, **({"criterion": problem.criterion} | problem.params))
    now = clock.now()
    row = Evidence(application=app, criterion_code=old.criterion_code, original_name=nfc(new.original_name),
                   size=new.size, sha256=new.sha256, media_type=new.media_type, uploaded_by_id=actor.id,
                   uploaded_at=now)
    db.session.add(row)
    db.session.flush()
    old.removed_at, old.removed_by_id, old.replaced_by_id = now, actor.id, row.id
    _touch(app)
    _flush_versioned(app)
    db.session.expire(app, ["evidence"])
    _audit(app, actor, "evidence_replace", {
        "criterion": old.criterion_code, "name": old.original_name, "sha256": old.sha256, "evidence_id": old.id,
        "new_name": row.original_name, "new_sha256": row.sha256, "new_evidence_id": row.id})
    return row


def visible_file(evidence_id: int, actor, application_id: int | None = None) -> Evidence:
    """A stored file the actor may open: within their units, and still in the dossier unless they audit (a
    removed file is not found for everyone else). The same rule for downloads and previews."""
    actor = _actor(actor)
    item = db.session.get(Evidence, evidence_id)
    if item is None or (application_id is not None and item.application_id != application_id):
        raise NotFound("evidence_not_found")
    app = db.session.get(Application, item.application_id)
    if app is None or not actor.covers(app.unit.path):
        raise NotFound("not_found")
    if item.removed_at is not None and not (actor.roles() & set(AUDITOR_ROLES)):
        raise NotFound("evidence_not_found")
    return item


# A zip of folders by citizen ID, for a campaign ------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignFile:
    """An archive entry "<CCCD>/<criterion code>...": the judged file, or the web layer's refusal of its bytes."""
    label: str
    citizen_id: str
    file: FileIn | None = None
    problem: FileOutcome | None = None


def split_campaign_path(path: str) -> tuple[str, str] | None:
    """ "001090000001/1.1.pdf" -> ("001090000001", "1.1.pdf"); an optional top folder (the zip's own name) is
    allowed: "đợt 2026/001090000001/1.1/giấy.pdf". None when no folder is a 12-digit citizen ID."""
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if citizen_id_problem(part) is None:
            return part, "/".join(parts[i + 1:])
    return None


def attach_to_campaign(campaign: Campaign, actor, files: list[CampaignFile]) -> list[FileOutcome]:
    """Attach each file to the live application of its citizen in `campaign`, within the actor's units; a report
    line per file. Set-wise: one query finds the applications, one insert writes the rows, one the audit events
    (one per file), one update bumps the versions. A citizen outside the actor's units is reported exactly as
    one with no application (existence never leaks)."""
    actor = _actor(actor)
    ids = {f.citizen_id for f in files}
    rows = db.session.execute(
        select(Application.id, Application.citizen_id, Application.state, Application.rubric_id,
               Application.target_level, Unit.path)
        .join(Unit, Unit.id == Application.unit_id)
        .where(Application.campaign_id == campaign.id, Application.citizen_id.in_(sorted(ids)))
        .order_by(Application.id)).all() if ids else []
    by_citizen: dict[str, Any] = {}
    for row in rows:  # the live file wins over withdrawn ones
        if not actor.covers(row.path):
            continue
        current = by_citizen.get(row.citizen_id)
        if current is None or current.state == "withdrawn":
            by_citizen[row.citizen_id] = row
    title = campaign.title_code
    first = for_campaign(campaign).stages[0]
    chain_stage = chain_for(title, campaign.province_id, clock.today()).stages.get(first)
    codes_of: dict[tuple[int, int], set[str]] = {}
    outcomes: list[FileOutcome] = []
    new_rows: list[tuple[FileOutcome, dict[str, Any]]] = []
    now = clock.now()
    for f in files:
        row = by_citizen.get(f.citizen_id)
        if row is None:
            outcomes.append(refused(f.label, "evidence_no_application", citizen_id=f.citizen_id))
            continue
        if row.state not in EVIDENCE_STATES:
            outcomes.append(refused(f.label, "evidence_not_with_branch", citizen_id=f.citizen_id))
            continue
        if chain_stage is None or not actor.acts_at(chain_stage, row.path):
            outcomes.append(refused(f.label, "evidence_not_allowed", citizen_id=f.citizen_id))
            continue
        if f.problem is not None:
            f.problem.application_id = row.id
            outcomes.append(f.problem)
            continue
        item = f.file
        assert item is not None
        key = (row.rubric_id, row.target_level)
        if key not in codes_of:
            codes_of[key] = {c.code for c in spec(row.rubric_id).criteria_for(row.target_level)}
        if item.criterion_code not in codes_of[key]:
            outcomes.append(refused(f.label, "unknown_criterion", item.criterion_code or "—"))
            continue
        if not item.original_name or text_problem(item.original_name):
            outcomes.append(refused(f.label, "invalid_name", item.criterion_code, field="original_name"))
            continue
        outcome = FileOutcome(f.label, "attached", item.criterion_code, application_id=row.id)
        outcomes.append(outcome)
        new_rows.append((outcome, {
            "application_id": row.id, "criterion_code": item.criterion_code,
            "original_name": nfc(item.original_name), "size": item.size, "sha256": item.sha256,
            "media_type": item.media_type, "uploaded_by_id": actor.id, "uploaded_at": now}))
    if not new_rows:
        return outcomes
    table = Evidence.__table__
    new_ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                 [r for _o, r in new_rows]).all()
    states = {r.id: r.state for r in by_citizen.values()}
    for (outcome, _r), new_id in zip(new_rows, new_ids, strict=True):
        outcome.evidence_id = new_id
    _audit_rows([_audit_row(r["application_id"], states[r["application_id"]], actor, "evidence", {
        "criterion": r["criterion_code"], "name": r["original_name"], "sha256": r["sha256"], "evidence_id": new_id,
        "via": "campaign_zip"}, now) for (_o, r), new_id in zip(new_rows, new_ids, strict=True)])
    touched = sorted({r["application_id"] for _o, r in new_rows})
    db.session.execute(update(Application.__table__).where(Application.__table__.c.id.in_(touched))
                       .values(version=Application.__table__.c.version + 1))
    for app_id in touched:  # any copy this session holds is stale now
        loaded = db.session.identity_map.get((Application, (app_id,), None))
        if loaded is not None:
            db.session.expire(loaded)
    return outcomes



def campaign_codes(campaign: Campaign) -> set[str]:
    """Every criterion code of the campaign's rubric (each application's own level is judged on attaching)."""
    return {c.code for c in spec(campaign.rubric_id).criteria}
