"""Evidence uploads: the type is judged from the content, never the name; only PDF, JPEG, PNG, DOCX and XLSX pass.
Files are stored under their sha256; the original (Vietnamese) name is kept in the database only."""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass

from workflow.inputs import text_problem

ALLOWED = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
OOXML = {"word/document.xml": ".docx", "xl/workbook.xml": ".xlsx"}
SAME_TYPE = {".jpeg": ".jpg"}  # other spellings of an allowed extension, kept as the person wrote them
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")  # "hoso.html" has one; "minh chứng 1.1" has none
MESSAGES = {
    "empty": ("Tệp rỗng.", "The file is empty."),
    "too_large": ("Tệp vượt quá {limit_mb} MB.", "The file exceeds {limit_mb} MB."),
    "bad_name": ("Tên tệp không hợp lệ.", "The file name is not valid."),
    "bad_type": ("Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX (nội dung tệp không khớp).",
                 "Only PDF, JPEG, PNG, DOCX or XLSX are accepted (the content does not match)."),
}


class UploadRejected(Exception):
    def __init__(self, code: str, **params: object) -> None:
        self.code, self.params = code, params
        super().__init__(code)

    def message(self, locale: str = "vi") -> str:
        vi, en = MESSAGES[self.code]
        return (en if locale.startswith("en") else vi).format(**self.params)


@dataclass(frozen=True)
class Checked:
    data: bytes
    media_type: str
    original_name: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def clean_name(name: str | None) -> str:
    """Keep the name a person gave (NFC, diacritics intact) but refuse path parts, and what no name may hold
    (control and format characters, floods of combining marks: the rule of workflow.inputs for every name)."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if (not name or len(name) > 200 or name in {".", ".."} or "/" in name or "\\" in name
            or text_problem(name)):
        raise UploadRejected("bad_name")
    return name


def named_as(name: str, media_type: str) -> str:
    """The name with the extension of the type judged from the content, so a PDF named "hồ sơ.html" is stored
    and served as "hồ sơ.pdf" (a browser or desktop never opens it as something else). The stem is kept; an
    extension that already fits the type (any case, or .jpeg for JPEG) is left as it is."""
    wanted = ALLOWED.get(media_type)
    if wanted is None:
        return name
    match = _EXTENSION.search(name)
    current = match.group(0).lower() if match else ""
    if current == wanted or SAME_TYPE.get(current) == wanted:
        return name
    stem = name[:match.start()] if match else name
    return unicodedata.normalize("NFC", (stem.rstrip(" .") or "tệp") + wanted)


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            for marker, ext in OOXML.items():
                if marker in names:
                    return next(m for m, e in ALLOWED.items() if e == ext)
    return None


def check(name: str | None, data: bytes, limit_bytes: int) -> Checked:
    """Validate one upload; raise UploadRejected with a reason a person can act on."""
    original = clean_name(name)
    if not data:
        raise UploadRejected("empty")
    if len(data) > limit_bytes:
        raise UploadRejected("too_large", limit_mb=limit_bytes // (1024 * 1024))
    media_type = sniff(data)
    if media_type is None:
        raise UploadRejected("bad_type")
    return Checked(data, media_type, named_as(original, media_type), hashlib.sha256(data).hexdigest())


def store(upload_dir: str, checked: Checked) -> str:
    """Write once under the content hash (atomic rename); return the path."""
    target = os.path.join(upload_dir, checked.sha256[:2], checked.sha256)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")  # unique per thread and process
        with os.fdopen(fd, "wb") as fh:
            fh.write(checked.data)
        os.replace(tmp, target)
    return target


def path_of(upload_dir: str, sha256: str) -> str:
    return os.path.join(upload_dir, sha256[:2], sha256)
