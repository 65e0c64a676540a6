"""Renewal (đề nghị công nhận lại, issue 12 §3): a recognition that expires (or has expired) is renewed by a new
application in a campaign of the same title and province that is open for nominations, linked to the recognition
it renews (renewals: one row per renewing file). The new file is opened by `operations.create_application`, so
scope, role, deadline, the one-live-file rule and the level rule (XHT level 2, workflow.validity) are the
nomination's own; its level is the renewed one's. One live renewal per recognition. The caller commits."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, or_, select

from . import clock, operations, validity
from .db import db
from .errors import GuardRefused
from .models import Application, AuditEvent, Campaign, Renewal


def renewal_of(app: Application) -> Application | None:
    """The live file renewing this recognition, if any (a withdrawn or rejected renewal leaves room for another)."""
    return db.session.scalar(
        select(Application).join(Renewal, Renewal.application_id == Application.id)
        .where(Renewal.renews_id == app.id, Application.state.not_in(("withdrawn", "rejected")))
        .order_by(Application.id.desc()).limit(1))


def renews(app: Application) -> Application | None:
    """The recognition this file renews, if it is a renewal."""
    link = db.session.get(Renewal, app.id)
    return db.session.get(Application, link.renews_id) if link is not None else None


def open_campaign(app: Application, on: date) -> Campaign | None:
    """The newest campaign of the recognition's title and province open for nominations on `on`, other than the
    recognition's own."""
    c = app.campaign
    return db.session.scalar(
        select(Campaign).where(Campaign.title_code == c.title_code, Campaign.province_id == c.province_id,
                               Campaign.id != c.id, Campaign.closed_at.is_(None), Campaign.opens_on <= on,
                               or_(Campaign.submit_deadline.is_(None), Campaign.submit_deadline >= on))
        .order_by(Campaign.year.desc(), Campaign.id.desc()).limit(1))


def renewable_now(app: Application, on: date) -> bool:
    """Whether the page offers renewal: a recognition of a renewable title within its reminder window before
    expiry (titles.json "validity" "remind_days_before") or already expired, not renewed yet."""
    title = app.campaign.title_code
    if app.state != "recognised" or app.recognised_at is None or not validity.renewable(title):
        return False
    until = validity.valid_until(title, validity.vn_day(app.recognised_at))
    from datetime import timedelta

    window = validity.remind_days(title) or 0
    return on >= until - timedelta(days=window) and renewal_of(app) is None


def renew(app: Application, actor: Any) -> Application:
    """Open the renewal of recognition `app`: a new file at its unit in the open campaign, at the same level,
    linked to it, with an audit event "renew" on the new file naming the renewed one."""
    title = app.campaign.title_code
    if app.state != "recognised" or not validity.renewable(title):
        raise GuardRefused("not_renewable")
    existing = renewal_of(app)
    if existing is not None:
        raise GuardRefused("renewal_exists", id=existing.id)
    today = clock.today()
    campaign = open_campaign(app, today)
    if campaign is None:
        raise GuardRefused("no_open_campaign")
    new = operations.create_application(campaign, app.unit, actor, target_level=app.target_level)
    db.session.add(Renewal(application_id=new.id, renews_id=app.id, created_at=clock.now()))
    db.session.flush()
    actor_ = operations._actor(actor)
    db.session.execute(insert(AuditEvent.__table__), [{
        "application_id": new.id, "actor_id": actor_.id, "actor_name": actor_.username, "action": "renew",
        "from_state": new.state, "to_state": new.state, "reason": None,
        "payload": {"renews_id": app.id, "renews_campaign": app.campaign_id}, "created_at": clock.now()}])
    return new
