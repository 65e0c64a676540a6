"""The browser's own widgets in the page's language (issue 13, finding 1): dates shown and typed as dd/mm/yyyy in
text fields (Chromium's date picker follows the browser's language, so an English browser showed 1 December as
"12/01/2026"), and the messages a browser shows for a required, too long or badly shaped field, which app.js
sets from the texts below (the server still judges every field; these only replace the browser's English).

The templates' side is in web/templates/_macros.html (`date_input`, `file_input`, `validation_messages`)."""
from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import lazy_gettext as _l

from workflow.inputs import parse_date

# What app.js puts in a field's bubble, by the failed constraint (ValidityState); {n} is the bound.
VALIDATION_MESSAGES = {
    "required": _l("Please fill in this field."),
    "required-select": _l("Please choose an item in the list."),
    "required-checkbox": _l("Please tick this box to go on."),
    "required-file": _l("Please choose a file."),
    "required-radio": _l("Please choose one of these options."),
    "type-email": _l("Please enter an e-mail address, such as ten@example.vn."),
    "type-url": _l("Please enter a web address, such as https://example.vn."),
    "type-number": _l("Please enter a number."),
    "pattern": _l("Please match the requested format."),
    "date": _l("Please enter a real date as dd/mm/yyyy, for example 01/12/2026."),
    "too-long": _l("Please use at most {n} characters."),
    "too-short": _l("Please use at least {n} characters."),
    "min": _l("The value must be {n} or more."),
    "max": _l("The value must be {n} or less."),
    "step": _l("Please enter a valid value."),
}


def day_text(value: object) -> str:
    """A date as a form field shows it: dd/mm/yyyy for a date or a YYYY-MM-DD string, other text (what the officer
    typed, refused) as it is, so that a refused value comes back for correcting."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else parse_date(value)
    return day.strftime("%d/%m/%Y") if day is not None else str(value).strip()


def is_day(value: object) -> bool:
    """Whether a typed value is a day the server reads (the `day` test: a field's error shown beside it)."""
    return parse_date(value) is not None


def init_app(app: Flask) -> None:
    app.jinja_env.filters["day_text"] = day_text
    app.jinja_env.tests["day"] = is_day
    app.jinja_env.globals["VALIDATION_MESSAGES"] = VALIDATION_MESSAGES
