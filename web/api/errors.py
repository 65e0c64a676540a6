"""JSON errors for the API: one shape, {"error": {"code", "message", ...}}, with the message in the caller's language.

Engine refusals (WorkflowError) and upload refusals (UploadRejected) keep their own codes and bilingual messages;
this module adds the HTTP-level ones (401, 400, 404, 405, 413, 422 field errors) so a client never sees HTML."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, default_exceptions

from web.uploads import UploadRejected
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.errors import WorkflowError

LOCALES = ("vi", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # code: (Vietnamese, English)
    "unauthorized": ("Cần đăng nhập: gửi tiêu đề Authorization: Bearer <token>.",
                     "Authentication required: send an Authorization: Bearer <token> header."),
    "invalid_token": ("Mã truy cập không hợp lệ hoặc đã hết hạn. Vui lòng lấy mã mới.",
                      "The access token is invalid or has expired. Request a new one."),
    "invalid_credentials": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    "too_many_attempts": ("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {retry_after} giây.",
                          "Too many failed logins. Try again in {retry_after} seconds."),
    "bad_json": ("Nội dung yêu cầu không phải JSON hợp lệ.", "The request body is not valid JSON."),
    "bad_body": ("Nội dung yêu cầu phải là một đối tượng JSON.", "The request body must be a JSON object."),
    "invalid_input": ("Dữ liệu không hợp lệ, xem chi tiết từng trường.",
                      "The input is not valid; see the errors per field."),
    "forbidden": ("Bạn không có quyền thực hiện thao tác này.", "You may not do this."),
    "route_not_found": ("Không có địa chỉ này trong API.", "No such address in the API."),
    "campaign_not_found": ("Không tìm thấy đợt đánh giá.", "Campaign not found."),
    "evidence_not_found": ("Không tìm thấy minh chứng.", "Evidence not found."),
    "unknown_action": ("Không có thao tác «{action}».", "There is no action «{action}»."),
    "method_not_allowed": ("Địa chỉ này không nhận phương thức {method}.", "This address does not accept {method}."),
    "payload_too_large": ("Tệp vượt quá {limit_mb} MB.", "The file exceeds {limit_mb} MB."),
    "http_error": ("Yêu cầu không hợp lệ ({status}).", "The request failed ({status})."),
}

# Field-level messages for 422 "invalid_input".
FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Bắt buộc.", "Required."),
    "integer": ("Phải là số nguyên.", "Must be an integer."),
    "string": ("Phải là chuỗi ký tự.", "Must be a string."),
    "empty": ("Không được để trống.", "Must not be empty."),
    "too_long": ("Quá dài (tối đa {max} ký tự).", "Too long (at most {max} characters)."),
    "control_chars": ("Có ký tự điều khiển hoặc ký tự không hợp lệ.", "Contains control or invalid characters."),
    "date": ("Phải là ngày dạng YYYY-MM-DD.", "Must be a date as YYYY-MM-DD."),
    "date_range": ("Ngày sinh phải từ 1900-01-01 đến hôm nay.", "The date of birth must be 1900-01-01 to today."),
    "citizen_id": ("Số CCCD phải gồm đúng 12 chữ số.", "A citizen ID has exactly 12 digits."),
    "citizen_id_ascii": ("Số CCCD chỉ được gồm các chữ số 0-9 (không dùng chữ số toàn độ rộng, chữ số Ả Rập "
                         "hay chữ số của bảng chữ khác).",
                         "A citizen ID takes the digits 0-9 only (not full-width, Arabic-Indic or other digits)."),
    "name_chars": ("Có ký tự không được phép: ký tự định dạng ẩn (như ký tự đảo chiều hay khoảng trắng độ rộng 0) "
                   "hoặc quá nhiều dấu trên một chữ.",
                   "Contains characters that are not allowed: hidden format characters (such as direction "
                   "overrides or zero-width spaces) or too many accent marks on one letter."),
    "object": ("Phải là một đối tượng {{mã tiêu chí: điểm}}.", "Must be an object {{criterion code: points}}."),
    "list_of_ids": ("Phải là danh sách số nguyên dương (1 đến {max} phần tử).",
                    "Must be a list of positive integers (1 to {max} items)."),
    "unknown_campaign": ("Không có đợt đánh giá này (hoặc bạn không được xem).",
                         "No such campaign (or you may not see it)."),
    "unknown_unit": ("Không có đơn vị này.", "No such unit."),
    "unit_outside_campaign": ("Đơn vị không thuộc tỉnh của đợt đánh giá.",
                              "The unit is not in the campaign's province."),
    "choice": ("Giá trị không hợp lệ; chọn một trong: {choices}.", "Not a valid value; choose one of: {choices}."),
    "file": ("Cần gửi một tệp trong trường «file».", "Send one file in the field «file»."),
    "range": ("Phải từ {min} đến {max}.", "Must be from {min} to {max}."),
}


def locale() -> str:
    """Vietnamese unless the caller prefers English (Accept-Language)."""
    return request.accept_languages.best_match(LOCALES, default="vi") or "vi"


def text(table: dict[str, tuple[str, str]], code: str, **params: Any) -> str:
    vi, en = table[code]
    return (en if locale() == "en" else vi).format(**params)


class ApiError(Exception):
    """An HTTP-level refusal raised by the API itself (the engine raises WorkflowError)."""

    def __init__(self, status: int, code: str, *, fields: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, **params: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.fields, self.headers, self.params = status, code, fields, headers, params


class FieldErrors:
    """Collects per-field problems so a client learns about every bad field at once (422 invalid_input)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, code: str, **params: Any) -> None:
        self.errors.setdefault(field, text(FIELD_MESSAGES, code, **params))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApiError(422, "invalid_input", fields=self.errors)


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    resp = jsonify({"error": body})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _api_error(exc: ApiError) -> Response:
    db.session.rollback()
    return error_response(exc.status, exc.code, text(MESSAGES, exc.code, **exc.params), fields=exc.fields,
                          headers=exc.headers)


def _workflow_error(exc: WorkflowError) -> Response:
    db.session.rollback()
    if isinstance(exc, InvalidInput):  # a declared input refused: one message per field, like FieldErrors
        return error_response(422, "invalid_input", text(MESSAGES, "invalid_input"),
                              fields=exc.field_messages(locale()))
    return error_response(exc.status, exc.code, exc.message(locale()), params=_jsonable(exc.params) or None)


def upload_limit() -> int:
    """The size a person is told for one file: UPLOAD_MAX_BYTES when the pages set it (MAX_CONTENT_LENGTH then
    leaves room for the multipart framing), else MAX_CONTENT_LENGTH, else 10 MB."""
    config = current_app.config
    return int(config.get("UPLOAD_MAX_BYTES") or config.get("MAX_CONTENT_LENGTH") or 10 * 1024 * 1024)


def upload_limit_mb() -> str:
    mb = upload_limit() / (1024 * 1024)
    return f"{mb:g}" if mb >= 1 else f"{mb:.2f}"


def _upload_rejected(exc: UploadRejected) -> Response:
    """A refused file: 413 when it is too large (as when the whole request is), 422 for everything else."""
    db.session.rollback()
    status = 413 if exc.code == "too_large" else 422
    message = text(MESSAGES, "payload_too_large", limit_mb=upload_limit_mb()) if status == 413 else exc.message(
        locale())
    return error_response(status, f"upload_{exc.code}", message, fields={"file": message})


def http_error(exc: HTTPException) -> Response:
    """Werkzeug's own errors (404, 405, 413, 400 ...) as JSON; used by the blueprint and for unmatched routes."""
    db.session.rollback()
    status = exc.code or 500
    headers = {}
    if status == 404:
        code, message = "route_not_found", text(MESSAGES, "route_not_found")
    elif status == 405:
        code, message = "method_not_allowed", text(MESSAGES, "method_not_allowed", method=request.method)
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
    elif status == 413:
        code, message = "payload_too_large", text(MESSAGES, "payload_too_large", limit_mb=upload_limit_mb())
    elif status == 400:
        code, message = "bad_request", text(MESSAGES, "http_error", status=status)
    else:
        code, message = "http_error", text(MESSAGES, "http_error", status=status)
    return error_response(status, code, message, headers=headers)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in params.items()}


def register(bp) -> None:
    """Attach the handlers to the blueprint (they apply to every route it matched)."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(WorkflowError, _workflow_error)
    bp.register_error_handler(UploadRejected, _upload_rejected)
    bp.register_error_handler(HTTPException, http_error)
    # App-wide handlers registered for a status code are found before a blueprint's handler for a class, so the
    # blueprint claims every code too: its own handlers come first for the routes it matched.
    for code in default_exceptions:
        bp.register_error_handler(code, http_error)
