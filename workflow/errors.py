"""Typed refusals of the engine. Each carries a machine code and parameters; its message exists in Vietnamese
and English here, so the engine can explain itself without knowing the web layer."""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # code: (Vietnamese, English)
    "password_too_short": ("Mật khẩu mới phải có ít nhất {min} ký tự.",
                           "The new password needs at least {min} characters."),
    "password_is_username": ("Mật khẩu không được trùng tên đăng nhập.", "The password may not be the username."),
    "password_wrong": ("Mật khẩu hiện tại không đúng.", "The current password is wrong."),
    "last_admin": ("Không thể vô hiệu hoá hoặc thu hồi quyền quản trị cuối cùng của tỉnh.",
                   "The last administrator of a province cannot be deactivated or lose the role."),
    "not_found": ("Không tìm thấy hồ sơ.", "Application not found."),
    "outside_scope": ("Bạn không có quyền với hồ sơ thuộc đơn vị này.",
                      "You have no rights over applications of this unit."),
    "wrong_role": ("Vai trò của bạn không được thực hiện thao tác «{action}» ở bước «{state}».",
                   "Your role may not perform «{action}» at stage «{state}»."),
    "invalid_action": ("Không thể thực hiện «{action}» khi hồ sơ đang ở trạng thái «{state}».",
                       "«{action}» is not possible while the application is in state «{state}»."),
    "conflict": ("Hồ sơ vừa được người khác thay đổi (phiên bản {actual}, bạn đang xem {expected}). "
                 "Vui lòng tải lại và thử lại.",
                 "Someone else changed this application (version {actual}, you saw {expected}). "
                 "Reload and try again."),
    "reason_required": ("Vui lòng nêu lý do (với trả lại: liệt kê những gì cần bổ sung).",
                        "A reason is required (for a return: list what is missing)."),
    "evidence_missing": ("Thiếu minh chứng cho tiêu chí: {criteria}.", "Evidence missing for criteria: {criteria}."),
    "scores_incomplete": ("Chưa chấm điểm đủ các tiêu chí ({scored}/{required}).",
                          "Not every criterion is scored ({scored}/{required})."),
    "score_out_of_range": ("Điểm tiêu chí {criterion} phải từ 0 đến {max} (đã nhập {value}).",
                           "Criterion {criterion} takes 0 to {max} points (got {value})."),
    "unknown_criterion": ("Tiêu chí {criterion} không có trong bộ tiêu chí này.",
                          "Criterion {criterion} is not in this rubric."),
    "total_below_pass": ("Tổng điểm {total} chưa đạt mức tối thiểu {required}.",
                         "Total {total} is below the pass mark {required}."),
    "indicator_below_min": ("Có chỉ số dưới {min_each} điểm (thấp nhất: {lowest}).",
                            "An indicator is below {min_each} points (lowest: {lowest})."),
    "not_all_met": ("Chưa đạt tất cả các chỉ số của mức độ {level}.", "Not every indicator of level {level} is met."),
    "duplicate_subject": ("Công dân có số CCCD {citizen_id} đã có hồ sơ trong đợt đánh giá này.",
                          "Citizen ID {citizen_id} already has an application in this campaign."),
    "duplicate_commune": ("Xã này đã có hồ sơ trong đợt đánh giá này.",
                          "This commune already has an application in this campaign."),
    "invalid_field": ("Trường «{field}» không hợp lệ: {detail}.", "Field «{field}» is invalid: {detail}."),
    "no_chain": ("Chưa có quy trình phê duyệt áp dụng cho tỉnh này vào ngày {on}.",
                 "No approval chain applies to this province on {on}."),
    "duplicate_decision": ("Số quyết định {number} đã dùng trong đợt đánh giá này.",
                           "Decision number {number} is already used in this campaign."),
    "nothing_to_decide": ("Không hồ sơ nào được công nhận theo quyết định này.",
                          "No application could be recognised under this decision."),
    "unit_outside_campaign": ("Đơn vị «{unit}» không thuộc tỉnh của đợt đánh giá này.",
                              "Unit «{unit}» is not in this campaign's province."),
    "wrong_unit_level": ("Đơn vị «{unit}» không phải cấp {level}.", "Unit «{unit}» is not a {level}."),
    "citizen_id_ascii": ("Số CCCD chỉ được gồm các chữ số 0-9 (không dùng chữ số toàn độ rộng, chữ số Ả Rập "
                         "hay chữ số của bảng chữ khác).",
                         "A citizen ID takes the digits 0-9 only (not full-width, Arabic-Indic or other digits)."),
    "invalid_name": ("Trường «{field}» có ký tự không được phép: ký tự định dạng ẩn (như ký tự đảo chiều hay "
                     "khoảng trắng độ rộng 0), ký tự điều khiển hoặc quá nhiều dấu trên một chữ.",
                     "Field «{field}» has characters that are not allowed: hidden format characters (such as "
                     "direction overrides or zero-width spaces), control characters or too many accent marks "
                     "on one letter."),
    "unknown_unit": ("Không có đơn vị này (trường «{field}»).", "No such unit (field «{field}»)."),
    # Administration (workflow/admin): shared
    "invalid_input": ("Dữ liệu không hợp lệ, xem chi tiết từng trường.",
                      "The input is not valid; see the errors per field."),
    "unit_not_found": ("Không tìm thấy đơn vị.", "Unit not found."),
    "admin_required": ("Chỉ quản trị viên của đơn vị này mới được thực hiện.",
                       "Only an administrator of this unit may do this."),
    # Administration: units and mergers (workflow/admin/units.py, mergers.py)
    "units_import_invalid": ("Tệp có {count} dòng lỗi; chưa lưu gì. Sửa các dòng được nêu rồi nhập lại.",
                       "The file has {count} bad rows; nothing was stored. Fix the rows named and import again."),
    "units_bad_file": ("Không đọc được tệp: cần tệp CSV (UTF-8) hoặc XLSX có dòng tiêu đề.",
                        "The file cannot be read: send a CSV (UTF-8) or XLSX file with a header row."),
    "units_missing_columns": ("Thiếu cột: {columns}.", "Missing columns: {columns}."),
    "units_empty_file": ("Tệp không có dòng dữ liệu nào.", "The file has no data rows."),
    "row_duplicate_code": ("Mã {code} trùng với dòng {other}.", "Code {code} repeats line {other}."),
    "row_duplicate_unit": ("Đơn vị «{name}» trùng với dòng {other}.", "Unit «{name}» repeats line {other}."),
    "row_code_taken": ("Mã {code} đã là mã của một đơn vị khác ngoài danh sách xã của tỉnh này.",
                       "Code {code} already belongs to another unit, not a commune of this province."),
    "row_unknown_commune": ("Không có xã mã «{code}» trong phạm vi quản trị của bạn.",
                            "No commune with code «{code}» within your administration."),
    "unit_exists": ("Đã có đơn vị «{name}» cùng cấp trong «{parent}».",
                    "«{parent}» already has a unit «{name}» at this level."),
    "wrong_parent_level": ("Đơn vị cấp {level} phải thuộc một đơn vị cấp {parent_level}.",
                           "A unit of level {level} must sit under a {parent_level}."),
    # Administration: officers (workflow/admin/officers.py)
    "user_not_found": ("Không tìm thấy người dùng.", "User not found."),
    "grant_not_found": ("Không tìm thấy vai trò này của người dùng.", "This role of the user was not found."),
    "grant_above_own": ("Không thể giao vai trò tại đơn vị cấp trên đơn vị bạn quản trị.",
                        "You cannot grant a role at a unit above the units you administer."),
    "user_above_own": ("Người dùng này có vai trò ngoài phạm vi quản trị của bạn; chỉ quản trị viên cấp trên mới "
                       "được thực hiện.",
                       "This user holds roles outside your administration; only a higher administrator may do this."),
    "grant_exists": ("Người dùng đã có vai trò này tại đơn vị này.", "The user already holds this role at this unit."),
    "last_grant": ("Đây là vai trò duy nhất của người dùng; hãy vô hiệu hoá tài khoản thay vì thu hồi.",
                   "This is the user's only role; deactivate the account instead of revoking it."),
    "set_password_expired": ("Liên kết đặt mật khẩu đã hết hạn (quá {hours} giờ). Vui lòng đề nghị quản trị viên "
                             "cấp liên kết mới.",
                             "The set-password link has expired (after {hours} hours). Ask your administrator "
                             "for a new one."),
    "set_password_invalid": ("Liên kết đặt mật khẩu không hợp lệ hoặc đã được dùng. Vui lòng đề nghị quản trị viên "
                             "cấp liên kết mới.",
                             "The set-password link is invalid or has already been used. Ask your administrator "
                             "for a new one."),
    "import_refused": ("Tệp có {count} lỗi; không dòng nào được lưu.", "The file has {count} errors; nothing was "
                                                                         "stored."),
    "import_bad_file": ("Không đọc được tệp: cần tệp .xlsx hoặc .csv (UTF-8) theo mẫu.",
                        "The file cannot be read: send an .xlsx or a .csv (UTF-8) file following the template."),
    "import_too_many": ("Tệp có quá nhiều dòng (tối đa {max}).", "The file has too many rows (at most {max})."),
    # Administration: campaigns and deadlines (workflow/admin/campaigns.py)
    "deadline_passed": ("Đã hết hạn nộp hồ sơ đề nghị (hạn cuối {deadline}). Liên hệ quản trị viên để được gia hạn.",
                        "The deadline for nominations has passed (it was {deadline}). Ask an administrator for an "
                        "extension."),
    "campaign_closed": ("Đợt đánh giá đã kết thúc, không nhận thêm hồ sơ đề nghị.",
                        "The campaign is closed and takes no more nominations."),
    "campaign_not_found": ("Không tìm thấy đợt đánh giá.", "Campaign not found."),
}


class WorkflowError(Exception):
    """Base of every refusal; `status` is the HTTP status a web layer should use."""

    status = 422

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, locale: str = "vi") -> str:
        vi, en = MESSAGES[self.code]
        template = en if locale.startswith("en") else vi
        return template.format(**self.params)

    def as_dict(self, locale: str = "vi") -> dict[str, object]:
        return {"code": self.code, "message": self.message(locale), "params": self.params}


class NotFound(WorkflowError):
    status = 404


class NotAuthorized(WorkflowError):
    status = 403


class Conflict(WorkflowError):
    status = 409


class GuardRefused(WorkflowError):
    status = 422


class InvalidAction(WorkflowError):
    status = 422
