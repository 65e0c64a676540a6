"""The public check of a certificate (issue 12 §2): /verify/<code> needs no login and shows only what the paper
shows (name, title, level, year, issuing body, decision number and date, valid until) and whether it was revoked
(the day, never the reason) or has expired. An unknown code and a malformed one get the very same answer (status,
body; one lookup either way: workflow.certificates.lookup). The page is rate-limited per address (VERIFY_LIMIT,
web/ratelimit.py), kept out of search engines (noindex, in a header and a meta tag) and carries no CCCD, no date
of birth and nothing else of the file."""
from __future__ import annotations

from flask import Blueprint, make_response, render_template, url_for

from workflow import certificates

bp = Blueprint("verify", __name__)

NOINDEX = "noindex, nofollow, noarchive"


@bp.get("/verify/<path:code>")
def verify(code: str):
    facts = certificates.lookup(code[:200])
    # the language links lead back here only for a real certificate: an unknown code's page never echoes it
    back = url_for("verify.verify", code=facts.code) if facts is not None else url_for("home.index")
    response = make_response(render_template("verify.html", f=facts, back=back), 200 if facts is not None else 404)
    response.headers["X-Robots-Tag"] = NOINDEX
    response.headers["Cache-Control"] = "no-store"  # a revocation shows at once, never a cached "valid"
    response.headers["Referrer-Policy"] = "no-referrer"  # the code is the key: it never leaves in a Referer
    return response
