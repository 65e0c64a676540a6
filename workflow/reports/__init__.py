"""Reports against the plan's targets (issue 11): indicators computed from the system's own records, the targets
and denominators they are measured against, the dashboards' figures and the annual report.

- targets.py: plans, targets and denominators (data, edited and imported by an admin, audited).
- indicators.py: who holds a title on a date (coverage, Xã học tập share, digital skills).
- flow.py: the campaign's flow (files per state, pass and return rates per stage, lateness, weekly progress).
- annual.py: the annual report (báo cáo kết quả xây dựng xã hội học tập) and the communes' closing of a year.

Every figure is a `Figure` that says what it counts and carries the filter of the list behind it: the queue
(web/views/review.queue) applies `list_clause(figure.list_name, figure.list_args)` and shows exactly the files the
figure counted. One place for each rule: the clause that selects the list is the clause the figure counts."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from ..definitions import data_file

# {list name: function(params) -> WHERE clause over Application}; each module registers its lists at import.
LISTS: dict[str, Callable[[Mapping[str, str]], ColumnElement[bool]]] = {}


def register_list(name: str):
    """Decorator: `fn(params)` returns the WHERE clause (over workflow.models.Application) of the list `name`;
    `params` are the query-string arguments of the queue's link (strings; refuse bad ones with InvalidInput)."""
    def wrap(fn):
        LISTS[name] = fn
        return fn
    return wrap


def list_clause(name: str, params: Mapping[str, str]) -> ColumnElement[bool] | None:
    """The WHERE clause of the list behind a figure, or None for an unknown list name."""
    from . import flow, indicators  # noqa: F401  (their lists register on import)

    fn = LISTS.get(name)
    return fn(params) if fn else None


def indicator_defs() -> dict[str, dict[str, Any]]:
    """The indicators as data (workflow/data/indicators.json): code -> definition."""
    return {d["code"]: d for d in data_file("indicators.json")["indicators"]}


@dataclass
class Figure:
    """One number on a dashboard or a report row. `value` is the percentage when there is a denominator.
    `list_name`/`list_args` reach the list behind it (None when the figure counts no files, e.g. a target)."""

    indicator: str
    unit_id: int
    year: int
    numerator: int
    denominator: int | None = None
    value: float | None = None
    target: float | None = None
    target_plan: str | None = None  # the plan's citation ("QĐ 677/QĐ-TTg ngày 3/6/2022")
    denominator_note: str | None = None  # where the denominator comes from (demo figures say so)
    list_name: str | None = None
    list_args: dict[str, Any] = field(default_factory=dict)


def percent(numerator: int, denominator: int | None) -> float | None:
    """numerator / denominator in percent, one decimal; None without a denominator."""
    if not denominator:
        return None
    return round(100.0 * numerator / denominator, 1)
