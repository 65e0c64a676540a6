"""The import template of a campaign: its columns (the one list the reader matches headers against), the xlsx with
one sample row, and a second sheet that explains each column and its allowed values."""
from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy import select

from ..db import db
from ..models import Campaign, Unit
from ..rubrics import Criterion, spec
from ..text import fold

ERROR_COLUMN = "Lỗi"  # added by the error workbook; ignored on upload, so the fixed file goes straight back in
SAMPLE_CITIZEN_ID = "001099000000"  # the template's sample row: skipped by the reader, so it may stay in the file


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # full_name, date_of_birth, citizen_id, subject_group, residence, branch, or score:<code>
    header: str
    required: bool  # the header must be present (cells may still be optional)
    criterion: Criterion | None = None


BASE = (
    Column("full_name", "Họ và tên", True),
    Column("date_of_birth", "Ngày sinh", True),
    Column("citizen_id", "Số CCCD", True),
    Column("subject_group", "Nhóm đối tượng", True),
    Column("residence", "Nơi cư trú", True),
    Column("branch", "Chi hội", True),
)
FIELD_COLUMN = {"full_name": "Họ và tên", "date_of_birth": "Ngày sinh", "citizen_id": "Số CCCD",
                "subject_group": "Nhóm đối tượng", "residence_unit": "Nơi cư trú", "unit": "Chi hội",
                "branch": "Chi hội", "residence": "Nơi cư trú"}


def score_header(code: str) -> str:
    return f"Điểm {code}"


def columns(campaign: Campaign) -> tuple[Column, ...]:
    """The template's columns: the six of a person, then one per criterion of the campaign's rubric (level 1)."""
    rubric = spec(campaign.rubric_id)
    return BASE + tuple(Column(f"score:{c.code}", score_header(c.code), False, c) for c in rubric.criteria_for(1))


def header_key(value: object) -> str:
    """Headers match ignoring case, diacritics, spacing and a trailing '*' (NFC first, through fold)."""
    return fold(str(value or "").replace("*", " ")).strip()


def _notes(campaign: Campaign, en: bool) -> list[list[str]]:
    rubric = spec(campaign.rubric_id)
    groups = "; ".join(f"{code}" for code in rubric.frameworks)

    def t(vi: str, e: str) -> str:
        return e if en else vi

    rows = [[t("Cột", "Column"), t("Bắt buộc", "Required"), t("Cách ghi", "How to fill it in")],
            ["Họ và tên", t("Có", "Yes"), t("Họ tên đầy đủ, có dấu.", "Full name, with diacritics.")],
            ["Ngày sinh", t("Có", "Yes"),
             t("dd/mm/yyyy (ví dụ 17/05/1980); cũng nhận d/m/yy, yyyy-mm-dd và ô kiểu Ngày của Excel. Năm 2 chữ số: "
               "thế kỷ gần nhất không ở tương lai.",
               "dd/mm/yyyy (e.g. 17/05/1980); d/m/yy, yyyy-mm-dd and Excel date cells are accepted too. A "
               "two-digit year takes the latest century not in the future.")],
            ["Số CCCD", t("Có", "Yes"),
             t("12 chữ số 0-9. Định dạng cột là Văn bản (Text) để giữ số 0 ở đầu; dấu cách, dấu chấm và gạch "
               "ngang giữa các nhóm số được bỏ đi. Một số CCCD chỉ một dòng trong tệp; đã có hồ sơ trong đợt thì "
               "không tạo lại.",
               "12 digits 0-9. Format the column as Text to keep the leading zeros; spaces, dots and dashes between "
               "digit groups are removed. One row per citizen ID in a file; one already in the campaign is not "
               "created again.")],
            ["Nhóm đối tượng", t("Có", "Yes"),
             t(f"Mã hoặc tên nhóm: {groups} (xem bảng dưới).", f"The group's code or name: {groups} (see below).")],
            ["Nơi cư trú", t("Không", "No"),
             t("Tên thôn hoặc xã nơi cư trú, trong xã của chi hội (có thể không dấu nếu không trùng tên).",
               "The village or commune of residence, within the branch's commune (diacritics may be left out "
               "when the name is unambiguous).")],
            ["Chi hội", t("Có, nếu bạn phụ trách nhiều chi hội", "Yes, if you act for several branches"),
             t("Tên chi hội lập hồ sơ (xem danh sách dưới); để trống khi nhập cho đúng một chi hội.",
               "The name of the branch filing the nomination (see the list below); blank when importing for "
               "exactly one branch.")]]
    for c in rubric.criteria_for(1):
        rows.append([score_header(c.code), t("Không", "No"),
                     t(f"Số nguyên 0-{c.max}: {c.name_vi}", f"Whole number 0-{c.max}: {c.name_en}")])
    rows.append([])
    rows.append([t("Dòng chấm đủ mọi tiêu chí vào thẳng bước chấm điểm; dòng mẫu (số CCCD "
                   f"{SAMPLE_CITIZEN_ID}) được bỏ qua; dòng trống được bỏ qua. Cột «Lỗi» của tệp lỗi được bỏ qua "
                   "khi tải lên lại.",
                   "Rows with every criterion scored go straight to the scoring stage; the sample row (citizen ID "
                   f"{SAMPLE_CITIZEN_ID}) and blank rows are skipped. The «Lỗi» column of an error file is ignored "
                   "when it is uploaded again.")])
    rows.append([])
    rows.append([t("Nhóm đối tượng", "Subject groups"), t("Mã", "Code"), t("Tên", "Name")])
    definition = campaign.rubric.definition if campaign.rubric is not None else {}
    for f in definition.get("frameworks", []):
        rows.append(["", f["code"], f["name"]["en" if en else "vi"]])
    rows.append([])
    rows.append([t("Chi hội của đợt", "Branches of the campaign"), t("Tên chi hội", "Branch"), t("Xã", "Commune")])
    parent = db.aliased(Unit)
    branches = db.session.execute(
        select(Unit.name, parent.name).join(parent, parent.id == Unit.parent_id)
        .where(Unit.level == "branch", Unit.path.startswith(f"/{campaign.province_id}/"))
        .order_by(parent.name, Unit.name).limit(20000)).all()
    rows.extend(["", b, c] for b, c in branches)
    return rows


def workbook(campaign: Campaign, locale: str = "vi") -> bytes:
    """The xlsx: headers, one sample row, the CCCD column formatted as Text; a sheet "Hướng dẫn" of notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    en = locale.startswith("en")
    rubric = spec(campaign.rubric_id)
    cols = columns(campaign)
    book = Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append([c.header for c in cols])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sample = {"full_name": "Nguyễn Văn Mẫu", "date_of_birth": "17/05/1980", "citizen_id": SAMPLE_CITIZEN_ID,
              "subject_group": rubric.frameworks[0] if rubric.frameworks else "", "residence": "", "branch": ""}
    sheet.append([sample.get(c.key, c.criterion.max if c.criterion else "") for c in cols])
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="808080")
    letter = {c.key: chr(65 + i) for i, c in enumerate(cols[:26])}
    for key in ("citizen_id", "date_of_birth"):
        sheet.column_dimensions[letter[key]].number_format = "@"
        for row in range(2, 1002):  # new cells typed here stay text: no lost zeros, no locale date guess
            sheet[f"{letter[key]}{row}"].number_format = "@"
    for i, c in enumerate(cols[:26]):
        sheet.column_dimensions[chr(65 + i)].width = max(12, len(c.header) + 4)
    notes = book.create_sheet("Hướng dẫn")
    for row in _notes(campaign, en):
        notes.append(row)
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 28, 24
    notes.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
