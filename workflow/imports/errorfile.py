"""The error workbook: just the rows in error, with the template's columns as the officer wrote them and a «Lỗi»
column (row number, column, what is wrong), ready to fix and upload again (the reader ignores «Lỗi»)."""
from __future__ import annotations

import io
from typing import Any

from openpyxl.utils import get_column_letter

from .template import ERROR_COLUMN


def workbook(header: list[Any], rows: list[tuple[int, list[Any], list[dict[str, Any]]]], locale: str = "vi") -> bytes:
    """rows: (sheet row number, the cells as read, its errors)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    en = locale.startswith("en")
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "Dòng lỗi"
    width = len(header)
    sheet.append([*header, ERROR_COLUMN])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    text_columns = [i for i, h in enumerate(header) if str(h).strip().lower() in ("số cccd", "ngày sinh")]
    for number, cells, errors in rows:
        values = [("" if v is None else v) for v in list(cells)[:width]] + [""] * max(0, width - len(cells))
        lines = [f"Dòng {number}, cột «{e['column']}»: {e['message_en' if en else 'message_vi']}" for e in errors]
        sheet.append([*values, "\n".join(lines)])
        r = sheet.max_row
        for i in text_columns:
            sheet.cell(row=r, column=i + 1).number_format = "@"
        sheet.cell(row=r, column=width + 1).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions[get_column_letter(width + 1)].width = 80
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

