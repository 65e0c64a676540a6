"""Time in one place: timestamps in UTC, calendar dates (chain validity, deadlines) in Vietnam's time zone."""
from datetime import UTC, date, datetime, timedelta, timezone

VN = timezone(timedelta(hours=7), "ICT")


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(VN).date()
