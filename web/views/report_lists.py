"""The list behind a report figure, in the work queue (issue 11): `/applications?list=<name>&<params>` applies the
clause the figure counted (workflow.reports.list_clause), so a figure links to exactly the files it counts. The
queue's own filters (unit, campaign, state, search) still apply on top; paging keeps every argument."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask import abort, make_response, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import ColumnElement, Select, text

from workflow import queries
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.models import Application
from workflow.reports import indicator_defs, list_clause
from workflow.reports.indicators import list_indicator

from ..errors import page as error_page
from ..i18n import locale

QUEUE_ARGS = ("state", "unit", "campaign", "q", "per_page")  # the queue's own filters (kept when a list is removed)
PAGING = ("before", "after", "page")
# Lists of other parts (workflow/reports/flow.py) without an indicator of indicators.json: what the banner calls them.
OTHER_LISTS = {
    "funnel": lazy_gettext("Files of the campaign in one state"),
    "stage": lazy_gettext("Files by their outcome at a stage"),
    "late": lazy_gettext("Late files"),
    "recognised_by": lazy_gettext("Files recognised up to a day"),
    "nominated": lazy_gettext("Files nominated up to a day"),
}


@dataclass
class ReportList:
    """A report's list applied to the queue: its clause, what the banner says and the link that removes it."""

    name: str
    clause: ColumnElement[bool]
    title: str
    on: date | None
    clear_url: str
    keep: dict[str, str] = field(default_factory=dict)  # the list's arguments, kept by the filter form


def _day(params: Mapping[str, str]) -> date | None:
    for key in ("on", "until"):
        try:
            return date.fromisoformat(str(params.get(key)))
        except ValueError:
            continue
    return None


def report_list(args: Mapping[str, str]) -> ReportList | None:
    """The list named by ?list=, or None without one. An unknown name is not found (404); bad parameters get the
    error page (400) saying, in the reader's language, which parameter is wrong and why."""
    name = args.get("list")
    if not name:
        return None
    params = args.to_dict() if hasattr(args, "to_dict") else dict(args)  # a query string: the first of each
    try:
        clause = list_clause(name, params)
    except InvalidInput as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in exc.field_messages(locale()).items())
        abort(make_response(error_page(400, _("The list's parameters are not valid: %(problems)s",
                                              problems=problems))))
    if clause is None:
        abort(404)
    code = list_indicator(name, params)
    defn = indicator_defs().get(code or "", {})
    names = defn.get("name") or {}
    title = names.get(locale(), names.get("vi")) if names else str(OTHER_LISTS.get(name, name))
    keep = {k: v for k, v in params.items() if k not in QUEUE_ARGS and k not in PAGING}
    clear = {k: v for k, v in params.items() if k in QUEUE_ARGS}
    return ReportList(name, clause, title, _day(params), url_for("review.queue", **clear), keep)


def capped_list_count(stmt: Select) -> tuple[int, bool]:
    """(n, capped): how many files the queue's statement selects, exactly up to queries.SEARCH_CAP (1,000, as a
    search: counting 10,000 of a province's holders one by one costs a quarter of a second).

    On PostgreSQL the rest of the request's transaction plans every statement with its values: after five runs
    on a connection a prepared statement may get the generic plan, which does not know how many units a path
    prefix holds nor how wide the list's window is (measured: the province's list page went from 0.13 s to 0.45 s
    from the eleventh run on)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    return queries.capped_count(stmt.with_only_columns(Application.id).order_by(Application.id.desc()),
                                queries.SEARCH_CAP)
