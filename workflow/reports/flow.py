"""A campaign's flow: files per state, pass and return rates per stage, lateness, weekly progress (issue 11,
section 2). Every figure is counted within what the actor may see under the unit, and names the list behind it:
the same clause, registered here, selects the files the queue shows (`/queue?list=<name>&...&unit=<id>`).

Where each number comes from:
- funnel: the per-state summary (workflow.summary, kept by the triggers of migration 0011): exact, no scan.
- stage_rates: transition_counts (workflow/reports/transitions.py, triggers of migration 0018): files that
  reached / passed / were returned / were rejected at each stage, each file once per (stage, outcome).
- lateness: files now in a stage whose deadline (workflow.deadlines.stage_deadline) is behind `on`, from the
  per-state summary; files recognised after the decision deadline from ix_applications_holders (migration 0017).
- weekly_progress: cumulative files created and recognised per week (Monday to Sunday, Vietnam time), from
  ix_applications_campaign_unit_created (0018) and ix_applications_holders (0017), index-only.
"Recognised" here is the state: a file revoked since is no longer counted (as in the funnel)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Integer, Select, and_, bindparam, cast, false, func, literal, or_, select

from .. import clock, summary
from ..admin.inputs import InvalidInput
from ..authz import Actor, actor_of, visible_units_clause
from ..db import db
from ..deadlines import stage_deadline
from ..definitions import for_campaign
from ..models import Application, AuditEvent, Campaign, TZDateTime, Unit
from . import Figure, percent, register_list
from . import transitions as tc

RATE_OUTCOMES = ("passed", "returned", "rejected")


# ---------------------------------------------------------------- helpers

def _actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def _units(actor: Actor, unit: Unit) -> Select:
    """Ids of the units the figure counts: the unit's subtree, within the actor's units."""
    return select(Unit.id).where(visible_units_clause(actor, Unit.path),
                                 Unit.path.startswith(unit.path, autoescape=False))


def day_start(day: date) -> datetime:
    """The first instant of a Vietnam calendar day, in UTC (how timestamps are stored)."""
    return datetime.combine(day, time(), clock.VN).astimezone(UTC)


def _campaign(params: Mapping[str, str]) -> Campaign:
    raw = str(params.get("campaign") or "")
    campaign = db.session.get(Campaign, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if campaign is None:
        raise InvalidInput({"campaign": ("unknown_campaign", {})})
    return campaign


def _date(params: Mapping[str, str], name: str) -> date:
    raw = str(params.get(name) or "")
    try:
        if len(raw) != 10 or not raw.isascii():
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput({name: ("iso_date", {})}) from None


def _choice(params: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = params.get(name) or default
    if value not in choices:
        raise InvalidInput({name: ("choice", {"choices": ", ".join(choices)})})
    return value


def _figure(indicator: str, unit: Unit, campaign: Campaign, n: int, list_name: str, **args: Any) -> Figure:
    return Figure(indicator, unit.id, campaign.year, int(n), list_name=list_name,
                  list_args={"campaign": campaign.id, **args})


# ---------------------------------------------------------------- the funnel

@register_list("funnel")
def funnel_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """The files of a campaign in one state (params campaign, in_state: not "state", which is the queue's own
    filter and its form's)."""
    campaign = _campaign(params)
    state = _choice(params, "in_state", for_campaign(campaign).states)
    return and_(Application.campaign_id == campaign.id, Application.state == state)


def funnel(actor, unit: Unit, campaign: Campaign) -> list[Figure]:
    """One Figure per state of the campaign's title, in the definition's order (closed states last); the state is
    in `list_args["in_state"]`."""
    actor = _actor(actor)
    return [_figure("funnel", unit, campaign,
                    summary.count(actor, unit_id=unit.id, campaign_id=campaign.id, state=state), "funnel",
                    in_state=state)
            for state in for_campaign(campaign).states]


# ---------------------------------------------------------------- pass and return rates

@register_list("stage")
def stage_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """The files of a campaign that reached / passed / were returned / were rejected at a stage, at least once
    (params campaign, stage, outcome: passed, returned, rejected or reached)."""
    campaign = _campaign(params)
    stage = _choice(params, "stage", for_campaign(campaign).stages)
    outcome = _choice(params, "outcome", tc.OUTCOMES)
    fact = tc.fact_clause(stage, outcome)
    if outcome in ("returned", "rejected"):
        # Rare: from the facts (ix_audit_events_setbacks, partial on returns and rejections), not a probe per file,
        # which would walk a province's every file for a page of them (13 s at 2 million).
        return and_(Application.campaign_id == campaign.id,
                    Application.id.in_(select(AuditEvent.application_id).where(fact)))
    # Dense (passed, reached): a probe of each file's few events along ix_audit_events_application finds a page
    # at once, and the events need no index of their own. The LIMIT keeps the probe a per-file subplan: as a plain
    # EXISTS the planner may flatten it into a semi-join that hashes the whole trail.
    probe = (select(literal(1)).where(AuditEvent.application_id == Application.id, fact).limit(1)
             .correlate(Application).scalar_subquery())
    return and_(Application.campaign_id == campaign.id, probe.is_not(None))


def stage_rates(actor, unit: Unit, campaign: Campaign) -> list[dict[str, Any]]:
    """Per stage: {"stage": state, "reached", "passed", "returned", "rejected": Figure, "pass_rate",
    "return_rate", "reject_rate": percent of the files that reached the stage, or None}. A file returned twice at
    a stage counts once; a file returned and then passed counts in both."""
    actor = _actor(actor)
    t = tc.totals()
    rows = db.session.execute(
        select(t.c.stage, t.c.outcome, func.sum(t.c.n))
        .where(t.c.campaign_id == campaign.id, t.c.unit_id.in_(_units(actor, unit)))
        .group_by(t.c.stage, t.c.outcome)).all()
    counts = {(s, o): int(n or 0) for s, o, n in rows}
    out = []
    for stage in for_campaign(campaign).stages:
        reached = counts.get((stage, "reached"), 0)
        row: dict[str, Any] = {"stage": stage}
        for outcome in tc.OUTCOMES:
            n = counts.get((stage, outcome), 0)
            f = _figure(f"stage_{outcome}", unit, campaign, n, "stage", stage=stage, outcome=outcome)
            if outcome != "reached":
                f.denominator, f.value = reached, percent(n, reached)
            row[outcome] = f
        row.update(pass_rate=row["passed"].value, return_rate=row["returned"].value,
                   reject_rate=row["rejected"].value)
        out.append(row)
    return out


# ---------------------------------------------------------------- lateness

def late_stages(campaign: Campaign, on: date) -> list[str]:
    """The campaign's stages whose deadline is behind `on` (a file sitting there is late)."""
    return [s for s in for_campaign(campaign).stages
            if (d := stage_deadline(campaign, s)) is not None and on > d]


def _recognised_late(campaign: Campaign, on: date) -> ColumnElement[bool]:
    """Recognised (and not revoked since) on a day after the decision deadline, up to `on`."""
    deadline = stage_deadline(campaign, "final_approval")
    if deadline is None or on <= deadline:
        return false()
    return and_(Application.state == "recognised",
                Application.recognised_at >= day_start(deadline + timedelta(days=1)),
                Application.recognised_at < day_start(on + timedelta(days=1)))


@register_list("late")
def late_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """Late files of a campaign on a date (params campaign, on=YYYY-MM-DD, optional stage: a stage, or
    "recognised" for files recognised after the decision deadline); without a stage, all of them."""
    campaign = _campaign(params)
    on = _date(params, "on")
    stages = for_campaign(campaign).stages
    stage = _choice(params, "stage", stages + ("recognised", "all"), "all")
    late = late_stages(campaign, on)
    in_late_stage = Application.state.in_(late) if late else false()
    if stage == "recognised":
        clause = _recognised_late(campaign, on)
    elif stage == "all":
        clause = or_(in_late_stage, _recognised_late(campaign, on))
    else:
        clause = and_(Application.state == stage, in_late_stage)
    return and_(Application.campaign_id == campaign.id, clause)


def lateness(actor, unit: Unit, campaign: Campaign, on: date) -> list[Figure]:
    """Files sitting in a stage whose deadline has passed on `on`, one Figure per stage of the title (0 when the
    deadline is still ahead), then the files recognised after the decision deadline (stage "recognised" in
    `list_args`)."""
    actor = _actor(actor)
    late = set(late_stages(campaign, on))
    figures = [_figure("late", unit, campaign,
                       summary.count(actor, unit_id=unit.id, campaign_id=campaign.id, state=stage) if stage in late
                       else 0, "late", on=on.isoformat(), stage=stage)
               for stage in for_campaign(campaign).stages]
    n = db.session.scalar(select(func.count()).select_from(Application).where(
        Application.campaign_id == campaign.id, Application.unit_id.in_(_units(actor, unit)),
        _recognised_late(campaign, on)))
    figures.append(_figure("late_recognised", unit, campaign, n or 0, "late", on=on.isoformat(),
                           stage="recognised"))
    return figures


# ---------------------------------------------------------------- weekly progress

@register_list("nominated")
def nominated_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """Files of a campaign created up to a day, included (params campaign, until=YYYY-MM-DD)."""
    campaign = _campaign(params)
    until = _date(params, "until")
    return and_(Application.campaign_id == campaign.id, Application.created_at < day_start(until + timedelta(1)))


@register_list("recognised_by")
def recognised_by_list(params: Mapping[str, str]) -> ColumnElement[bool]:
    """Files of a campaign recognised up to a day, included, and not revoked since (params campaign, until)."""
    campaign = _campaign(params)
    until = _date(params, "until")
    return and_(Application.campaign_id == campaign.id, Application.state == "recognised",
                Application.recognised_at < day_start(until + timedelta(1)))


def first_monday(campaign: Campaign) -> date:
    return campaign.opens_on - timedelta(days=campaign.opens_on.weekday())


def _week_no(column, start: datetime, weeks: int):
    """Which week since `start` a timestamp falls in (negative before it, `weeks` or more after the last).
    PostgreSQL: width_bucket over the weeks' boundaries, a binary search per row (0.25 s over two million files
    where date_part and a division took 0.49 s, and EXTRACT's numeric three times that)."""
    if db.engine.dialect.name == "postgresql":
        bounds = [start + timedelta(weeks=k) for k in range(weeks + 1)]
        return func.width_bucket(column, bindparam("week_bounds", bounds, type_=ARRAY(TZDateTime))) - 1
    return cast((func.julianday(column) - func.julianday(literal(start, TZDateTime))) / 7, Integer)


def _per_week(column, where: list, start: datetime, weeks: int) -> dict[int, int]:
    week = _week_no(column, start, weeks).label("week")
    rows = db.session.execute(select(week, func.count()).select_from(Application).where(*where).group_by(week))
    return {int(w): int(n) for w, n in rows}


def weekly_progress(actor, unit: Unit, campaign: Campaign) -> list[dict[str, Any]]:
    """[{"week": monday date, "nominated": cumulative files created, "recognised": cumulative recognised (not
    revoked since), "nominated_figure"/"recognised_figure": the same as Figures with their lists}] for every week
    from the one holding the campaign's opening to the one holding today or, once passed, its decision deadline.
    Two grouped reads of the indexes; files created before the opening count in the first week."""
    actor = _actor(actor)
    monday = first_monday(campaign)
    end = min(clock.today(), campaign.decision_deadline)
    weeks = max(1, (end - monday).days // 7 + 1)
    start = day_start(monday)
    scope = [Application.campaign_id == campaign.id, Application.unit_id.in_(_units(actor, unit))]
    created = _per_week(Application.created_at, scope, start, weeks)
    recognised = _per_week(Application.recognised_at, scope + [Application.state == "recognised"], start, weeks)
    out, n_created, n_recognised = [], 0, 0
    for k in range(weeks):
        n_created += sum(n for w, n in created.items() if (w <= 0 if k == 0 else w == k))
        n_recognised += sum(n for w, n in recognised.items() if (w <= 0 if k == 0 else w == k))
        week = monday + timedelta(weeks=k)
        until = (week + timedelta(days=6)).isoformat()
        out.append({"week": week, "nominated": n_created, "recognised": n_recognised,
                    "nominated_figure": _figure("nominated", unit, campaign, n_created, "nominated", until=until),
                    "recognised_figure": _figure("recognised", unit, campaign, n_recognised, "recognised_by",
                                                 until=until)})
    return out
