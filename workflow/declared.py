"""The inputs of the workflow itself, each declared once: a nomination, a score sheet, an action, a batch. The page
form, the JSON API and the spreadsheet import all validate through these models (with `workflow.admin.inputs.parse`),
so that a rule cannot differ between them. Values arrive already typed (the API's JSON, a form's fields, a
spreadsheet's cells read by workflow/imports); the models judge them strictly and name each bad field with a code
that has a message in Vietnamese and English."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from . import clock
from .admin.inputs import Input, InvalidInput, Name
from .inputs import MAX_INT, citizen_id_problem

Id = Annotated[StrictInt, Field(ge=1, le=MAX_INT)]
MAX_REASON = 2000


def _citizen_id(value: str) -> str:
    problem = citizen_id_problem(value)
    if problem == "citizen_id_ascii":
        raise PydanticCustomError("citizen_id_ascii", "digits other than 0-9")
    if problem:
        raise PydanticCustomError("citizen_id", "a citizen ID has exactly 12 digits")
    return value.strip()


def _born(value: date) -> date:
    if not date(1900, 1, 1) <= value <= clock.today():
        raise PydanticCustomError("date_range", "born 1900-01-01 to today")
    return value


CitizenId = Annotated[StrictStr, AfterValidator(_citizen_id)]
BirthDate = Annotated[date, AfterValidator(_born)]


class NominationInput(Input):
    """A nominee put forward in a campaign by a unit (CDHT: a person; XHT: the commune itself, no person fields)."""

    campaign: Id
    unit: Id
    full_name: Annotated[Name, Field(max_length=200)] | None = None
    date_of_birth: BirthDate | None = None
    citizen_id: CitizenId | None = None
    subject_group: Annotated[StrictStr, Field(max_length=16)] | None = None
    residence_unit: Id | None = None
    target_level: Annotated[StrictInt, Field(ge=1, le=9)] = 1

    def require_person(self) -> NominationInput:
        """A person's nomination needs a name, a date of birth and a citizen ID: refuse every one missing."""
        fields = ("full_name", "date_of_birth", "citizen_id")
        missing = {f: ("required", {}) for f in fields if getattr(self, f) is None}
        if missing:
            raise InvalidInput(missing)
        return self


Points = Annotated[StrictInt, Field(ge=0, le=MAX_INT)]


class ScoreSheetInput(Input):
    """Points per criterion code; the rubric pinned by the application judges codes and bounds (workflow.rubrics)."""

    scores: Annotated[dict[Annotated[StrictStr, Field(min_length=1, max_length=32)], Points], Field(min_length=1)]
    reason: Annotated[StrictStr, Field(max_length=MAX_REASON)] | None = None
    version: Id | None = None


class ActionInput(Input):
    """One workflow action on one file, with the version the person saw."""

    version: Id
    reason: Annotated[StrictStr, Field(max_length=MAX_REASON)] | None = None
