"""The inputs of the workflow itself, each declared once: a nomination, a score sheet, an action, a batch, a token
request. The page form, the JSON API and the spreadsheet import all validate through these models (with
`workflow.admin.inputs.parse`), and the API's OpenAPI document takes its request schemas from them (web/api/openapi.py,
via spectree), so that a rule cannot differ between them.

Values arrive already typed: the API's JSON as it is, a form's fields through `typed_form` (dd/mm/yyyy or YYYY-MM-DD
dates, integers through workflow.inputs.parse_int), a spreadsheet's cells through workflow/imports/cells.py. The models
judge them strictly, as the JSON API always did ("5" and true are not integers), except dates: a date is a string as
dd/mm/yyyy or YYYY-MM-DD (workflow.inputs.parse_date, the same rule everywhere) or a date, and they name each bad
field with a code that has a message in Vietnamese and English (workflow/admin/inputs.py FIELD_MESSAGES).
Unknown fields are ignored, as the API always did: clients that send more keep working."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from . import clock
from .admin.campaigns import CampaignPatch  # issue 9, section 4 (second pass): CampaignChange
from .admin.inputs import Input, InvalidInput, Name
from .inputs import MAX_INT, citizen_id_problem, parse_date, parse_int

MAX_REASON = 2000
MAX_BATCH = 5000
MAX_NAME = 200


class Body(Input):
    """Base of the workflow's declared inputs: surrounding whitespace stripped; unknown fields ignored (the JSON
    API's contract since version 1: a client sending an extra key is not refused)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


# ---------------------------------------------------------------- value types

def whole(minimum: int = 1, maximum: int = MAX_INT) -> Any:
    """An integer as JSON has it: a number without fraction, not a boolean, not a string of digits; within bounds
    (by default a positive 32-bit number: ids and versions are 32-bit columns, a larger number names nothing)."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PydanticCustomError("not_integer", "not an integer")
        if not minimum <= value <= maximum:
            raise PydanticCustomError("range", "out of range", {"min": minimum, "max": maximum})
        return value

    return Annotated[int, PlainValidator(check), WithJsonSchema({"type": "integer", "minimum": minimum,
                                                                  "maximum": maximum})]


Id = whole()


def _any_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("not_integer", "not an integer")
    return value


AnyInt = Annotated[int, PlainValidator(_any_int), WithJsonSchema({"type": "integer"})]  # the rubric judges bounds


def _clean(value: str, *, multiline: bool) -> bool:
    """No control characters (NUL is refused by PostgreSQL, the others corrupt names and logs) and no lone
    surrogates; free text may keep line breaks and tabs."""
    allowed = "\n\r\t" if multiline else ""
    return not any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value)


def text(max_len: int, *, required: bool = False, strip: bool = True, multiline: bool = False,
         any_char: bool = False, pattern: str | None = None) -> Any:
    """A string: stripped (unless `strip` is off), not empty when `required`, at most `max_len` characters, no
    control characters (`any_char` skips that check: a password is hashed, never stored or shown)."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("string", "not a string")
        if strip:
            value = value.strip()
        if required and not value:
            raise PydanticCustomError("empty", "empty")
        if len(value) > max_len:
            raise PydanticCustomError("too_long", "too long", {"max": max_len})
        if not any_char and not _clean(value, multiline=multiline):
            raise PydanticCustomError("control_chars", "control characters")
        return value

    schema: dict[str, Any] = {"type": "string", "maxLength": max_len}
    if required:
        schema["minLength"] = 1
    if pattern:
        schema["pattern"] = pattern
    return Annotated[str, PlainValidator(check), WithJsonSchema(schema)]


def _citizen_id(value: str) -> str:
    problem = citizen_id_problem(value)
    if problem == "citizen_id_ascii":
        raise PydanticCustomError("citizen_id_ascii", "digits other than 0-9")
    if problem:
        raise PydanticCustomError("citizen_id", "a citizen ID has exactly 12 digits")
    return value.strip()


def _day(value: Any) -> date:
    """A date object (a spreadsheet cell), or a string as dd/mm/yyyy (what the pages show and officers type) or
    YYYY-MM-DD (what the API answers): one rule, workflow.inputs.parse_date, for the page, the API and the import."""
    day = parse_date(value)
    if day is None:
        raise PydanticCustomError("day", "not a date as dd/mm/yyyy or YYYY-MM-DD")
    return day


def _born(value: date) -> date:
    if not date(1900, 1, 1) <= value <= clock.today():
        raise PydanticCustomError("date_range", "born 1900-01-01 to today")
    return value


CitizenId = Annotated[text(12, pattern="^[0-9]{12}$"), AfterValidator(_citizen_id)]
BirthDate = Annotated[date, BeforeValidator(_day), AfterValidator(_born)]
PersonName = Annotated[Name, Field(max_length=MAX_NAME)]
Reason = text(MAX_REASON, multiline=True)
SubjectGroup = text(16)
Level = whole(1, 9)
Username = text(80, required=True)
Password = text(1024, required=True, strip=False, any_char=True)

PERSON_FIELDS = ("full_name", "date_of_birth", "citizen_id")


# ---------------------------------------------------------------- the inputs

class NominationInput(Body):
    """A nominee put forward in a campaign by a unit (CDHT: a person; XHT: the commune itself, no person fields;
    the other titles: a household, clan, organisation or village, named by `collective` or `subject_unit`)."""

    campaign: Annotated[Id, Field(description="A campaign of the caller's province.")]
    unit: Annotated[Id, Field(description="CDHT: the branch; XHT: the commune.")]
    full_name: Annotated[PersonName | None, Field(description="Required for CDHT (a person).")] = None
    date_of_birth: Annotated[BirthDate | None, Field(description="dd/mm/yyyy or YYYY-MM-DD; required for CDHT.")] = None
    citizen_id: Annotated[CitizenId | None, Field(description="12 digits; required for CDHT.")] = None
    subject_group: Annotated[SubjectGroup | None, Field(description="The rubric framework (CDHT: 1, 2 or 3).")] = None
    residence_unit: Id | None = None
    target_level: Annotated[Level, Field(description="The level aimed at (default 1).")] = 1
    collective: Annotated[Id | None, Field(description="GDHT, DHHT, DVHT: the household, clan or organisation "
                                                       "(GET /api/v1/collectives).")] = None
    subject_unit: Annotated[Id | None, Field(description="CDHT_THON: the village of the commune.")] = None

    def require_person(self) -> NominationInput:
        """A person's nomination needs a name, a date of birth and a citizen ID: refuse every one missing."""
        missing = person_missing(self.model_dump(include=set(PERSON_FIELDS)))
        if missing:
            raise InvalidInput(missing)
        return self


def person_missing(values: Mapping[str, Any], already: Iterable[str] = ()) -> dict[str, tuple[str, dict]]:
    """The person fields not given (None), leaving out those already refused for another reason."""
    skip = set(already)
    return {f: ("required", {}) for f in PERSON_FIELDS if values.get(f) is None and f not in skip}


def _score_object(value: Any) -> Any:
    if not isinstance(value, dict) or not value:
        raise PydanticCustomError("object", "an object {criterion code: points}")
    return value


class ScoreSheetInput(Body):
    """Points per criterion code; the rubric pinned by the application judges codes and bounds (workflow.rubrics).
    Codes not given keep their value."""

    scores: Annotated[dict[str, AnyInt], BeforeValidator(_score_object), Field(
        json_schema_extra={"minProperties": 1}, description="Criterion code -> points (0..max; 0/1 for met/not-met).")]
    reason: Annotated[Reason | None, Field(
        description="Required when an appraiser adjusts scores at an appraisal stage.")] = None
    version: Annotated[Id | None, Field(description="The version you saw; a stale one answers 409.")] = None


class ActionInput(Body):
    """One workflow action on one file, with the version the person saw."""

    version: Annotated[Id, Field(description="The version you saw; a stale one answers 409.")]
    reason: Annotated[Reason | None, Field(
        description="Required for return (what is missing), reject, withdraw and revoke.")] = None


def _ids(value: Any) -> Any:
    if (not isinstance(value, list) or not 0 < len(value) <= MAX_BATCH
            or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_INT for i in value)):
        raise PydanticCustomError("list_of_ids", "a list of positive integers", {"max": MAX_BATCH})
    return value


class BatchInput(Body):
    """One action over many files: the ids in the order the results come back."""

    ids: Annotated[list[Id], BeforeValidator(_ids), Field(min_length=1, max_length=MAX_BATCH)]
    reason: Reason | None = None


class TokenInput(Body):
    """A username and password exchanged for a bearer token (the password is kept exactly as typed)."""

    username: Username
    password: Password


# ---------------------------------------------------------------- page forms

def _form_date(raw: str) -> date | str:
    day = parse_date(raw)
    return raw.strip() if day is None else day  # not a date: the model names it (day), as for the API


def typed_form(form: Mapping[str, str], *, ints: Iterable[str] = (), dates: Iterable[str] = (),
               rename: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A page form's strings as the values a declared input takes: blanks left out (a required field is then
    "required"), integers through workflow.inputs.parse_int (ASCII digits only; other text stays text and is
    refused by the model as not_integer), dates as dd/mm/yyyy or YYYY-MM-DD. `rename` maps form names to fields."""
    ints, dates, rename = set(ints), set(dates), dict(rename or {})
    out: dict[str, Any] = {}
    for key, raw in form.items():
        field = rename.get(key, key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if field in ints:
            number = parse_int(raw, minimum=-(2**63), maximum=2**63 - 1)
            out[field] = raw if number is None else number
        elif field in dates:
            out[field] = _form_date(raw)
        else:
            out[field] = raw
    return out


# ---------------------------------------------------------------- issue 9, section 4 (second pass): the API's
# remaining JSON bodies. PATCH /campaigns/<id> takes the admin page's CampaignPatch plus "closed": true (close the
# campaign); DELETE .../evidence/<id> may carry {"version"} (or ?version= / a form field).

def _close_only(value: Any) -> bool | None:
    if value is None or value is True:
        return value
    raise PydanticCustomError("choice", "only true closes", {"expected": "true"})


class CampaignChange(CampaignPatch):
    """What PATCH /api/v1/campaigns/<id> takes: the page's changes (CampaignPatch) and `closed`."""

    closed: Annotated[bool | None, PlainValidator(_close_only), WithJsonSchema(
        {"anyOf": [{"const": True}, {"type": "null"}]}),
        Field(description="true closes the campaign: no more nominations.")] = None

    def changes(self) -> CampaignPatch:
        """The changes without `closed`, as workflow.admin.campaigns.update_campaign takes them (fields not
        sent stay unset: they are not changed)."""
        sent = self.model_dump(include=self.model_fields_set - {"closed"})
        return CampaignPatch.model_validate(sent)


class VersionInput(Body):
    """The version of an application the person saw, alone (removing an evidence file)."""

    version: Annotated[Id, Field(description="The version you saw; a stale one answers 409.")]
