"""The admin's view of the notification queue: jobs that exhausted their retries and outbox rows the sweep gave
up on, each with the action that gets it delivered after the cause (mail server, lost job) is fixed. Without
Redis (the demo) jobs run in process, so there is no failed-job registry to show."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from redis.exceptions import RedisError

from notifications import admin as notify_admin
from notifications import queue as nq
from notifications import relay

from .common import ID, roles_required


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction; translated when shown
    return text

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_ROLES = ("admin",)


# The sections of the administration, in the order an admin sets up a province; each is shown once its pages exist.
SECTIONS = (
    ("admin_units.index", N_("Units"), N_("Communes of the province from the official list, branches and villages, "
                                          "area classes.")),
    ("admin_mergers.index", N_("2025 mergers"), N_("Former units of each new commune, hand mapping, moving the "
                                                   "records of the old units.")),
    ("admin_officers.index", N_("Officers"), N_("Users and their roles at units, set-password links, the officers "
                                                "spreadsheet.")),
    ("admin_campaigns.index", N_("Campaigns"), N_("Each year's campaigns, their deadlines and extensions.")),
    ("admin_versions.index", N_("Rubrics and chains"), N_("New rubric versions, provincial approval chains, "
                                                         "re-score preview before a campaign switches version.")),
    ("admin_definitions.index", N_("Procedure versions"), N_("Versions of each title's stages; a dry run of moving "
                                                             "the files in flight, then the migration.")),
    ("admin_targets.index", N_("Targets and denominators"), N_("The plans' targets per year, communes' own targets, "
                                                               "adults aged 15 and over and other denominators.")),
    ("admin.notifications", N_("Notification queue"), N_("Notices and jobs that could not be delivered.")),
)


@bp.get("/")
@roles_required(*ADMIN_ROLES)
def index():
    """The starting page of an administrator: one card per section."""
    sections = [(endpoint, _(title), _(text)) for endpoint, title, text in SECTIONS
                if endpoint in current_app.view_functions]
    return render_template("admin_index.html", sections=sections)


@bp.get("/notifications")
@roles_required(*ADMIN_ROLES)
def notifications():
    """One page for both kinds of stuck delivery; a Redis that is configured but down is said, not a 500."""
    has_queue = nq.redis_url() is not None
    jobs: list[dict] = []
    queue_error = False
    if has_queue:
        try:
            jobs = notify_admin.failed_jobs()
        except (nq.RedisUnavailable, RedisError):
            queue_error = True
    return render_template("admin_notifications.html", has_queue=has_queue, queue_error=queue_error, jobs=jobs,
                           stuck=notify_admin.stuck_outbox(), pending=relay.pending_count())


def _back():
    return redirect(url_for("admin.notifications"))


def _queue_reachable() -> bool:
    """Requeueing needs Redis; without it say so instead of failing."""
    if nq.redis_url() is None:
        flash(_("Jobs run in process: there is no queue to requeue from."), "error")
        return False
    return True


@bp.post("/notifications/jobs/<job_id>/requeue")
@roles_required(*ADMIN_ROLES)
def requeue(job_id: str):
    if _queue_reachable():
        try:
            if notify_admin.requeue(job_id):
                flash(_("Job put back on its queue."), "info")
            else:
                flash(_("No failed job has this id."), "error")
        except (nq.RedisUnavailable, RedisError):
            flash(_("The job queue cannot be reached now."), "error")
    return _back()


@bp.post("/notifications/jobs/requeue-all")
@roles_required(*ADMIN_ROLES)
def requeue_all():
    if _queue_reachable():
        try:
            n = notify_admin.requeue_all()
            flash(ngettext("%(num)s job put back on its queue.", "%(num)s jobs put back on their queues.", n),
                  "info")
        except (nq.RedisUnavailable, RedisError):
            flash(_("The job queue cannot be reached now."), "error")
    return _back()


@bp.post(f"/notifications/outbox/<{ID}:outbox_id>/rehand")
@roles_required(*ADMIN_ROLES)
def rehand(outbox_id: int):
    if notify_admin.rehand(outbox_id):
        flash(_("Notice %(id)s handed over again.", id=outbox_id), "info")
    else:
        flash(_("Notice %(id)s is already delivered or does not exist.", id=outbox_id), "error")
    return _back()
