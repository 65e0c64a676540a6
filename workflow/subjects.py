"""Who a file is about (issue 14): a person (CDHT, by citizen ID), a commune (XHT, the file's own unit), a village
(CDHT_THON, a thôn or tổ dân phố of the file's commune), or a collective: a household (GDHT), a clan branch (DHHT),
an organisation (DVHT). Each title names its kind in workflow/data/titles.json; the subject key the live-file index
sees follows from it: the CCCD, "unit:<id>" or "collective:<id>".

Collectives and their memberships are recorded here, by an officer whose grants cover the collective's unit, each
change one audit event in the trail (workflow.admin.record). The caller commits."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import select

from . import clock
from .admin.campaigns import Day
from .admin.inputs import Input, Name
from .authz import Actor, actor_of
from .db import db
from .declared import CitizenId, Id
from .errors import MESSAGES, GuardRefused, NotAuthorized, NotFound
from .inputs import canonical_citizen_id, clean_name
from .models import Collective, Membership, Unit
from .text import fold
from .validity import titles
from .vocabulary import COLLECTIVE_KINDS

MESSAGES.update({
    "duplicate_collective": ("{name} đã có hồ sơ trong đợt đánh giá này.",
                             "{name} already has a file in this campaign."),
    "subject_required": ("Hãy chọn {what} được đề nghị.", "Choose the {what_en} nominated."),
    "wrong_subject": ("Không có {what} này trong xã của đơn vị.", "No such {what_en} in the unit's commune."),
    "membership_exists": ("Thành viên này đã thuộc {name} trong thời gian đó.",
                          "This member already belongs to {name} for that period."),
    "membership_kind": ("{what} không nhận thành viên kiểu này.", "A {what_en} does not take members of this kind."),
})

# What each kind is called on a page and in a refusal (Vietnamese, English).
KIND_WORDS = {
    "person": ("công dân", "citizen"), "commune": ("xã", "commune"), "village": ("thôn, tổ dân phố", "village"),
    "household": ("hộ gia đình", "household"), "clan": ("dòng họ", "clan"),
    "organisation": ("cơ quan, đơn vị", "organisation"),
}
# Who may belong to a collective of each kind: people, or households (a clan's member families).
MEMBER_KINDS = {"household": "person", "organisation": "person", "clan": "household"}
RECORDERS = ("branch_officer", "commune_appraiser", "admin")  # who records collectives and memberships


def kind_of(title_code: str) -> str:
    return titles()[title_code]["subject_kind"]


def key_of(kind: str, *, citizen_id: str | None = None, unit: Unit | None = None,
           collective: Collective | None = None, subject_unit: Unit | None = None) -> str:
    """The subject key: the live-file index's "same subject" (one live file per subject and campaign)."""
    if kind == "person":
        return canonical_citizen_id(citizen_id)
    if kind == "commune":
        return f"unit:{unit.id}"
    if kind == "village":
        return f"unit:{subject_unit.id}"
    return f"collective:{collective.id}"


def commune_path(unit: Unit) -> str:
    """The path of the commune a unit belongs to (a branch's or a village's parent; a commune's own)."""
    if unit.level in ("branch", "village"):
        return unit.path.rsplit("/", 2)[0] + "/"
    return unit.path


def words(kind: str) -> dict[str, str]:
    """A kind's name for a refusal, in both languages (the message picks its own)."""
    vi, en = KIND_WORDS[kind]
    return {"what": vi, "what_en": en}


def check_subject(kind: str, unit: Unit, *, collective: Collective | None, subject_unit: Unit | None) -> None:
    """The subject of a nomination at `unit` is of the title's kind and in the unit's commune: a village of it, a
    household of one of its villages, a clan or organisation of it. Anything else is refused exactly like an
    unknown one (never its name: it may lie outside the officer's units); a subject the kind does not take is a
    field error."""
    if kind not in COLLECTIVE_KINDS and collective is not None:
        raise GuardRefused("invalid_field", field="collective", detail=str(collective.id))
    if kind != "village" and subject_unit is not None:
        raise GuardRefused("invalid_field", field="subject_unit", detail=str(subject_unit.id))
    if kind == "village":
        if subject_unit is None:
            raise GuardRefused("subject_required", **words(kind))
        if subject_unit.level != "village" or not subject_unit.path.startswith(commune_path(unit)):
            raise GuardRefused("wrong_subject", **words(kind))
    elif kind in COLLECTIVE_KINDS:
        if collective is None:
            raise GuardRefused("subject_required", **words(kind))
        if collective.kind != kind or not collective.unit.path.startswith(commune_path(unit)):
            raise GuardRefused("wrong_subject", **words(kind))


# ---- collectives and memberships ------------------------------------------------------------------------------

class CollectiveInput(Input):
    """A household, clan or organisation: one declaration for the form, the API and the import."""

    kind: Literal["household", "clan", "organisation"]
    name: Annotated[Name, Field(max_length=200)]
    unit_id: Id
    head_citizen_id: CitizenId | None = None
    org_type: Literal["agency", "education", "enterprise"] | None = None


class MembershipInput(Input):
    """A member from a day (until a day): a person by citizen ID, or a household (a clan's member family)."""

    collective_id: Id
    member_citizen_id: CitizenId | None = None
    member_name: Annotated[Name, Field(max_length=200)] | None = None
    member_collective_id: Id | None = None
    joined_on: Day = Field(default_factory=clock.today)
    left_on: Day | None = None


def reach_paths(actor, roles: tuple[str, ...] | None = None) -> list[str]:
    """The unit paths the actor's grants (of `roles`) reach for collectives: a grant's subtree, and for a branch
    its whole commune (the branch nominates the households of the commune's villages, as it nominates residents)."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    return sorted({g.unit_path.rsplit("/", 2)[0] + "/" if g.unit_level == "branch" else g.unit_path
                   for g in actor.grants if roles is None or g.role in roles})


def _reaches(actor: Actor, path: str, roles: tuple[str, ...] | None = None) -> bool:
    return any(path.startswith(p) for p in reach_paths(actor, roles))


def _recorder(actor, unit: Unit) -> Actor:
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    if not _reaches(actor, unit.path):
        raise NotFound("unit_not_found")
    if not _reaches(actor, unit.path, RECORDERS):
        raise NotAuthorized("outside_scope")
    return actor


def _record(actor: Actor, action: str, subject: str, subject_id: int, unit: Unit, after: dict[str, Any],
            before: dict[str, Any] | None = None) -> None:
    from .admin import record

    record(actor, action, subject, subject_id, before=before, after=after, unit=unit)


def create_collective(actor, data: CollectiveInput) -> Collective:
    """A household lives in a village; a clan or an organisation belongs to a commune (or a village of it)."""
    unit = db.session.get(Unit, data.unit_id)
    if unit is None:
        raise NotFound("unit_not_found")
    actor = _recorder(actor, unit)
    allowed = ("village",) if data.kind == "household" else ("commune", "village")
    if unit.level not in allowed:
        raise GuardRefused("wrong_unit_level", unit=unit.name, level=allowed[0])
    if data.org_type is not None and data.kind != "organisation":
        raise GuardRefused("invalid_field", field="org_type", detail=data.org_type)
    name = clean_name(data.name, "name")
    head = canonical_citizen_id(data.head_citizen_id) if data.head_citizen_id else None
    row = Collective(kind=data.kind, name=name, name_folded=fold(name), unit=unit, head_citizen_id=head,
                     org_type=data.org_type, created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    _record(actor, "collective.create", "collective", row.id, unit,
            {"kind": row.kind, "name": row.name, "unit_id": unit.id, "org_type": row.org_type})
    return row


def add_member(actor, data: MembershipInput) -> Membership:
    """A person into a household or an organisation, a household into a clan, from a day (and until one)."""
    group = db.session.get(Collective, data.collective_id)
    if group is None:
        raise NotFound("not_found")
    actor = _recorder(actor, group.unit)
    wants = MEMBER_KINDS[group.kind]
    if data.left_on is not None and data.left_on < data.joined_on:
        raise GuardRefused("invalid_field", field="left_on", detail=data.left_on.isoformat())
    citizen, member = None, None
    if wants == "person":
        if data.member_collective_id is not None or not data.member_citizen_id:
            raise GuardRefused("membership_kind", **words(group.kind))
        citizen = canonical_citizen_id(data.member_citizen_id)
    else:
        member = db.session.get(Collective, data.member_collective_id) if data.member_collective_id else None
        if member is None or data.member_citizen_id or member.kind != "household" \
                or not member.unit.path.startswith(commune_path(group.unit)):
            raise GuardRefused("membership_kind", **words(group.kind))
    _refuse_overlap(group, citizen, member.id if member else None, data.joined_on, data.left_on)
    row = Membership(collective_id=group.id, member_citizen_id=citizen, member_collective_id=member.id if member
                     else None, member_name=clean_name(data.member_name, "member_name") if data.member_name
                     else (member.name if member else None), joined_on=data.joined_on, left_on=data.left_on,
                     created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    _record(actor, "membership.add", "collective", group.id, group.unit,
            {"membership_id": row.id, "member_citizen_id": citizen, "member_collective_id": row.member_collective_id,
             "joined_on": data.joined_on.isoformat(),
             "left_on": data.left_on.isoformat() if data.left_on else None})
    return row


def _refuse_overlap(group: Collective, citizen: str | None, member_id: int | None, joined_on: date,
                    left_on: date | None, *, besides: int | None = None) -> None:
    """One member belongs to a collective once for any day: periods of the same member never overlap."""
    same = Membership.member_citizen_id == citizen if citizen else Membership.member_collective_id == member_id
    overlapping = db.session.scalar(select(Membership.id).where(
        Membership.collective_id == group.id, same, Membership.id != (besides or -1),
        (Membership.left_on.is_(None)) | (Membership.left_on >= joined_on),
        True if left_on is None else Membership.joined_on <= left_on).limit(1))
    if overlapping is not None:
        raise GuardRefused("membership_exists", name=group.name)


def end_member(actor, membership_id: int, left_on: date) -> Membership:
    """A member leaves on `left_on` (the row stays: the shares of earlier days still count it)."""
    row = db.session.get(Membership, membership_id)
    group = db.session.get(Collective, row.collective_id) if row is not None else None
    if group is None:
        raise NotFound("not_found")
    actor = _recorder(actor, group.unit)
    if left_on < row.joined_on:
        raise GuardRefused("invalid_field", field="left_on", detail=left_on.isoformat())
    _refuse_overlap(group, row.member_citizen_id, row.member_collective_id, row.joined_on, left_on, besides=row.id)
    before = {"left_on": row.left_on.isoformat() if row.left_on else None}
    row.left_on = left_on
    db.session.flush()
    _record(actor, "membership.end", "collective", group.id, group.unit, {"left_on": left_on.isoformat()},
            before=before | {"membership_id": row.id})
    return row


def collectives_of(kind: str, unit: Unit) -> list[Collective]:
    """The collectives of a kind in the unit's commune: those a nomination at `unit` may name."""
    return list(db.session.scalars(select(Collective).join(Unit, Unit.id == Collective.unit_id).where(
        Collective.kind == kind, Unit.path.startswith(commune_path(unit))).order_by(Collective.name_folded)))


def villages_of(unit: Unit) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.level == "village",
                                                      Unit.path.startswith(commune_path(unit)))
                                   .order_by(Unit.name_folded)))
