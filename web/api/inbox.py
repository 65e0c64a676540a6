"""The caller's own inbox: in-app notices (rows of `notifications` for the current user), newest first."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from workflow.models import Notification

from . import bp
from .auth import current_user
from .errors import FieldErrors
from .util import iso, paged


def notification_dict(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "application_id": n.application_id, "subject": n.subject, "body": n.body,
            "created_at": iso(n.created_at), "read_at": iso(n.read_at)}


@bp.get("/notifications")
def list_notifications():
    """Only the caller's rows: the user id comes from the token, never from the request."""
    errors = FieldErrors()
    unread = request.args.get("unread")
    if unread not in (None, "", "true", "false", "1", "0"):
        errors.add("unread", "choice", choices="true, false")
    stmt = (select(Notification).where(Notification.user_id == current_user().id, Notification.channel == "inapp")
            .order_by(Notification.created_at.desc(), Notification.id.desc()))
    if unread in ("true", "1"):
        stmt = stmt.where(Notification.read_at.is_(None))
    return paged(stmt, notification_dict, errors)
