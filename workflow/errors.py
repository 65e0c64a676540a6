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
    # Administration: officers (workflow/admin/officers.py)
    # Administration: campaigns and deadlines (workflow/admin/campaigns.py)
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
