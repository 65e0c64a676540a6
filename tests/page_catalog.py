"""Every page a demo user can open, built from the app's GET rules and filled with demo ids.

`pages_by_role(app)` is shared by the page checks (no internal codes in the text, tests/test_ux_codes.py; every
page fits 390 px, the phones browser check). Call it inside an app context after `workflow.demo.seed(...)`; it
logs each demo user in through a test client and keeps the paths that answer 200 with an HTML page, so "can open"
is what the app's own authorization says, not a copy of it.

A GET rule is either filled here (FILL: its parameters from the demo data) or listed in SKIPPED with the reason;
`unlisted_rules(app)` names any rule that is neither, and the check fails on it, so a new page is never missed
silently."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import Flask
from sqlalchemy import func, select

from workflow.db import db
from workflow.models import Application, Campaign, Certificate, Decision, Evidence, Job, Unit, User

DEMO_PASSWORD = "hoctap-demo"

# Endpoints that are not pages a person reads (files, JSON, redirects, fragments) or that need what the demo cannot
# give without changing it. endpoint -> why it is left out.
SKIPPED: dict[str, str] = {
    "static": "static files (CSS, JS, vendored assets), not a page",
    "health.ready": "health check for the load balancer (JSON), not a page",
    "health.live": "health check for the load balancer (JSON), not a page",
    "home.set_language": "switches the language and redirects back; no page of its own",
    "campaigns_new": "a redirect to /admin/campaigns/new (listed)",
    "mass_actions.choose": "a redirect to /applications/mass/<action> (listed)",
    "auth.login": "the login page: a logged-in user is sent home; see public_pages()",
    "verify.verify": "the public verification page (no login); see public_pages()",
    "set_password.set_password": "needs a one-time token an administrator issues (issuing one changes the data); "
                                 "covered by tests/test_admin_officers.py",
    "reports.home_headline": "a fragment the home page fetches and shows inside itself (checked with the home page)",
    "nominations.download": "downloads the evidence file itself (attachment), not a page",
    "evidence.inline": "the evidence file itself for the preview (PDF/image), not a page",
    "review.decision_csv": "CSV download of a decision's list (checked in tests/test_ux_codes.py for its headers)",
    "review.decision_xlsx": "XLSX download of a decision's list",
    "review.decision_status": "JSON progress of a decision job",
    "papers.decision_pdf": "the decision's PDF (or a redirect to its job page)",
    "papers.decision_pdf_status": "JSON progress of the decision PDF job",
    "certificates.decision_certificates": "the certificates' PDF",
    "auditing.log_csv": "CSV download of the audit log (checked in tests/test_ux_codes.py for headers and values)",
    "imports.template": "XLSX template download",
    "imports.errors_file": "XLSX of an import's rows in error",
    "imports.status": "JSON progress of an import",
    "mass_actions.outcomes_file": "XLSX of a mass action's outcomes",
    "mass_actions.status": "JSON progress of a mass action",
    "mass_actions.show": "the demo starts no mass action (a job would change the files it shows); covered by "
                         "tests/test_web_mass_actions.py",
    "papers.decision_pdf_job": "exists only once a decision's PDF is queued as a job; the demo queues none",
    "reports.export": "CSV/XLSX exports of a report list",
    "reports_annual.pdf": "the annual report's PDF",
    "reports_annual.xlsx": "the annual report's XLSX",
    "admin_targets.template": "XLSX template download",
    "admin_officers.template": "XLSX template download",
    "admin_versions.preview_csv": "CSV download of a rubric version preview",
}
SKIPPED_PREFIXES: dict[str, str] = {"api.": "the JSON API under /api/v1, not pages (docs/api.md)"}


def _first(query) -> int | None:
    return db.session.scalar(query.limit(1))


def _app_ids() -> list[int]:
    """One file of each (title, state) (the lowest id, so the first commune's officers see most of them), and the
    first file of each unit this year (so every branch and commune has a file of its own to open)."""
    per_state = db.session.scalars(select(func.min(Application.id))
                                   .join(Campaign, Campaign.id == Application.campaign_id)
                                   .group_by(Campaign.title_code, Application.state))
    per_unit = db.session.scalars(select(func.min(Application.id)).where(Application.campaign_id.in_(_campaign_ids()))
                                  .group_by(Application.unit_id))
    return sorted(set(per_state) | set(per_unit))


def _campaign_ids() -> list[int]:
    year = db.session.scalar(select(func.max(Campaign.year)))
    return list(db.session.scalars(select(Campaign.id).where(Campaign.year == year).order_by(Campaign.id)))


def _decision_ids() -> list[int]:
    """One decision per unit that issued some (a commune's CDHT list, the province's XHT one)."""
    return sorted(db.session.scalars(select(func.min(Decision.id)).group_by(Decision.unit_id)))


def _unit_ids() -> list[int]:
    """The province, the first commune and its first branch."""
    province = _first(select(Unit.id).where(Unit.level == "province").order_by(Unit.id))
    commune = _first(select(Unit.id).where(Unit.level == "commune").order_by(Unit.id))
    branch = _first(select(Unit.id).where(Unit.level == "branch", Unit.parent_id == commune).order_by(Unit.id))
    return [u for u in (province, commune, branch) if u is not None]


def _province_ids() -> list[int]:
    return list(db.session.scalars(select(Unit.id).where(Unit.level == "province").order_by(Unit.id).limit(1)))


def _user_ids() -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.username == "xa1.chihoi1")))


def _evidence_ids() -> list[int]:
    """A file of a returned application (its evidence may be managed) and one of a recognised one."""
    out = []
    for state in ("returned", "recognised"):
        got = _first(select(Evidence.id).join(Application, Application.id == Evidence.application_id)
                     .where(Application.state == state).order_by(Evidence.id))
        if got is not None:
            out.append(got)
    return out


def _import_job_ids() -> list[int]:
    return list(db.session.scalars(select(Job.id).where(Job.kind == "import").order_by(Job.id).limit(1)))


def _title_codes() -> list[str]:
    return sorted(set(db.session.scalars(select(Campaign.title_code))))


def _cccds() -> list[str]:
    return [c for c in [_first(select(Application.citizen_id).where(Application.citizen_id.is_not(None))
                               .order_by(Application.id))] if c]


def _mass_actions() -> list[str]:
    from workflow.mass_actions import MASS_ACTIONS

    return list(MASS_ACTIONS)


def _collective_ids() -> list[int]:
    """The first household, clan and organisation of the demo (issue 14)."""
    from workflow.models import Collective

    return sorted(db.session.scalars(select(func.min(Collective.id)).group_by(Collective.kind)))


def _definition_ids() -> list[int]:
    """One procedure version (its dry-run page; the demo loads no second version, so the plan lists no file)."""
    from workflow.models import TitleDefinition

    return list(db.session.scalars(select(TitleDefinition.id).order_by(TitleDefinition.id).limit(1)))


def _counted_criteria() -> list[str]:
    """The counted criteria of the demo's rubrics (a clan's 1, a unit's 1.1, a village's 1)."""
    return ["1", "1.1"]


# parameter name -> the demo values it takes
FILL: dict[str, Callable[[], list]] = {
    "collective_id": _collective_ids, "definition_id": _definition_ids, "criterion": _counted_criteria,
    "application_id": _app_ids, "campaign_id": _campaign_ids, "decision_id": _decision_ids, "unit_id": _unit_ids,
    "province_id": _province_ids, "user_id": _user_ids, "evidence_id": _evidence_ids, "job_id": _import_job_ids,
    "code": _title_codes, "cccd": _cccds, "action": _mass_actions,
}


def _skip_reason(endpoint: str) -> str | None:
    if endpoint in SKIPPED:
        return SKIPPED[endpoint]
    for prefix, reason in SKIPPED_PREFIXES.items():
        if endpoint.startswith(prefix):
            return reason
    return None


def _get_rules(app: Flask) -> Iterable:
    return sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())), key=lambda r: r.rule)


def unlisted_rules(app: Flask) -> list[str]:
    """GET rules neither skipped nor fillable from FILL: the check fails on any (a page nobody looks at)."""
    return [f"{r.rule} ({r.endpoint})" for r in _get_rules(app)
            if _skip_reason(r.endpoint) is None and not set(r.arguments) <= set(FILL)]


def candidate_paths(app: Flask) -> list[str]:
    """Every GET page path filled with demo values (before asking who may open it)."""
    values = {name: fill() for name, fill in FILL.items()}
    paths: list[str] = []
    with app.test_request_context():
        from flask import url_for

        for rule in _get_rules(app):
            if _skip_reason(rule.endpoint) is not None or not set(rule.arguments) <= set(FILL):
                continue
            combos: list[dict] = [{}]
            for arg in sorted(rule.arguments):
                combos = [dict(c, **{arg: v}) for c in combos for v in values[arg]]
            for combo in combos:
                paths.append(url_for(rule.endpoint, **combo))
    return list(dict.fromkeys(paths))


def demo_usernames() -> list[str]:
    from workflow import demo

    return [u["username"] for u in demo.demo_users()]


def _csrf(client) -> dict[str, str]:
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return {"csrf_token": found.group(1)} if found else {}


def log_in(client, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log a test client in as a demo user (with the CSRF token when the app checks it)."""
    response = client.post("/login", data={"username": username, "password": password, **_csrf(client)})
    assert response.status_code == 302, f"{username} could not log in"


def pages_by_role(app: Flask) -> dict[str, list[str]]:
    """username -> the page paths that user can open (200, HTML), for every demo user."""
    paths = candidate_paths(app)
    out: dict[str, list[str]] = {}
    for username in demo_usernames():
        client = app.test_client()
        log_in(client, username)
        opened = []
        for path in paths:
            response = client.get(path)
            if response.status_code == 200 and response.mimetype == "text/html":
                opened.append(path)
        out[username] = opened
        db.session.remove()
    return out


def public_pages() -> list[str]:
    """Pages a visitor opens without logging in: the login page and a certificate's public check."""
    code = _first(select(Certificate.code).order_by(Certificate.id))
    return ["/login"] + ([f"/verify/{code}"] if code else [])
