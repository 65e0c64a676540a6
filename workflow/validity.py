"""How long a recognition stays in force: the one rule, read from the title's data (workflow/data/titles.json
"validity": CDHT 1 year [?], XHT 3 years, Thông tư 25/2023). A recognition of day r with N years is in force from r
through the day before the same date N years later (recognised 10/12/2024 with 3 years: through 09/12/2027); the
reports' rule of holding (workflow/reports/indicators.py), the records (workflow/records.py) and the papers read it
from here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from .definitions import data_file


@cache
def titles() -> dict[str, dict[str, Any]]:
    return {t["code"]: t for t in data_file("titles.json")["titles"]}


def rule(title_code: str) -> dict[str, Any]:
    """The title's validity data ({} when it states none)."""
    return titles()[title_code].get("validity") or {}


def validity_years(title_code: str) -> int:
    """How many years a recognition stays in force (1 when a title states none)."""
    return int(rule(title_code).get("years") or 1)


def shift_years(day: date, years: int) -> date:
    """The same calendar date `years` later (or earlier, negative); 29/2 becomes 28/2 in a year without one."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def valid_until(title_code: str, recognised_on: date) -> date:
    """The last day the recognition of `recognised_on` is in force: the day before its anniversary (29/2 has its
    anniversary on 1/3 in a year without one, so it is in force through 28/2)."""
    years = validity_years(title_code)
    try:
        anniversary = recognised_on.replace(year=recognised_on.year + years)
    except ValueError:
        anniversary = date(recognised_on.year + years, 3, 1)
    return anniversary - timedelta(days=1)


def in_force_since(title_code: str, on: date) -> date:
    """The earliest recognition day still in force on `on` (the reports' window: recognised r <= on, r >= this)."""
    years = validity_years(title_code)
    try:
        earliest = on.replace(year=on.year - years)
    except ValueError:  # on 29/2: a year back is 28/2, and 28/2 + N years is in force through 27/2 or 28/2
        earliest = date(on.year - years, 2, 28)
    return earliest + timedelta(days=1)


def in_force(title_code: str, recognised_on: date, on: date) -> bool:
    return recognised_on <= on <= valid_until(title_code, recognised_on)


# Issue 12 §3 (part G): the level rule, the expiry list and the reminder's window, as data of the title
# (titles.json "validity": "levels" {"2": {"requires_level": 1, "after_months": 12}}, "remind_days_before": 90).

def add_months(day: date, months: int) -> date:
    """The same day `months` later; a day the month lacks becomes its last (31/1 + 1 month: 28/2 or 29/2)."""
    import calendar

    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def level_rule(title_code: str, level: int) -> dict[str, Any] | None:
    """What a level requires ({"requires_level", "after_months"}), or None when it requires nothing."""
    found = (rule(title_code).get("levels") or {}).get(str(level))
    return found if found and found.get("requires_level") else None


def remind_days(title_code: str) -> int | None:
    """How many days before expiry the holder is reminded (None: the title reminds no one)."""
    days = rule(title_code).get("remind_days_before")
    return int(days) if days else None


def renewable(title_code: str) -> bool:
    return bool(rule(title_code).get("renewable"))


def vn_day(moment) -> date:
    """The Vietnam calendar day of a stored timestamp (recognised_at); a naive one (SQLite keeps no zone) is UTC, as
    stored, so a recognition at 23:00 UTC falls on the next Vietnamese day on either database."""
    from datetime import UTC

    from . import clock

    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(clock.VN).date()


def prior_recognitions(title_code: str, subject_key: str, min_level: int) -> list[date]:
    """The days the subject was recognised in this title at `min_level` or above (revoked ones excluded), oldest
    first: the history a higher level requires."""
    from sqlalchemy import select

    from .db import db
    from .models import Application, Campaign

    stamps = db.session.scalars(
        select(Application.recognised_at).join(Campaign, Campaign.id == Application.campaign_id)
        .where(Campaign.title_code == title_code, Application.subject_key == subject_key,
               Application.state == "recognised", Application.target_level >= min_level)
        .order_by(Application.recognised_at))
    return [vn_day(s) for s in stamps if s is not None]


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """A level's requirement as judged for one subject: the lower level's first recognition (None: never) and
    the day the higher level becomes possible. Computed before the machine runs (guards read no database)."""

    level: int
    requires_level: int
    after_months: int
    recognised_on: date | None

    @property
    def possible_from(self) -> date | None:
        return add_months(self.recognised_on, self.after_months) if self.recognised_on else None

    def check(self, on: date) -> None:
        """Raise the refusal when the level is not yet possible on `on`."""
        from .errors import GuardRefused

        if self.recognised_on is None:
            raise GuardRefused("level2_no_level1", level=self.level, required=self.requires_level)
        if on < self.possible_from:
            raise GuardRefused("level2_too_soon", level=self.level, required=self.requires_level,
                               months=self.after_months, since=self.recognised_on.strftime("%d/%m/%Y"),
                               from_day=self.possible_from.strftime("%d/%m/%Y"))


def prerequisite(title_code: str, level: int, subject_key: str) -> Prerequisite | None:
    """The requirement of `level` for this subject, with its history read; None when the level requires none."""
    found = level_rule(title_code, level)
    if found is None:
        return None
    required = int(found["requires_level"])
    days = prior_recognitions(title_code, subject_key, required)
    return Prerequisite(level, required, int(found.get("after_months") or 0), days[0] if days else None)


def require_level(title_code: str, level: int, subject_key: str, on: date) -> None:
    """Refuse a file of `level` for this subject on `on` when the title's level rule is not met (nomination)."""
    found = prerequisite(title_code, level, subject_key)
    if found is not None:
        found.check(on)


def expiring_window(title_code: str, year: int) -> tuple[date, date]:
    """[first, last] recognition days whose recognition expires (its last day in force) within `year`."""
    years = validity_years(title_code)
    first = shift_years(date(year, 1, 1), -years) + timedelta(days=1)
    last = shift_years(date(year + 1, 1, 1), -years)
    return first, last


def expiring_query(actor: Any, title_code: str, year: int, unit_id: int | None = None):
    """The recognitions of `title_code` in the actor's units (or `unit_id`'s subtree) whose last day in force
    falls in `year`, soonest first: recognised (not revoked) with a recognition day in `expiring_window`, read as
    a range of recognised_at (Vietnam days) along ix_applications_holders."""
    from datetime import datetime, time

    from sqlalchemy import select

    from . import clock, queries
    from .models import Application, Campaign

    first, last = expiring_window(title_code, year)
    since = datetime.combine(first, time(0), tzinfo=clock.VN)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=clock.VN)
    campaigns = select(Campaign.id).where(Campaign.title_code == title_code)
    return (queries.applications(actor, state="recognised", unit_id=unit_id)
            .where(Application.campaign_id.in_(campaigns), Application.recognised_at >= since,
                   Application.recognised_at < until)
            .order_by(None).order_by(Application.recognised_at, Application.id))
