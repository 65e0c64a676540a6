"""JSON errors for the API: one shape, {"error": {"code", "message", ...}}, with the message in the caller's language.

Engine refusals (WorkflowError) and upload refusals (UploadRejected) keep their own codes and bilingual messages;
this module adds the HTTP-level ones (401, 400, 404, 405, 413, 422 field errors) so a client never sees HTML."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, default_exceptions

from web.uploads import UploadRejected
from workflow.admin.inputs import FIELD_MESSAGES as _FIELD_MESSAGES
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

# Field-level messages for 422 "invalid_input": ONE table for pages, API and imports, in workflow (issue 9,
# section 4). Re-exported here for the API modules that import it from web.api.errors.
FIELD_MESSAGES = _FIELD_MESSAGES

# The API's own field checks (util.int_field, query_int) judge JSON values and query strings: the
# codes they always used name the stricter JSON-shaped rule in the one table, so every message stays as it was.
_API_CODES = {"integer": "not_integer", "date": "iso_date"}


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
        self.errors.setdefault(field, text(FIELD_MESSAGES, _API_CODES.get(code, code), **params))

    def absorb(self, exc: InvalidInput) -> None:
        """The refusal of a declared input (workflow/declared.py): its field messages, next to the API's own."""
        for field, message in exc.field_messages(locale()).items():
            self.errors.setdefault(field, message)

    def __contains__(self, field: str) -> bool:
        return field in self.errors

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
