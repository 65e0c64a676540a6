"""Who holds a title on a date, and the indicators counted from it: coverage (cdht_coverage), the Xã học tập share
(xht_share) and digital skills (digital_skills) (issue 11, section 2).

The one rule of holding (`holds_clause`), used by every figure and by the list behind it: a file holds its title
on day D when
- its state is 'recognised' (a revoked file has state 'revoked' and never counts);
- it was recognised on or before D (the Vietnam calendar day of recognised_at) and D is before the same date
  `validity` years later (workflow/data/titles.json "validity": CDHT 1 year [?], XHT 3 years [C]): a file
  recognised on 10/12/2024 holds XHT through 09/12/2027;
- no later recognition of the same subject in a campaign of the same title and province also holds on D (a
  person or a commune is counted once, at its latest recognition; ties by id). The subject is the person's
  subject_key (the CCCD) for a title about people; for a title about communes (XHT) it is the commune the file
  sits at now, so that the files of old communes re-homed onto one new commune (workflow/admin/mergers.py)
  count that commune once, not once per former commune.
Files count at their current unit (applications.unit_id): re-homed files under their new unit.

How a figure is counted: one grouped query (count per applications.unit_id, within the unit's subtree and the
actor's units) read from the partial index ix_applications_holders (campaign_id, unit_id, recognised_at,
subject_key, id) WHERE state = 'recognised' (migration 0017), index-only; the counts are rolled up to the unit and
its children by Unit.path in Python. Only campaigns whose year can still hold on D are read (year >= D.year -
validity - 1: a campaign's decisions may fall in the next year), and the "no later recognition" test is written
only for provinces with more than one such campaign (a CCCD has at most one live file per campaign)."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, event, false, func, literal, literal_column, or_, select, text
from sqlalchemy.orm import Session, aliased

from .. import clock
from ..admin.inputs import InvalidInput
from ..authz import Actor, actor_of, visible_units_clause
from ..db import db
from ..errors import NotFound
from ..models import Application, Campaign, ReportDenominator, ReportTarget, Score, TZDateTime, Unit
from ..validity import in_force_since, titles, validity_years
from . import Figure, indicator_defs, percent, register_list, targets

FEW_UNITS = 200  # a subtree of at most this many units is named unit by unit in the count (a commune: ~11)
RECOGNISED = literal_column("'recognised'")  # a literal, so the planner matches the partial index's predicate
TITLE_OF = {"cdht_coverage": "CDHT", "xht_share": "XHT", "digital_skills": "CDHT"}


# ---------------------------------------------------------------- the rule of holding

def as_of(year: int) -> date:
    """The day a year's figures are counted on: 31/12 of the year, or today while the year runs."""
    return min(clock.today(), date(year, 12, 31))


def _day_start(day: date) -> datetime:
    """The first instant of a Vietnam calendar day, in UTC (how recognised_at is stored)."""
    return datetime.combine(day, time(), clock.VN).astimezone(UTC)


def window(title_code: str, on: date) -> tuple[datetime, datetime]:
    """[since, until) on recognised_at: recognised on a Vietnam day r with on - validity years < r <= on."""
    return _day_start(in_force_since(title_code, on)), _day_start(on + timedelta(days=1))


def campaigns_in_window(title_code: str, on: date) -> dict[int, list[int]]:
    """{province id: [campaign ids]} of the title whose files could still hold on `on`."""
    first = on.year - validity_years(title_code) - 1
    rows = db.session.execute(select(Campaign.province_id, Campaign.id)
                              .where(Campaign.title_code == title_code, Campaign.year >= first)
                              .order_by(Campaign.province_id, Campaign.id)).all()
    out: dict[int, list[int]] = defaultdict(list)
    for province_id, campaign_id in rows:
        out[province_id].append(campaign_id)
    return dict(out)


def holds_clause(title_code: str, on: date, *, probe: bool = False) -> ColumnElement[bool]:
    """WHERE clause over Application: the file holds its title on `on` (the one rule of holding: module doc).

    `probe` changes the plan, never the rows: the "no later recognition" test is then run file by file through
    ix_applications_holder_subject (OFFSET 0 keeps PostgreSQL from turning it into an anti-join, which would hash
    every holder of the province to count a commune's few thousand). Without it a province's count hashes the
    province's holders once (a parallel hash anti-join), which is cheaper than a million probes."""
    since, until = window(title_code, on)
    by_province = campaigns_in_window(title_code, on)
    if not by_province:
        return false()
    per_commune = titles()[title_code].get("subject_kind") == "commune"

    # The window and the campaigns are written into the SQL as literals, never as parameters: a prepared statement
    # with them as parameters gets PostgreSQL's generic plan after five runs on a connection, which cannot know
    # that one year's window holds a province's million files and another's none (measured: the 2026 count went
    # from 0.17 s to 1.3 s once the generic plan took over). The values are dates and ids computed here.
    lo, hi = literal(since, TZDateTime, literal_execute=True), literal(until, TZDateTime, literal_execute=True)

    def in_force(a) -> ColumnElement[bool]:
        return and_(a.state == RECOGNISED, a.recognised_at >= lo, a.recognised_at < hi)

    def among(a, ids: list[int]) -> ColumnElement[bool]:
        return a.campaign_id.in_([literal_column(str(int(i))) for i in ids])

    alone = [c for ids in by_province.values() if len(ids) == 1 and not per_commune for c in ids]
    parts = [among(Application, alone)] if alone else []
    for ids in by_province.values():
        if len(ids) == 1 and not per_commune:
            continue
        later = aliased(Application)
        same = later.unit_id == Application.unit_id if per_commune else later.subject_key == Application.subject_key
        superseded = select(later.id).where(
            same, among(later, ids), in_force(later),
            or_(later.recognised_at > Application.recognised_at,
                and_(later.recognised_at == Application.recognised_at, later.id > Application.id)))
        superseded = (superseded.offset(0) if probe else superseded).exists()
        parts.append(and_(among(Application, ids), ~superseded))
    return and_(in_force(Application), or_(*parts))


def _digital(defn: Mapping[str, Any], score=Score) -> ColumnElement[bool]:
    """The score that counts as digital skills: the indicator's criterion at or above its threshold (data)."""
    return and_(score.criterion_code == str(defn["criterion"]), score.value >= int(defn["threshold"]))


def digital_clause(on: date, *, probe: bool = False) -> ColumnElement[bool]:
    """Holders of CDHT on `on` whose score on the ICT criterion reaches the threshold (indicators.json)."""
    defn = indicator_defs()["digital_skills"]
    has_score = select(Score.id).where(Score.application_id == Application.id, _digital(defn)).exists()
    return and_(holds_clause(defn.get("title") or "CDHT", on, probe=probe), has_score)


# ---------------------------------------------------------------- the lists behind the figures

_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _on_param(params: Mapping[str, str]) -> date:
    """The list's day: strictly YYYY-MM-DD in ASCII digits (no week dates, no dd/mm/yyyy), years 2000 to 2100."""
    raw = str(params.get("on") or "")
    try:
        if not (raw.isascii() and _ISO.match(raw)):
            raise ValueError(raw)
        on = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput({"on": ("iso_date", {})}) from None
    if not 2000 <= on.year <= 2100:
        raise InvalidInput({"on": ("range", {"min": "2000-01-01", "max": "2100-12-31"})})
    return on


def _small_unit(params: Mapping[str, str]) -> bool:
    """Whether the queue shows the list for a commune or a branch (?unit=): the plan then probes (holds_clause)."""
    raw = str(params.get("unit") or "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        return False
    level = db.session.scalar(select(Unit.level).where(Unit.id == int(raw)))
    return level in ("commune", "branch")


@register_list("holders")
def holders_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """The files holding a title on a day (params title: CDHT or XHT, on: YYYY-MM-DD)."""
    title = params.get("title")
    codes = tuple(titles())
    problems: dict[str, tuple[str, dict[str, Any]]] = {}
    if title not in codes:
        problems["title"] = ("choice", {"choices": ", ".join(codes)})
    try:
        on = _on_param(params)
    except InvalidInput as exc:
        problems.update(exc.fields)
    if problems:
        raise InvalidInput(problems)
    return holds_clause(str(title), on, probe=_small_unit(params))


@register_list("digital")
def digital_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """The Learning Citizens holding the title on a day with digital skills (param on: YYYY-MM-DD)."""
    return digital_clause(_on_param(params), probe=_small_unit(params))


def list_indicator(name: str, params: Mapping[str, str]) -> str | None:
    """The indicator whose figure a list of this module is behind (the queue's banner names it), else None."""
    if name == "digital":
        return "digital_skills"
    if name == "holders":
        return {"CDHT": "cdht_coverage", "XHT": "xht_share"}.get(str(params.get("title")))
    return None


# ---------------------------------------------------------------- counting by unit

@dataclass
class _Scope:
    """The unit's subtree within the actor's units: each unit's path ids and level, and the children figures go
    to (those in force on the day; a unit of the children's level with files is added when counted)."""

    unit: Unit
    parts: dict[int, list[int]]  # unit id -> the ids of its path, province first
    levels: dict[int, str]
    child_level: str | None
    children: list[int]
    units: ColumnElement[bool]  # applications.unit_id within the scope
    few: bool  # at most FEW_UNITS units: probe the index file by file (holds_clause's `probe`)
    grants: tuple[str, ...] = ()  # the actor's grant paths (the memo's key)


def _actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def _child_level(unit: Unit) -> str | None:
    """Province (or a district, before the 2025 reform) -> communes; commune -> branches; branch -> itself."""
    return {"province": "commune", "district": "commune", "commune": "branch"}.get(unit.level)


def _scope(actor: Actor, unit: Unit, on: date, child_level: str | None) -> _Scope:
    """Read the subtree once: (id, path, level, validity) of a few thousand units for a province. A unit none of
    whose subtree the actor may see is not found."""
    if not any(g.unit_path.startswith(unit.path) or unit.path.startswith(g.unit_path) for g in actor.grants):
        raise NotFound("unit_not_found")
    visible = and_(visible_units_clause(actor, Unit.path), Unit.path.startswith(unit.path, autoescape=False))
    rows = db.session.execute(select(Unit.id, Unit.path, Unit.level, Unit.valid_from, Unit.valid_to)
                              .where(visible).order_by(Unit.path)).all()
    parts = {r.id: [int(p) for p in r.path.strip("/").split("/")] for r in rows}
    if child_level is None:
        children = [unit.id] if unit.id in parts else []
    else:  # in force on the day: the old communes the 2025 mergers closed drop out, unless files still count there
        children = [r.id for r in rows if r.level == child_level and (r.valid_from is None or r.valid_from <= on)
                    and (r.valid_to is None or r.valid_to >= on)]
    # Ids and paths as literals, for the reason holds_clause gives: a generic plan would not know how many units
    # a path prefix holds (measured: coverage_by_year of a province went from 0.5 s to 2 s after five runs).
    if len(parts) <= FEW_UNITS:  # a commune's ~11 units: named, so the index is probed unit by unit
        units = Application.unit_id.in_([literal_column(str(int(i))) for i in parts]) if parts else false()
    else:  # a province's thousands: the subtree as a subquery (hashed), not a list of ids
        prefixes = sorted({g.unit_path for g in actor.grants})
        units = Application.unit_id.in_(select(Unit.id).where(
            _prefix(unit.path), or_(*(_prefix(p) for p in prefixes))))
    return _Scope(unit, parts, {r.id: r.level for r in rows}, child_level, children, units, len(parts) <= FEW_UNITS,
                  tuple(sorted({g.unit_path for g in actor.grants})))


def _prefix(path: str) -> ColumnElement[bool]:
    """Unit.path LIKE '<path>%' with the path written into the SQL (paths are ids and slashes: no wildcard)."""
    if not re.fullmatch(r"[0-9/]+", path):
        raise ValueError(path)
    return Unit.path.like(literal_column(f"'{path}%'"))


def _holders_by_unit(scope: _Scope, title: str, on: date) -> dict[int, tuple[int, int]]:
    """{unit id: (holders, holders with digital skills)} within the scope: ONE grouped query, read from the index.
    For CDHT the same query counts both (a LEFT JOIN to the one ICT score of each holder), so a dashboard's
    coverage and digital-skills figures cost one scan, not two; the result is kept for the rest of the session's
    transaction while it writes nothing (the key holds the transaction's write stamp; _forget drops it all at the
    transaction's end). XHT: (holders, 0)."""
    if not scope.parts:
        return {}
    defn = indicator_defs()["digital_skills"]
    digital = title == (defn.get("title") or "CDHT")
    key = (title, on, scope.unit.id, scope.grants, scope.few,
           (str(defn["criterion"]), int(defn["threshold"])) if digital else None)
    db.session.flush()  # pending ORM changes first, so that the stamp sees them
    key = (*key, _write_stamp())
    memo = db.session.info.setdefault(_MEMO, {})
    if key in memo:
        return memo[key]
    clause = holds_clause(title, on, probe=scope.few)
    if digital:
        score = aliased(Score)
        stmt = (select(Application.unit_id, func.count(), func.count(score.id))
                .outerjoin(score, and_(score.application_id == Application.id, _digital(defn, score))))
    else:
        stmt = select(Application.unit_id, func.count(), literal_column("0"))
    stmt = stmt.where(clause, scope.units).group_by(Application.unit_id)
    memo[key] = {row[0]: (int(row[1]), int(row[2] or 0)) for row in db.session.execute(stmt)}
    return memo[key]


_MEMO = "hoctap.reports.holders"


def _write_stamp() -> tuple:
    """What changes whenever this transaction writes a row, by whatever path (the engine writes through a raw
    cursor, which no SQLAlchemy event sees): PostgreSQL's per-transaction row counters, SQLite's total_changes()."""
    if db.session.get_bind().dialect.name == "postgresql":
        return tuple(db.session.execute(text(
            "SELECT txid_current_if_assigned(), (SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) "
            "FROM pg_stat_xact_user_tables)")).one())
    return (db.session.scalar(text("SELECT total_changes()")),)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session, *_args) -> None:
    """The transaction is over: the holders counted in it are forgotten."""
    session.info.pop(_MEMO, None)


def _roll_up(scope: _Scope, counts: dict[int, tuple[int, ...]],
             width: int) -> tuple[tuple[int, ...], dict[int, tuple[int, ...]]]:
    """(the unit's totals, {child id: totals}, children in path order) from per-unit counts, by Unit.path."""
    total = [0] * width
    kids: dict[int, list[int]] = {c: [0] * width for c in scope.children}
    for unit_id, values in counts.items():
        path = scope.parts.get(unit_id)
        if path is None:
            continue
        total = [t + v for t, v in zip(total, values, strict=True)]
        child = next((p for p in path if p in kids), None)
        if child is None and scope.child_level is not None:
            child = next((p for p in path if scope.levels.get(p) == scope.child_level), None)
            if child is not None:
                kids[child] = [0] * width
        if child is not None:
            kids[child] = [k + v for k, v in zip(kids[child], values, strict=True)]
    order = {u: i for i, u in enumerate(scope.parts)}  # path order (the scope was read ordered by path)
    return tuple(total), {c: tuple(kids[c]) for c in sorted(kids, key=lambda c: order.get(c, 0))}


# ---------------------------------------------------------------- the figures

def _note(den: targets.Denominator) -> str | None:
    note = den.source or ""
    if den.is_demo and "demo" not in note.lower():
        note = (note + " – " if note else "") + "số liệu mẫu (demo)"
    if den.missing:
        note += f" ({den.missing} xã, phường chưa có số liệu)"
    return note or None


def _denominators(units: Sequence[Unit], kind: str, year: int) -> dict[int, tuple[int | None, str | None]]:
    """{unit id: (value, note)} by workflow.reports.targets.denominator's rule, in one query for the children: a
    unit below the province has its own row or nothing (a province's value may be a sum: asked of targets
    itself); a commune without a row of communes is one commune. None while nothing is known."""
    rows = {r.unit_id: r for r in db.session.scalars(select(ReportDenominator).where(
        ReportDenominator.unit_id.in_([u.id for u in units if u.level != "province"]),
        ReportDenominator.year == year, ReportDenominator.kind == kind))} if units else {}
    out: dict[int, tuple[int | None, str | None]] = {}
    for u in units:
        if u.level == "province":
            den = targets.denominator(u, kind, year)
        else:
            r = rows.get(u.id)
            den = targets.Denominator(value=r.value, is_demo=r.is_demo, source=r.source) if r else None
        if den is not None and den.value is not None:
            out[u.id] = (int(den.value), _note(den))
        elif kind == "communes" and u.level == "commune":
            out[u.id] = (1, None)
        else:
            out[u.id] = (None, None)
    return out


def _targets(unit: Unit, children: Sequence[Unit], indicator: str, year: int) -> dict[int, Any]:
    """{unit id: TargetRef | None} by targets.target_for, asked once for the unit and again only for the children
    that have targets of their own for the indicator and year: every other child's candidates are the unit's
    (a child's chain is the unit's plus itself), so its answer is the unit's."""
    parent = targets.target_for(unit, indicator, year)
    ids = [c.id for c in children if c.id != unit.id]
    own = set(db.session.scalars(select(ReportTarget.unit_id).where(
        ReportTarget.unit_id.in_(ids), ReportTarget.indicator == indicator, ReportTarget.year == year))) if ids \
        else set()
    return {unit.id: parent, **{c.id: targets.target_for(c, indicator, year) if c.id in own else parent
                                for c in children if c.id != unit.id}}


def _figure(indicator: str, unit: Unit, year: int, numerator: int, den: tuple[int | None, str | None], ref,
            list_name: str, list_args: dict[str, Any]) -> Figure:
    denominator, note = den
    return Figure(indicator, unit.id, year, int(numerator), denominator, percent(numerator, denominator),
                  target=ref.value if ref is not None else None,
                  target_plan=ref.plan_citation if ref is not None else None, denominator_note=note,
                  list_name=list_name, list_args=dict(list_args))


def _figures(indicator: str, unit: Unit, year: int, totals: dict[int, tuple[int, int | None]], kind: str | None,
             list_name: str, list_args: dict[str, Any]) -> tuple[Figure, list[Figure]]:
    """The unit's figure and its children's: totals {unit id: (numerator, denominator or None to look up)}, the
    unit's first; denominators of `kind` and targets looked up in bulk."""
    units = _units_by_id(totals)
    children = [units[i] for i in list(totals)[1:] if i in units]
    dens = _denominators([unit, *children], kind, year) if kind else {}
    refs = _targets(unit, children, indicator, year)
    out = []
    for u in [unit, *children]:
        n, d = totals[u.id] if u.id in totals else (0, None)
        den = dens.get(u.id, (None, None)) if kind else (d, None)
        out.append(_figure(indicator, u, year, n, den, refs.get(u.id), list_name, list_args))
    return out[0], out[1:]


def _units_by_id(ids) -> dict[int, Unit]:
    ids = list(ids)
    return {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}


def _share(actor, unit: Unit, year: int, indicator: str, kind: str,
           child_level: str | None) -> tuple[Figure, list[Figure]]:
    """Holders of the indicator's title over the denominator `kind`, for the unit and each child."""
    actor, on = _actor(actor), as_of(year)
    title = TITLE_OF[indicator]
    scope = _scope(actor, unit, on, child_level)
    counts = {u: (h,) for u, (h, _d) in _holders_by_unit(scope, title, on).items()}
    (n,), kids = _roll_up(scope, counts, 1)
    totals: dict[int, tuple[int, int | None]] = {unit.id: (n, None)}
    totals.update({c: (k, None) for c, (k,) in kids.items() if c != unit.id})
    own, children = _figures(indicator, unit, year, totals, kind, "holders", {"title": title, "on": on.isoformat()})
    if unit.id in kids:  # a branch: its one child is itself
        children = [own]
    return own, children


def coverage(actor, unit: Unit, year: int) -> tuple[Figure, list[Figure]]:
    """cdht_coverage of the unit and of each child unit (a province's communes, a commune's branches, a branch
    itself): Learning Citizens holding the title on as_of(year) over the adults (targets.denominator "adults")."""
    return _share(actor, unit, year, "cdht_coverage", "adults", _child_level(unit))


def xht_share(actor, unit: Unit, year: int) -> tuple[Figure, list[Figure]]:
    """xht_share of the unit and of each commune under it: communes holding Xã học tập on as_of(year) over the
    communes and wards ("communes"; a commune is one). XHT files sit at the commune: a commune's children list
    is empty (its branches hold none)."""
    child = "commune" if unit.level in ("province", "district") else None
    own, kids = _share(actor, unit, year, "xht_share", "communes", child)
    return own, kids if child else []


def digital_skills(actor, unit: Unit, year: int) -> tuple[Figure, list[Figure]]:
    """digital_skills of the unit and each child: Learning Citizens (as in coverage) whose score on the ICT
    criterion reaches the threshold (indicators.json "criterion", "threshold") over all Learning Citizens. One
    grouped query gives both: the holders, and those with a matching score (a left join on the score)."""
    actor, on = _actor(actor), as_of(year)
    defn = indicator_defs()["digital_skills"]
    scope = _scope(actor, unit, on, _child_level(unit))
    stmt_counts = _holders_by_unit(scope, defn.get("title") or "CDHT", on)
    (holders, skilled), kids = _roll_up(scope, stmt_counts, 2)
    totals: dict[int, tuple[int, int | None]] = {unit.id: (skilled, holders)}
    totals.update({c: (s, h) for c, (h, s) in kids.items() if c != unit.id})
    own, children = _figures("digital_skills", unit, year, totals, None, "digital", {"on": on.isoformat()})
    if unit.id in kids:
        children = [own]
    return own, children


def coverage_by_year(actor, unit: Unit, years: Sequence[int]) -> list[Figure]:
    """cdht_coverage of the unit for each year (counted on as_of(year)), for the chart against the targets; a
    year after the current one has no figure yet (numerator 0, value None, no list)."""
    actor = _actor(actor)
    scope = _scope(actor, unit, clock.today(), None)  # the unit alone: no children, so no day to judge them by
    out = []
    for year in years:
        if year > clock.today().year:
            ref = targets.target_for(unit, "cdht_coverage", year)
            out.append(Figure("cdht_coverage", unit.id, year, 0, target=ref.value if ref else None,
                              target_plan=ref.plan_citation if ref else None))
            continue
        on = as_of(year)
        counts = {u: (h,) for u, (h, _d) in _holders_by_unit(scope, "CDHT", on).items()}
        (n,), _kids = _roll_up(scope, counts, 1)
        out.append(_figure("cdht_coverage", unit, year, n, _denominators([unit], "adults", year)[unit.id],
                           targets.target_for(unit, "cdht_coverage", year), "holders",
                           {"title": "CDHT", "on": on.isoformat()}))
    return out
