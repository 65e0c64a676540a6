"""Everyone's pages: what waits for me (per role grant), campaigns of the year, the inbox, the language switch."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from workflow import clock, deadlines, queries, summary
from workflow.authz import Grant
from workflow.chains import chain_for
from workflow.db import db
from workflow.definitions import definition
from workflow.errors import WorkflowError
from workflow.models import Application, AuditEvent, Campaign, Notification, Unit

from ..auth import safe_next
from ..i18n import LOCALES
from .common import ID, actor, int_arg, paginate

bp = Blueprint("home", __name__)


@dataclass
class Waiting:
    grant: Grant
    unit_name: str
    campaign: Campaign
    state: str
    count: int


def _province_id(path: str) -> int:
    return int(path.split("/", 2)[1])


def acting_states(grant: Grant, campaign: Campaign) -> list[str]:
    """The states of this campaign's title at which this grant's role and level act."""
    try:
        chain = chain_for(campaign.title_code, campaign.province_id, clock.today())
    except WorkflowError:
        return []
    return [s for s in definition(campaign.title_code).stages
            if (st := chain.stages.get(s)) is not None and st.role == grant.role and st.level == grant.unit_level]


def campaigns_of(year: int | None = None) -> list[Campaign]:
    """Campaigns of the provinces the user's grants lie in."""
    provinces = {_province_id(g.unit_path) for g in actor().grants}
    stmt = select(Campaign).where(Campaign.province_id.in_(provinces)).order_by(Campaign.year.desc(),
                                                                                 Campaign.title_code)
    if year:
        stmt = stmt.where(Campaign.year == year)
    return list(db.session.scalars(stmt))


def waiting_for_me() -> list[Waiting]:
    """Per grant, campaign and acting state, the files waiting in the grant's subtree: from the summary
    (workflow/summary.py), one query per grant whatever the number of files."""
    me = actor()
    out = []
    campaigns = campaigns_of()
    for grant in me.grants:
        unit = db.session.get(Unit, grant.unit_id)
        mine = [c for c in campaigns if c.province_id == _province_id(grant.unit_path)]
        counts = summary.by_campaign_state(grant.unit_path, [c.id for c in mine])
        for campaign in mine:
            for state in acting_states(grant, campaign):
                n = counts.get((campaign.id, state), 0)
                if n or campaign.closed_at is None:  # a closed campaign (past years) shows what still waits in it
                    out.append(Waiting(grant, unit.name, campaign, state, n))
    return out


def returned_to_me(limit: int = 50) -> list[tuple[Application, AuditEvent]]:
    """Files sent back to the applicant side whose latest state change is a return: what to fix, and why."""
    return [(row[0], row[1]) for row in db.session.execute(queries.returned(actor(), limit))]


@bp.get("/")
@login_required
def index():
    return render_template("home.html", waiting=waiting_for_me(), returned=returned_to_me(),
                           unread=_unread_count(), current=current_campaigns(), today=clock.today(),
                           next_deadline=deadlines.next_deadline, headline_unit=_headline_unit())


def _headline_unit():
    """The unit whose headline figures a provincial or commune officer's home page shows (issue 11; the figures
    themselves come from reports.home_headline)."""
    from .reports import home_unit

    return home_unit()


def current_campaigns() -> list[Campaign]:
    """The campaigns the user works in that still run: this year's, or any with a deadline ahead."""
    today = clock.today()
    return [c for c in campaigns_of() if c.year >= today.year or deadlines.next_deadline(c, today) is not None]


@bp.get("/campaigns")
@login_required
def campaigns():
    year = int_arg("year", minimum=1900, maximum=9999) or clock.today().year
    me = actor()
    rows = []
    for c in campaigns_of(year):
        first = definition(c.title_code).stages[0]
        creators = [g for g in me.grants if first in acting_states(g, c)]
        rows.append((c, creators))
    return render_template("campaigns.html", rows=rows, year=year, today=clock.today(),
                           next_deadline=deadlines.next_deadline, nominations_open=deadlines.nominations_open)


def _unread_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == current_user.id, Notification.channel == "inapp",
        Notification.read_at.is_(None))) or 0


@bp.get("/inbox")
@login_required
def inbox():
    page = paginate(select(Notification).where(Notification.user_id == current_user.id,
                                               Notification.channel == "inapp")
                    .order_by(Notification.created_at.desc(), Notification.id.desc()), per_page=30)
    return render_template("inbox.html", page=page)


@bp.post(f"/inbox/<{ID}:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    note = db.session.get(Notification, notification_id)
    if note is not None and note.user_id == current_user.id and note.read_at is None:
        note.read_at = clock.now()
        db.session.commit()
    return redirect(url_for("home.inbox"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in LOCALES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
