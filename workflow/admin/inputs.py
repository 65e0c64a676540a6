"""Each administrative input is declared once, as a pydantic model, and every interface validates through
`parse`: the page form, the JSON API and the spreadsheet imports. A refusal (InvalidInput) names every bad field
with a short code, and each code has a message in Vietnamese and English, so a person is told what is wrong
wherever they typed it. Names go through workflow.inputs (NFC, no format characters or stacked marks)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import WorkflowError
from ..inputs import text_problem

T = TypeVar("T", bound=BaseModel)

FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Bắt buộc.", "Required."),
    "string": ("Phải là chuỗi ký tự.", "Must be a string."),
    "integer": ("Phải là số nguyên (chữ số 0-9).", "Must be a whole number (digits 0-9)."),
    "number": ("Phải là một số.", "Must be a number."),
    "boolean": ("Phải là đúng hoặc sai.", "Must be true or false."),
    "date": ("Phải là ngày hợp lệ (dd/mm/yyyy hoặc YYYY-MM-DD).", "Must be a valid date (dd/mm/yyyy or YYYY-MM-DD)."),
    "empty": ("Không được để trống.", "Must not be empty."),
    "too_long": ("Quá dài (tối đa {max} ký tự).", "Too long (at most {max} characters)."),
    "too_small": ("Phải từ {min} trở lên.", "Must be at least {min}."),
    "too_large": ("Phải nhỏ hơn hoặc bằng {max}.", "Must be at most {max}."),
    "choice": ("Giá trị không hợp lệ; chọn một trong: {choices}.", "Not a valid value; choose one of: {choices}."),
    "name_chars": ("Có ký tự không được phép: ký tự định dạng ẩn (như ký tự đảo chiều hay khoảng trắng độ rộng 0) "
                   "hoặc quá nhiều dấu trên một chữ.",
                   "Contains characters that are not allowed: hidden format characters (such as direction "
                   "overrides or zero-width spaces) or too many accent marks on one letter."),
    "email": ("Địa chỉ e-mail không hợp lệ.", "Not a valid e-mail address."),
    "unknown_field": ("Trường này không được nhận.", "This field is not accepted."),
    "invalid": ("Giá trị không hợp lệ.", "Not a valid value."),
    # workflow/declared.py: a nominee's own fields
    "date_range": ("Ngày sinh phải từ 01/01/1900 đến hôm nay.", "The date of birth must be 01/01/1900 to today."),
    "citizen_id": ("Số CCCD phải gồm đúng 12 chữ số.", "A citizen ID has exactly 12 digits."),
    "citizen_id_ascii": ("Số CCCD chỉ được gồm các chữ số 0-9 (không dùng chữ số toàn độ rộng, chữ số Ả Rập "
                         "hay chữ số của bảng chữ khác).",
                         "A citizen ID takes the digits 0-9 only (not full-width, Arabic-Indic or other digits)."),
    # One table (issue 9, section 4): the JSON API's field codes, formerly web/api/errors.py FIELD_MESSAGES.
    # A JSON value of the wrong type is told apart from text that is not a number or a date (pages, imports).
    "not_integer": ("Phải là số nguyên.", "Must be an integer."),
    "iso_date": ("Phải là ngày dạng YYYY-MM-DD.", "Must be a date as YYYY-MM-DD."),
    "day": ("Phải là ngày có thật, dạng dd/mm/yyyy (ví dụ 01/12/2026) hoặc YYYY-MM-DD.",
            "Must be a real date, as dd/mm/yyyy (for example 01/12/2026) or YYYY-MM-DD."),
    "range": ("Phải từ {min} đến {max}.", "Must be from {min} to {max}."),
    "control_chars": ("Có ký tự điều khiển hoặc ký tự không hợp lệ.", "Contains control or invalid characters."),
    "object": ("Phải là một đối tượng {{mã tiêu chí: điểm}}.", "Must be an object {{criterion code: points}}."),
    "list_of_ids": ("Phải là danh sách số nguyên dương (1 đến {max} phần tử).",
                    "Must be a list of positive integers (1 to {max} items)."),
    "unknown_campaign": ("Không có đợt đánh giá này (hoặc bạn không được xem).",
                         "No such campaign (or you may not see it)."),
    "unknown_unit": ("Không có đơn vị này.", "No such unit."),
    "unit_outside_campaign": ("Đơn vị không thuộc tỉnh của đợt đánh giá.",
                              "The unit is not in the campaign's province."),
    "file": ("Cần gửi một tệp trong trường «file».", "Send one file in the field «file»."),
}

# pydantic's error types -> our codes (and the context keys their messages use)
_PYDANTIC: dict[str, str] = {
    "missing": "required", "string_type": "string", "int_parsing": "integer", "int_type": "integer",
    "int_from_float": "integer", "float_parsing": "number", "float_type": "number", "bool_parsing": "boolean",
    "bool_type": "boolean", "date_parsing": "date", "date_type": "date", "date_from_datetime_parsing": "date",
    "string_too_short": "empty", "string_too_long": "too_long", "greater_than_equal": "too_small",
    "less_than_equal": "too_large", "literal_error": "choice", "enum": "choice", "extra_forbidden": "unknown_field",
}


class InvalidInput(WorkflowError):
    """422 with a code per field; `field_messages` gives what to show next to each field."""

    status = 422

    def __init__(self, fields: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
        self.fields = dict(fields)
        super().__init__("invalid_input", fields={k: code for k, (code, _p) in self.fields.items()})

    def field_messages(self, locale: str = "vi") -> dict[str, str]:
        en = locale.startswith("en")
        out = {}
        for field, (code, params) in self.fields.items():
            vi_text, en_text = FIELD_MESSAGES.get(code, FIELD_MESSAGES["invalid"])
            out[field] = (en_text if en else vi_text).format(**params)
        return out


class Input(BaseModel):
    """Base of every declared input: unknown fields refused, surrounding whitespace stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _name(value: str) -> str:
    import unicodedata

    value = " ".join(unicodedata.normalize("NFC", value).split())
    if text_problem(value):
        raise PydanticCustomError("name_chars", "name has characters that are not allowed")
    if not value:
        raise PydanticCustomError("string_too_short", "empty")
    return value


Name = Annotated[str, AfterValidator(_name)]  # a person's or a unit's name, as stored


def parse(model: type[T], data: Mapping[str, Any]) -> T:
    """Validate `data` against `model`; every problem at once, as InvalidInput."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        fields: dict[str, tuple[str, dict[str, Any]]] = {}
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "_"
            kind = error["type"]
            code = _PYDANTIC.get(kind, kind if kind in FIELD_MESSAGES else "invalid")
            ctx = error.get("ctx") or {}
            params = {"max": ctx.get("max", ctx.get("max_length", ctx.get("le", ""))),
                      "min": ctx.get("min", ctx.get("ge", "")), "choices": ctx.get("expected", "")}
            fields.setdefault(field, (code, params))
        raise InvalidInput(fields) from None
