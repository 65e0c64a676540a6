"""A campaign's deadlines, judged in one place on the Vietnam date of the action (workflow.clock.today()).

Each stage answers to one deadline: nominations (submit_deadline) for the first stage, branch scoring or self-
assessment (scoring_deadline), appraisal (appraisal_deadline), final approval (decision_deadline). A stage without a
deadline of its own answers to the next one that is set, so the decision deadline bounds everything. After the
nominations deadline, or once the campaign is closed, the applicant side can neither open nor submit a nomination
(`require_nominations_open`); every later stage may still act, and is shown as late (`lateness_days`).

The functions take any object with the campaign's attribute names (an ORM Campaign or the engine's row), and accept
dates as SQLite's DBAPI returns them (ISO text)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .errors import GuardRefused

# Deadline columns in the order the stages meet them.
ORDER = ("submit_deadline", "scoring_deadline", "appraisal_deadline", "decision_deadline")
STAGE_DEADLINE = {
    "evidence_collection": "submit_deadline",
    "branch_scoring": "scoring_deadline", "self_assessment": "scoring_deadline",
    "commune_appraisal": "appraisal_deadline", "upper_appraisal": "appraisal_deadline",
    "final_approval": "decision_deadline",
}


def as_date(value: Any) -> date | None:
    """A date from a column value: a date, a datetime, ISO text (SQLite through the DBAPI) or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def dmy(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def stage_deadline(campaign: Any, state: str) -> date | None:
    """The deadline the stage answers to: its own, else the next one set; None for closed states."""
    column = STAGE_DEADLINE.get(state)
    if column is None:
        return None
    for name in ORDER[ORDER.index(column):]:
        found = as_date(getattr(campaign, name, None))
        if found is not None:
            return found
    return None


def is_closed(campaign: Any) -> bool:
    return getattr(campaign, "closed_at", None) not in (None, "")


def nominations_open(campaign: Any, on: date) -> bool:
    """Whether the applicant side may still open or submit a nomination on `on`."""
    deadline = as_date(campaign.submit_deadline)
    return not is_closed(campaign) and (deadline is None or on <= deadline)


def require_nominations_open(campaign: Any, on: date) -> None:
    """Refuse (422) a nomination opened or submitted after the deadline or in a closed campaign."""
    if is_closed(campaign):
        raise GuardRefused("campaign_closed")
    deadline = as_date(campaign.submit_deadline)
    if deadline is not None and on > deadline:
        raise GuardRefused("deadline_passed", deadline=dmy(deadline))


def lateness_days(campaign: Any, state: str, on: date) -> int:
    """Days past the deadline of the stage the file is at (0 when on time or without a deadline)."""
    deadline = stage_deadline(campaign, state)
    return max(0, (on - deadline).days) if deadline is not None else 0


def next_deadline(campaign: Any, on: date) -> tuple[str, date, int] | None:
    """The next deadline still ahead (or today): (column, date, days left); None once every one has passed."""
    for name in ORDER:
        found = as_date(getattr(campaign, name, None))
        if found is not None and found >= on:
            return name, found, (found - on).days
    return None


def passed_stages(campaign: Any, on: date, states: tuple[str, ...] | None = None) -> list[str]:
    """The stages (of `states`, by default every stage) whose deadline is already behind `on`."""
    return [s for s in (states or tuple(STAGE_DEADLINE))
            if (d := stage_deadline(campaign, s)) is not None and on > d]


def stage_due(campaign: Any, state: str, on: date) -> tuple[str, date, int] | None:
    """The deadline a file at `state` answers to, as a warning needs it: (column, date, days left), the days
    negative once it has passed; None for a closed state, a closed campaign or a stage without any deadline."""
    column = STAGE_DEADLINE.get(state)
    if column is None or is_closed(campaign):
        return None
    for name in ORDER[ORDER.index(column):]:
        found = as_date(getattr(campaign, name, None))
        if found is not None:
            return name, found, (found - on).days
    return None
