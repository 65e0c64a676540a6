"""Campaigns (đợt đánh giá) and their pinned rubric. A user sees the campaigns of the provinces their grants lie in:
a campaign is public within its province, and the rubric is what a client needs to build a scoring form."""
from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select

from workflow import clock, deadlines
from workflow.admin import campaigns as admin_campaigns
from workflow.admin.inputs import parse
from workflow.authz import Actor
from workflow.db import db
from workflow.declared import CampaignChange
from workflow.models import Campaign
from workflow.rubrics import spec

from . import bp
from .auth import current_actor
from .errors import ApiError
from .openapi import declare
from .util import ID, commit, iso, json_body


def provinces_of(actor: Actor) -> set[int]:
    """Province ids of the actor's grants (a unit path starts with its province: "/<province>/...")."""
    return {int(g.unit_path.split("/", 2)[1]) for g in actor.grants}


def visible_campaign(campaign_id: int, actor: Actor) -> Campaign | None:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.province_id not in provinces_of(actor):
        return None
    return campaign


def campaign_dict(c: Campaign) -> dict[str, Any]:
    return {"id": c.id, "title": c.title_code, "year": c.year, "name": c.name, "province_id": c.province_id,
            "rubric_id": c.rubric_id, "rubric_version": c.rubric.version, "opens_on": iso(c.opens_on),
            "submit_deadline": iso(c.submit_deadline), "decision_deadline": iso(c.decision_deadline),
            **deadline_fields(c)}


def deadline_fields(c: Campaign) -> dict[str, Any]:
    """The stage deadlines, closing, and the next deadline with the days left to it (as of today in Vietnam)."""
    upcoming = None if c.closed_at is not None else deadlines.next_deadline(c, clock.today())
    return {"scoring_deadline": iso(c.scoring_deadline), "appraisal_deadline": iso(c.appraisal_deadline),
            "stage_limit_days": c.stage_limit_days, "escalate_after_days": c.escalate_after_days,
            "closed_at": iso(c.closed_at), "nominations_open": deadlines.nominations_open(c, clock.today()),
            "next_deadline": upcoming[0] if upcoming else None, "days_left": upcoming[2] if upcoming else None}


@bp.get("/campaigns")
def list_campaigns():
    """Campaigns in the caller's provinces, newest year first."""
    provinces = provinces_of(current_actor())
    rows = db.session.scalars(select(Campaign).where(Campaign.province_id.in_(provinces))
                              .order_by(Campaign.year.desc(), Campaign.id)).all() if provinces else []
    return {"items": [campaign_dict(c) for c in rows]}


@bp.get(f"/campaigns/<{ID}:campaign_id>/rubric")
def campaign_rubric(campaign_id: int):
    """The rubric version the campaign pins: criteria with bounds, the pass rule and the kind."""
    campaign = visible_campaign(campaign_id, current_actor())
    if campaign is None:
        raise ApiError(404, "campaign_not_found")
    rubric = spec(campaign.rubric_id)
    return {
        "campaign_id": campaign.id, "rubric_id": rubric.id, "title": rubric.title, "version": rubric.version,
        "kind": rubric.kind, "pass_rule": rubric.pass_rule, "frameworks": list(rubric.frameworks),
        "criteria": [{"code": c.code, "group": c.group, "min": 0, "max": c.max, "levels": list(c.levels),
                      "evidence_required": c.evidence_required, "name": {"vi": c.name_vi, "en": c.name_en}}
                     for c in rubric.criteria],
    }


@bp.post("/campaigns")
@declare(json=admin_campaigns.CampaignIn, operation_id="createCampaign")
def create_campaign():
    """Open a campaign (admins of the province): the fields GET returns, dates as YYYY-MM-DD."""
    data = parse(admin_campaigns.CampaignIn, json_body())
    campaign = admin_campaigns.open_campaign(current_actor(), data)
    commit()
    return campaign_dict(campaign), 201, {"Location": url_for("api.get_campaign", campaign_id=campaign.id)}


@bp.get(f"/campaigns/<{ID}:campaign_id>")
def get_campaign(campaign_id: int):
    """One campaign of the caller's provinces."""
    campaign = visible_campaign(campaign_id, current_actor())
    if campaign is None:
        raise ApiError(404, "campaign_not_found")
    return campaign_dict(campaign)


@bp.patch(f"/campaigns/<{ID}:campaign_id>")
@declare(json=CampaignChange, operation_id="patchCampaign")
def patch_campaign(campaign_id: int):
    """Change a campaign; moving a deadline later (an extension) needs `reason`. Sending "closed": true closes it
    (no more nominations)."""
    change = parse(CampaignChange, json_body())
    data = change.changes()
    campaign = admin_campaigns.campaign_of(current_actor(), campaign_id)
    admin_campaigns.update_campaign(current_actor(), campaign, data)
    if change.closed:
        admin_campaigns.close_campaign(current_actor(), campaign, data.reason)
    commit()
    return campaign_dict(campaign)
