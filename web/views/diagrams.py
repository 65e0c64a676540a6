"""A page per title type: its workflow drawn as a picture (SVG made by the app: web/flowchart.py) from the machine
the engine runs, with the transitions table beside it for screen readers and print; the picture and the Mermaid
source (for developers) as downloads."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from workflow.db import db
from workflow.definitions import Definition, definition, mermaid
from workflow.models import TitleType
from workflow.vocabulary import CLOSED_STATES

from .. import flowchart
from ..i18n import ACTION_LABELS, ROLE_LABELS, STATE_LABELS, locale

bp = Blueprint("diagrams", __name__)


@bp.get("/titles")
@login_required
def titles():
    rows = [t for t in db.session.scalars(select(TitleType).order_by(TitleType.code)) if _defined(t.code)]
    return render_template("titles.html", rows=rows)


def _defined(code: str) -> bool:
    try:
        definition(code)
    except KeyError:
        return False
    return True


def _title(code: str) -> TitleType:
    title = db.session.get(TitleType, code.upper())
    if title is None or not _defined(title.code):
        abort(404)
    return title


def picture(title: TitleType, d: Definition, actors: dict) -> str:
    """The workflow as SVG in the reader's language: states and actions by their labels, who acts under each
    stage. Only the states a transition touches (or the stages) are drawn, so a title's chart holds its own."""
    edges = [(s.source, s.action, s.dest) for s in d.steps.values()]
    used = [s for s in d.states if s in d.stages or any(s in (a, b) for a, _, b in edges)]
    name = title.name_en if locale() == "en" else title.name_vi
    notes = {s: str(ROLE_LABELS.get(a.role, a.role)) for s, a in actors.items() if s in used}
    return flowchart.render(
        used, edges, state_label=lambda s: str(STATE_LABELS.get(s, s)),
        action_label=lambda a: str(ACTION_LABELS.get(a, a)), notes=notes, good=("recognised",),
        ends=tuple(s for s in CLOSED_STATES if s != "recognised"), title=_("Workflow: %(name)s", name=name),
        description=_("From %(first)s to %(last)s; returns are dashed, the states a file can leave to are on the "
                      "right. The table below lists every step.",
                      first=STATE_LABELS.get(d.stages[0], d.stages[0]), last=STATE_LABELS["recognised"]))


@bp.get("/titles/<code>/diagram")
@login_required
def diagram(code: str):
    title = _title(code)
    d = definition(title.code)
    steps = sorted(d.steps.values(), key=lambda s: (d.states.index(s.source), s.action))
    actors = _stage_actors(title.code)
    return render_template("diagram.html", title=title, d=d, steps=steps, actors=actors,
                           svg=picture(title, d, actors))


@bp.get("/titles/<code>/diagram.svg")
@login_required
def diagram_svg(code: str):
    title = _title(code)
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + picture(title, definition(title.code),
                                                              _stage_actors(title.code))
    return Response(body, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="quy-trinh-{title.code.lower()}.svg"'})


@bp.get("/titles/<code>/diagram.mmd")
@login_required
def diagram_mermaid(code: str):
    """The Mermaid source transitions generates from the same machine: for developers, as a download."""
    title = _title(code)
    return Response(mermaid(title.code), mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="quy-trinh-{title.code.lower()}.mmd"'})


def _stage_actors(code: str) -> dict:
    """Who acts at each stage today in the user's province (the approval chain is data, per period)."""
    from workflow import clock
    from workflow.chains import chain_for
    from workflow.errors import WorkflowError

    from .common import actor

    grants = actor().grants
    if not grants:
        return {}
    try:
        return chain_for(code, int(grants[0].unit_path.split("/", 2)[1]), clock.today()).stages
    except WorkflowError:
        return {}
