"""The audit chain's status for auditors and admins: sealed and waiting counts, the head, and the first bad event."""
from __future__ import annotations

from workflow import audit

from . import bp
from .auth import current_actor
from .errors import ApiError

AUDIT_ROLES = ("auditor", "admin")


@bp.get("/audit/verify")
def verify_audit():
    """Walk the whole hash chain now (read-only); `ok` is false with `first_bad` naming the first broken event."""
    if not current_actor().roles() & set(AUDIT_ROLES):
        raise ApiError(403, "forbidden")
    report = audit.verify()
    return {"ok": report.ok, "sealed": report.sealed, "waiting": report.waiting, "first_bad": report.first_bad,
            "problem": report.problem, "head_seq": report.head_seq, "head_hash": report.head_hash,
            "details": report.details}
