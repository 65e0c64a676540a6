"""Typed refusals of the engine. Each carries a machine code and parameters; its message exists in Vietnamese
and English here, so the engine can explain itself without knowing the web layer."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

# How a parameter reads for a person: a state's or an action's label instead of its code, a field's label, a date
# as dd/mm/yyyy. The web layer registers its labels here (web/wording.py); without one a code stays a code.
ParamWording = Callable[[str, object, str], "str | None"]
PARAM_WORDING: list[ParamWording] = []
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def worded(name: str, value: object, locale: str) -> object:
    """`value` of parameter `name` as a person reads it in `locale` ("vi" or "en")."""
    for wording in PARAM_WORDING:
        got = wording(name, value, locale)
        if got is not None:
            return got
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and (iso := _ISO_DAY.match(value)):
        return f"{iso.group(3)}/{iso.group(2)}/{iso.group(1)}"
    return value


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
    "conflict": ("Hồ sơ vừa được người khác thay đổi sau khi bạn mở trang. Vui lòng tải lại và thử lại.",
                 "Someone else changed this application after you opened the page. Reload and try again."),
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
    # Evidence in bulk (workflow/evidence.py): refusals, and the lines of a per-file report
    "evidence_not_found": ("Không tìm thấy minh chứng.", "Evidence not found."),
    "evidence_locked": ("Hồ sơ đã chuyển khỏi chi hội: chỉ gỡ hoặc thay minh chứng khi hồ sơ còn ở chi hội "
                        "(hoặc sau khi được trả lại để bổ sung).",
                        "The file has left the branch: evidence can be removed or replaced only while the file is "
                        "with the branch (or after it was returned for completion)."),
    "evidence_none": ("Chưa chọn tệp nào để tải lên.", "No file was chosen to upload."),
    "evidence_attached": ("Đã đính kèm vào tiêu chí {criterion}.", "Attached to criterion {criterion}."),
    "evidence_no_criterion": ("Không nhận ra mã tiêu chí trong tên «{name}» (ví dụ «1.1.pdf», «1.1 giấy khen.jpg» "
                              "hoặc thư mục «1.1/»).",
                              "No criterion code found in the name «{name}» (for example «1.1.pdf», "
                              "«1.1 certificate.jpg» or a folder «1.1/»)."),
    "evidence_bad_file": ("Tệp không được nhận: {detail}", "The file was refused: {detail}"),
    "evidence_bad_layout": ("Mục «{name}» không theo mẫu «số CCCD/mã tiêu chí ...» (ví dụ «001090000001/1.1.pdf»).",
                            "Entry «{name}» does not follow the layout «citizen ID/criterion code ...» (for example "
                            "«001090000001/1.1.pdf»)."),
    "evidence_no_application": ("Không có hồ sơ nào của số CCCD {citizen_id} trong đợt đánh giá này thuộc đơn vị "
                                "của bạn.",
                                "No application for citizen ID {citizen_id} in this campaign within your units."),
    "evidence_not_with_branch": ("Hồ sơ của số CCCD {citizen_id} đã chuyển khỏi chi hội: không nhận thêm minh chứng.",
                                 "The application of citizen ID {citizen_id} has left the branch: no more evidence "
                                 "is taken."),
    "evidence_not_allowed": ("Vai trò của bạn không được đính kèm minh chứng cho hồ sơ của số CCCD {citizen_id}.",
                             "Your role may not attach evidence to the application of citizen ID {citizen_id}."),
    # Citizens across years and places (workflow/citizens.py)
    "citizen_not_found": ("Không có hồ sơ nào của số CCCD này trong phạm vi đơn vị của bạn.",
                          "No application for this citizen ID within your units."),
    "citizen_history_forbidden": ("Chỉ cán bộ thẩm định, phê duyệt và kiểm toán mới được tra cứu lịch sử của công "
                                  "dân.",
                                  "Only appraisers, approvers and auditors may look up a citizen's history."),
    # Spreadsheet import of nominees (issue 9, section 1: workflow/imports, workflow/jobs.py): refused files
    "nominees_not_spreadsheet": ("Tệp không phải bảng tính: cần tệp .xlsx (Excel) hoặc .csv (UTF-8) theo mẫu.",
                                 "The file is not a spreadsheet: send an .xlsx (Excel) or a .csv (UTF-8) file "
                                 "following the template."),
    "nominees_encrypted": ("Tệp được đặt mật khẩu (mã hoá): hãy bỏ mật khẩu trong Excel (Tệp > Thông tin > "
                           "Bảo vệ sổ làm việc) rồi tải lên lại.",
                           "The workbook is password-protected (encrypted): remove the password in Excel "
                           "(File > Info > Protect Workbook) and upload it again."),
    "nominees_old_format": ("Tệp Excel định dạng cũ (.xls): hãy lưu lại dưới dạng .xlsx rồi tải lên lại.",
                            "An old-format Excel file (.xls): save it as .xlsx and upload it again."),
    "nominees_empty": ("Tệp không có dòng dữ liệu nào (ngoài dòng tiêu đề và dòng mẫu).",
                       "The file has no data rows (besides the header row and the sample row)."),
    "nominees_headers": ("Dòng tiêu đề không khớp mẫu. Thiếu cột: {missing}. Cột không nhận ra: {unknown}. "
                         "Hãy tải mẫu của đợt đánh giá này và giữ nguyên dòng tiêu đề.",
                         "The header row does not match the template. Missing columns: {missing}. Unknown "
                         "columns: {unknown}. Download this campaign's template and keep its header row."),
    "nominees_too_many_rows": ("Tệp có {count} dòng, quá giới hạn {max} dòng một lần nhập: hãy chia thành nhiều "
                               "tệp.",
                               "The file has {count} rows, over the limit of {max} per import: split it into "
                               "several files."),
    "nominees_too_big": ("Tệp quá lớn ({size} MB, tối đa {max} MB).", "The file is too big ({size} MB, at most "
                                                                      "{max} MB)."),
    "nominees_merged_header": ("Dòng tiêu đề có ô gộp ({cells}): hãy bỏ gộp ô (Merge & Center) để mỗi cột có "
                               "một tiêu đề riêng.",
                               "The header row has merged cells ({cells}): unmerge them so that each column has "
                               "its own header."),
    "nominees_person_only": ("Chỉ nhập được danh sách người (Công dân học tập), không nhập cho danh hiệu này.",
                             "Only lists of people (Learning Citizen) can be imported, not for this title."),
    "nominees_no_branch": ("Bạn không có quyền lập hồ sơ tại chi hội nào thuộc «{unit}».",
                           "You may not open files at any branch under «{unit}»."),
    "nominees_not_preview": ("Chỉ xác nhận nhập được từ một lần xem trước đã hoàn tất.",
                             "Only a finished preview can be confirmed into an import."),
    "nominees_file_gone": ("Không còn tệp đã tải lên của lượt nhập này; hãy tải tệp lên lại.",
                           "The uploaded file of this import is no longer stored; upload the file again."),
    "job_not_found": ("Không tìm thấy lượt nhập.", "Import not found."),
    # Spreadsheet import of nominees: the per-row errors (the column is named beside each)
    "row_date": ("Ngày «{value}» không hợp lệ: ghi dd/mm/yyyy (ví dụ 17/05/1980).",
                 "The date «{value}» is not valid: write dd/mm/yyyy (for example 17/05/1980)."),
    "row_citizen_id_number": ("Số CCCD bị Excel lưu thành số ({value}) nên mất số 0 ở đầu: định dạng cột «Số "
                              "CCCD» là Văn bản (Text) rồi nhập lại đủ 12 chữ số.",
                              "Excel stored the citizen ID as a number ({value}) and dropped its leading zeros: "
                              "format the «Số CCCD» column as Text and type all 12 digits again."),
    "row_formula": ("Ô chứa công thức chưa có giá trị: hãy dán giá trị (Paste Values) thay cho công thức.",
                    "The cell holds a formula without a value: paste the values instead of the formula."),
    "row_duplicate_in_file": ("Số CCCD {citizen_id} trùng với dòng {other} của tệp.",
                              "Citizen ID {citizen_id} repeats row {other} of the file."),
    "row_unknown_branch": ("Không có chi hội «{name}» mà bạn được lập hồ sơ, thuộc «{unit}».",
                           "No branch «{name}» where you may open files, under «{unit}»."),
    "row_branch_required": ("Chưa ghi chi hội; chọn một trong: {choices}.",
                            "The branch is missing; choose one of: {choices}."),
    "row_unknown_residence": ("Không có thôn hoặc xã «{name}» trong phạm vi cư trú của chi hội.",
                              "No village or commune «{name}» within the branch's area of residence."),
    "row_ambiguous_unit": ("Tên «{name}» khớp nhiều đơn vị: {choices}. Hãy ghi đúng tên có dấu, kèm tên đơn vị "
                           "cấp trên trong ngoặc như trên nếu vẫn trùng.",
                           "The name «{name}» matches several units: {choices}. Write the exact name with its "
                           "diacritics, followed by the parent unit in brackets as above if it still repeats."),
    "row_subject_group": ("Nhóm đối tượng «{value}» không hợp lệ; ghi mã hoặc tên một trong: {choices}.",
                          "Subject group «{value}» is not valid; write the code or name of one of: {choices}."),
    "row_score": ("Điểm tiêu chí {criterion} phải là số nguyên từ 0 đến {max} (đã ghi «{value}»).",
                  "Criterion {criterion} takes a whole number from 0 to {max} (got «{value}»)."),
    "row_duplicate": ("Số CCCD {citizen_id} đã có hồ sơ trong đợt đánh giá này (không tạo lại).",
                      "Citizen ID {citizen_id} already has an application in this campaign (not created again)."),
    # Spreadsheet import of nominees, the API and pages (web/api/imports.py, web/views/imports.py)
    "job_not_resumable": ("Lượt nhập này không cần tiếp tục: nó đã xong hoặc vẫn đang chạy.",
                          "This import needs no resuming: it has finished or is still running."),
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
        return template.format(**{k: worded(k, v, locale) for k, v in self.params.items()})

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


# Mass actions as jobs (issue 10, section 3: workflow/mass_actions.py, web/api/jobs.py, web/views/mass_actions.py)
MESSAGES.update({
    "mass_action_not_found": ("Không tìm thấy lượt xử lý hàng loạt.", "Mass action not found."),
    "mass_action_action": ("Chỉ xử lý hàng loạt được các thao tác: gửi lên, duyệt, trả lại, từ chối (không có "
                           "«{action}»).",
                           "Only submit, approve, return and reject can be taken in bulk (not «{action}»)."),
    "mass_action_selection": ("Hãy gửi hoặc bộ lọc («filter») hoặc danh sách hồ sơ («ids»): đúng một trong hai.",
                              "Send either a filter («filter») or a list of files («ids»): exactly one of them."),
    "mass_action_empty": ("Không có hồ sơ nào khớp bộ lọc mà bạn thực hiện được thao tác này.",
                          "No file matching the filter is one you can take this action on."),
    "mass_action_too_many": ("Có {count} hồ sơ khớp, quá giới hạn {max} hồ sơ một lượt: hãy thu hẹp bộ lọc (theo "
                             "đơn vị hoặc đợt đánh giá).",
                             "{count} files match, over the limit of {max} per run: narrow the filter (by unit "
                             "or campaign)."),
    "mass_action_count_changed": ("Số hồ sơ khớp đã thay đổi: bạn xác nhận {expected}, nay là {actual}. Chưa thực "
                                  "hiện gì; hãy xem lại và xác nhận lại.",
                                  "The number of matching files changed: you confirmed {expected}, it is now "
                                  "{actual}. Nothing was done; review and confirm again."),
    "mass_action_not_resumable": ("Lượt xử lý hàng loạt này không cần tiếp tục: nó đã xong hoặc vẫn đang chạy.",
                                  "This mass action needs no resuming: it has finished or is still running."),
    "already_moved": ("Hồ sơ đã được xử lý trước khi đến lượt (nay ở trạng thái «{state}»): không thực hiện lại.",
                      "The file had already been moved before its turn (it is now «{state}»): not acted on again."),
    "mass_action_refused": ("Không thực hiện được thao tác với hồ sơ này.", "The action could not be taken on "
                                                                               "this file."),
})


# Validity and renewal (issue 12 §3, part G: workflow/validity.py, the level rule in titles.json "validity")
MESSAGES.update({
    "level2_too_soon": ("Xã được công nhận mức độ {required} ngày {since}; chỉ được đề nghị công nhận mức độ {level} "
                        "sau {months} tháng kể từ ngày công nhận, tức từ ngày {from_day}.",
                        "The commune was recognised at level {required} on {since}; level {level} may be sought "
                        "only {months} months after that recognition, from {from_day}."),
    "level2_no_level1": ("Xã chưa từng được công nhận mức độ {required}: chưa thể đề nghị công nhận mức độ {level}.",
                         "The commune was never recognised at level {required}: level {level} cannot be sought "
                         "yet."),
    "not_renewable": ("Chỉ đề nghị công nhận lại được một kết quả đã công nhận của danh hiệu có thời hạn.",
                      "Only a recognition of a title with a period of validity can be renewed."),
    "renewal_exists": ("Kết quả này đã có hồ sơ đề nghị công nhận lại (hồ sơ #{id}).",
                       "This recognition already has a renewal file (file #{id})."),
    "no_open_campaign": ("Chưa có đợt đánh giá nào đang mở nhận hồ sơ của danh hiệu này trong tỉnh.",
                         "No campaign of this title is open for nominations in the province."),
})
