"""Citizens across years and places (issue 9, section 2): one CCCD's files in every campaign, year, unit and
province the actor may see, and the cross-province rule.

Who: appraisers (commune appraisers, district and provincial approvers) and auditors (auditors, admins, as the
audit pages have it). Scope is judged only with the grants of those roles, so a branch officer's grant never widens
what an appraiser of the same person sees. A CCCD with no file in scope is "not found", whether or not it has files
elsewhere: its existence never leaks.

The cross-province rule: a file is *live* unless withdrawn, exactly as the partial unique index
uq_applications_live_subject has it (a rejected or revoked file still blocks a second one in its campaign). Two live
files of one CCCD in campaigns of the same title and year but different provinces are flagged on both sides; inside
one province the second file is refused outright (operations.create_application, and a province has one campaign
per title and year: uq_campaigns_title_year_province). Every lookup goes through ix_applications_citizen_id."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.orm import aliased

from .authz import Actor, actor_of, visible_units_clause
from .db import db
from .errors import NotAuthorized, NotFound
from .inputs import canonical_citizen_id
from .models import Application, Campaign, CrossProvinceCitizen, Decision, Unit
from .queries import AUDIT_ROLES

APPRAISER_ROLES = ("commune_appraiser", "district_approver", "provincial_approver")
HISTORY_ROLES = APPRAISER_ROLES + AUDIT_ROLES
NOT_LIVE = "withdrawn"  # the one state that frees a CCCD, as in the partial unique index


def _actor(actor) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def may_look_up(actor) -> bool:
    """Whether the actor holds a role that reads citizens' histories at all (branch officers do not)."""
    return bool(_actor(actor).roles() & set(HISTORY_ROLES))


def history_query(citizen_id: str, actor) -> Select:
    """The rows of one (canonical) CCCD's history within the actor's history-role grants, newest year first.
    The WHERE on applications.citizen_id is the indexed lookup (ix_applications_citizen_id)."""
    actor = _actor(actor)
    province = aliased(Unit, name="province")
    return (select(Application.id, Application.full_name, Application.state, Application.created_at,
                   Application.state_changed_at, Application.recognised_at, Campaign.id.label("campaign_id"),
                   Campaign.name.label("campaign_name"), Campaign.title_code, Campaign.year,
                   Unit.id.label("unit_id"), Unit.name.label("unit_name"), province.id.label("province_id"),
                   province.name.label("province_name"), Decision.number.label("decision_number"),
                   Decision.signed_on.label("decision_signed_on"))
            .join(Unit, Unit.id == Application.unit_id)
            .join(Campaign, Campaign.id == Application.campaign_id)
            .join(province, province.id == Campaign.province_id)
            .outerjoin(Decision, Decision.id == Application.decision_id)
            .where(Application.citizen_id == citizen_id, visible_units_clause(actor, Unit.path, HISTORY_ROLES))
            .order_by(Campaign.year.desc(), Application.id.desc()))


def history(raw_citizen_id: str | None, actor) -> tuple[str, list[dict[str, Any]]]:
    """(canonical CCCD, its files in scope). Raises NotAuthorized for a role that may not look citizens up (before
    the CCCD is even read, so the answer says nothing about it), GuardRefused for a CCCD that is not 12 ASCII
    digits (citizen_id_ascii, invalid_field), NotFound("citizen_not_found") when no file is in scope."""
    actor = _actor(actor)
    if not may_look_up(actor):
        raise NotAuthorized("citizen_history_forbidden")
    citizen_id = canonical_citizen_id(raw_citizen_id)
    rows = db.session.execute(history_query(citizen_id, actor).limit(500)).all()
    if not rows:
        raise NotFound("citizen_not_found")
    return citizen_id, [_item(r) for r in rows]


def _item(r) -> dict[str, Any]:
    return {"application_id": r.id, "full_name": r.full_name, "state": r.state,
            "campaign": {"id": r.campaign_id, "name": r.campaign_name, "title": r.title_code, "year": r.year},
            "unit": {"id": r.unit_id, "name": r.unit_name},
            "province": {"id": r.province_id, "name": r.province_name},
            "decision": ({"number": r.decision_number, "signed_on": r.decision_signed_on}
                         if r.decision_number is not None else None),
            "created_at": r.created_at, "state_changed_at": r.state_changed_at, "recognised_at": r.recognised_at}


# ---------------------------------------------------------------- the cross-province flag

def twins_query(app: Application) -> Select:
    """Live files of the same CCCD in another province's campaign of the same title and year, with that
    province's name and the campaign's (nothing else about them: the other side is outside the reader's scope)."""
    province = aliased(Unit, name="province")
    return (select(Campaign.id, Campaign.name, Campaign.year, province.name.label("province_name"))
            .select_from(Application)
            .join(Campaign, Campaign.id == Application.campaign_id)
            .join(province, province.id == Campaign.province_id)
            .where(Application.citizen_id == app.citizen_id, Application.state != NOT_LIVE,
                   Application.id != app.id, Campaign.title_code == app.campaign.title_code,
                   Campaign.year == app.campaign.year, Campaign.province_id != app.campaign.province_id)
            .distinct().order_by(province.name, Campaign.id))


def flags(app: Application, actor) -> list[dict[str, Any]]:
    """The warnings an appraiser or auditor of `app` sees on it: [{"code": "cross_province", "province",
    "campaign_id", "campaign", "year"}]. Empty for other readers (a branch officer), for a file that is not
    live, or one without a CCCD."""
    actor = _actor(actor)
    if app.citizen_id is None or app.state == NOT_LIVE or not actor.covers(app.unit.path, HISTORY_ROLES):
        return []
    return [{"code": "cross_province", "province": r.province_name, "campaign_id": r.id, "campaign": r.name,
             "year": r.year} for r in db.session.execute(twins_query(app))]


def flagged_clause() -> ColumnElement[bool]:
    """WHERE clause for a select over Application joined to its Campaign: the row is live and has a live twin in
    another province's campaign of the same title and year (an EXISTS over the citizen index). Only the files of
    the few CCCDs in cross_province_citizens (a superset kept by triggers) are tested, so a province's list starts
    from those instead of testing each of its two million files."""
    other = aliased(Application, name="twin")
    other_campaign = aliased(Campaign, name="twin_campaign")
    twin = (select(other.id).join(other_campaign, other_campaign.id == other.campaign_id)
            .where(other.citizen_id == Application.citizen_id, other.state != NOT_LIVE,
                   other_campaign.title_code == Campaign.title_code, other_campaign.year == Campaign.year,
                   other_campaign.province_id != Campaign.province_id))
    candidates = select(CrossProvinceCitizen.citizen_id)
    return (Application.citizen_id.in_(candidates) & (Application.state != NOT_LIVE) & exists(twin))


def flagged_query(actor) -> Select:
    """Flagged files within the actor's history-role grants, newest first (the appraisers' list of twins)."""
    actor = _actor(actor)
    return (select(Application).join(Unit, Unit.id == Application.unit_id)
            .join(Campaign, Campaign.id == Application.campaign_id)
            .where(visible_units_clause(actor, Unit.path, HISTORY_ROLES), flagged_clause())
            .order_by(Application.id.desc()))

