"""Everyone's pages: what waits for me (per role grant), campaigns of the year, the inbox, the language switch."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select, update

from workflow import clock, deadlines, queries, summary
from workflow.authz import Grant
from workflow.chains import chain_for
from workflow.db import db
from workflow.definitions import for_campaign
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
    return [s for s in for_campaign(campaign).stages
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


def returned_to_me(limit: int = 50, campaigns: list[Campaign] | None = None) -> list[tuple[Application, AuditEvent]]:
    """Files sent back to the applicant side whose latest state change is a return: what to fix, and why.
    `campaigns`: only those campaigns' files (the ones where the user prepares files)."""
    stmt = queries.returned(actor(), limit)
    if campaigns is not None:
        stmt = stmt.where(Application.campaign_id.in_([c.id for c in campaigns]))
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def creatable(campaigns: list[Campaign]) -> list[Campaign]:
    """The running campaigns where the user acts at the first stage and nominations are still open: the home
    page's "New application" buttons."""
    today = clock.today()
    return [c for c in prepared_by_me(campaigns) if deadlines.nominations_open(c, today)]


def prepared_by_me(campaigns: list[Campaign]) -> list[Campaign]:
    """The campaigns where the user acts at the first stage: only there does the user fix returned files, so only
    their returns are listed (an overseer's home would otherwise open on every commune's returns)."""
    return [c for c in campaigns if any(for_campaign(c).stages[0] in acting_states(g, c)
                                        for g in actor().grants)]


@bp.get("/")
@login_required
def index():
    current = current_campaigns()
    mine = prepared_by_me(campaigns_of())  # a return in last year's campaign still waits to be fixed
    return render_template("home.html", waiting=waiting_for_me(),
                           returned=returned_to_me(campaigns=mine) if mine else [],
                           unread=_unread_count(), current=current, today=clock.today(),
                           next_deadline=deadlines.next_deadline, headline_unit=_headline_unit(),
                           creatable=creatable(current))


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
        first = for_campaign(c).stages[0]
        creators = [g for g in me.grants if first in acting_states(g, c)]
        rows.append((c, creators))
    return render_template("campaigns.html", rows=rows, year=year, today=clock.today(),
                           next_deadline=deadlines.next_deadline, nominations_open=deadlines.nominations_open)


def _unread_count() -> int:
    from .help import unread_notices  # counted once per request, shared with the header's "Inbox" link

    return unread_notices()


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


@bp.post("/inbox/read-all")
@login_required
def mark_all_read():
    """Mark every unread in-app notice of the user as read, in one statement (through ix_notifications_unread).
    Reading a notice is not an audited event (a single "Mark as read" is not either): nothing to write to the
    trail."""
    done = db.session.execute(
        update(Notification).where(Notification.user_id == current_user.id, Notification.channel == "inapp",
                                   Notification.read_at.is_(None))
        .values(read_at=clock.now()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if done:
        flash(ngettext("%(num)s notice marked as read.", "%(num)s notices marked as read.", done), "success")
    return redirect(url_for("home.inbox"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in LOCALES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
