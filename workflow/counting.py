"""Titles that count each other (issue 14 §2): a criterion whose result is a share computed from other titles' live
recognitions, never ticked by hand. The rubric data names it on the criterion ("computed": {"counts": "GDHT",
"members": "households", "min_percent": 50}); this module counts it for one file's subject on one day.

Who is counted (the members of the subject on day D):
- a clan's member households, an organisation's members (people, by citizen ID): the memberships in force on D
  (joined on or before D, not left before D);
- a village's households: the households registered in that village; a commune's households or organisations:
  those registered in its villages or in it.
A member holds the counted title on D by the reports' rule of holding (workflow/reports/indicators.py): a file
of that title about the member, state 'recognised' (a revoked file never counts), recognised on or before D and
still in force on D (validity years of the title). The share is met when holders x 100 >= threshold x members,
in exact arithmetic (899 of 1,000 is below 90%; 900 is not); no members is never met. The guard judges the figure
as of the action's day; the appraiser sees the same figure, what it counts and its list (members_list)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, String, and_, cast, literal, or_, select
from sqlalchemy.sql import Select

from .db import db
from .errors import MESSAGES, GuardRefused
from .models import Application, Campaign, Collective, Membership, Unit
from .rubrics import Counted, RubricSpec

MESSAGES.update({
    "share_below": ("Tiêu chí {criterion}: {holders}/{members} {what} đạt danh hiệu ({percent}%), chưa đạt mức "
                    "{required}% (tính đến ngày {on}).",
                    "Criterion {criterion}: {holders} of {members} {what_en} hold the title ({percent}%), below the "
                    "required {required}% (as of {on})."),
})
MEMBER_WORDS = {"households": ("hộ gia đình", "households"), "persons": ("thành viên", "members"),
                "organisations": ("đơn vị", "organisations")}


@dataclass(frozen=True, slots=True)
class Figure:
    criterion: str
    counts: str  # the title counted
    members_kind: str  # households | persons | organisations
    holders: int
    members: int
    required: Decimal  # percent

    @property
    def met(self) -> bool:
        return self.members > 0 and Decimal(self.holders) * 100 >= self.required * self.members

    @property
    def percent(self) -> Decimal:
        """The share, one decimal, rounded down so a figure shown as 90.0 is never really 89.95."""
        if not self.members:
            return Decimal(0)
        return (Decimal(self.holders) * 1000 // self.members) / 10


def _member_keys(subject_key: str, members: str, on: date) -> Select:
    """SELECT of (subject key, display name) of the subject's members on `on`."""
    kind, _, raw = subject_key.partition(":")
    ident = int(raw) if raw.isdigit() else -1
    if kind == "collective":
        m = Membership
        period = and_(m.collective_id == ident, m.joined_on <= on, or_(m.left_on.is_(None), m.left_on >= on))
        if members == "persons":
            return select(m.member_citizen_id.label("key"), m.member_name.label("name")).where(
                period, m.member_citizen_id.is_not(None))
        return (select((literal("collective:") + cast(m.member_collective_id, String)).label("key"),
                       Collective.name.label("name"))
                .join(Collective, Collective.id == m.member_collective_id).where(period))
    unit = db.session.get(Unit, ident) if kind == "unit" else None
    if unit is None:
        return select(literal("").label("key"), literal("").label("name")).where(literal(False))
    want = {"households": "household", "organisations": "organisation"}.get(members, "")
    return (select((literal("collective:") + cast(Collective.id, String)).label("key"), Collective.name.label("name"))
            .join(Unit, Unit.id == Collective.unit_id)
            .where(Collective.kind == want, Unit.path.startswith(unit.path)))


def holders_clause(title: str, on: date, key: ColumnElement) -> ColumnElement[bool]:
    """`key` (a subject key) holds `title` on `on`: the reports' rule of holding, for one member."""
    from .reports.indicators import window

    since, until = window(title, on)
    return (select(Application.id).join(Campaign, Campaign.id == Application.campaign_id).where(
        Campaign.title_code == title, Application.subject_key == key, Application.state == "recognised",
        Application.recognised_at >= since, Application.recognised_at < until).exists())


def figure(rule: Counted, criterion: str, subject_key: str, on: date, *, education: bool = False) -> Figure:
    members = _member_keys(subject_key, rule.members, on).subquery()
    keys = select(members.c.key).distinct().subquery()
    total = db.session.scalar(select(db.func.count()).select_from(keys)) or 0
    holders = db.session.scalar(select(db.func.count()).select_from(keys).where(
        holders_clause(rule.counts, on, keys.c.key))) or 0
    required = rule.min_percent_education if education and rule.min_percent_education is not None \
        else rule.min_percent
    return Figure(criterion, rule.counts, rule.members, holders, total, Decimal(str(required)))


def figures(rubric: RubricSpec, level: int, subject_key: str, on: date, *,
            education: bool = False) -> dict[str, Figure]:
    """Every counted criterion of the rubric at this level, for the subject on `on`."""
    return {c.code: figure(c.computed, c.code, subject_key, on, education=education)
            for c in rubric.criteria_for(level) if c.computed is not None}


def judge(found: dict[str, Figure], on: date) -> None:
    """Refuse with the first counted criterion below its threshold (the figure as of the action's day)."""
    for code, f in found.items():
        if not f.met:
            raise GuardRefused("share_below", criterion=code, holders=f.holders, members=f.members,
                               what=MEMBER_WORDS[f.members_kind][0], what_en=MEMBER_WORDS[f.members_kind][1],
                               percent=f.percent, required=f.required, on=on.strftime("%d/%m/%Y"))


def members_list(subject_key: str, members: str, title: str, on: date) -> list[tuple[str, str, bool]]:
    """The list behind a figure: (subject key, name, holds the title on `on`) for each member, by name."""
    m = _member_keys(subject_key, members, on).subquery()
    rows = db.session.execute(select(m.c.key, m.c.name, holders_clause(title, on, m.c.key)).distinct()
                              .order_by(m.c.name, m.c.key)).all()
    return [(k, n or k, bool(h)) for k, n, h in rows]


def is_education(subject_key: str) -> bool:
    kind, _, raw = subject_key.partition(":")
    if kind != "collective" or not raw.isdigit():
        return False
    return db.session.scalar(select(Collective.org_type).where(Collective.id == int(raw))) == "education"


def for_application(app, on: date | None = None) -> dict[str, Figure]:
    """The counted criteria of a file (models.Application) as of `on` (today): what its appraiser sees and what
    the guard would judge now."""
    from . import clock
    from .rubrics import spec

    rubric = spec(app.rubric_id)
    if not rubric.computed:
        return {}
    return figures(rubric, app.target_level, app.subject_key, on or clock.today(),
                   education=is_education(app.subject_key))
