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
import zlib
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


# Evidence in bulk: zips of evidence files ---------------------------------------------------------------------------
# An archive is judged twice: its structure first (names, links, counts, declared sizes), refusing the whole archive
# for anything crafted (a path out of the archive, an absolute name, a symbolic link, too many entries, more bytes
# than allowed, declared or counted while reading, a corrupt or lying entry); then every file with `check`, exactly
# as a single upload, so a bad entry is reported by name while the good ones are kept.
MESSAGES.update({
    "zip_bad": ("Không đọc được tệp nén: cần một tệp .zip hợp lệ.", "The archive cannot be read: send a valid .zip."),
    "zip_unsafe": ("Tệp nén có mục không an toàn «{entry}» (đường dẫn ra ngoài thư mục, đường dẫn tuyệt đối hoặc "
                   "liên kết): không nhận tệp nén này.",
                   "The archive has an unsafe entry «{entry}» (a path leaving the folder, an absolute path or a "
                   "link): the archive is refused."),
    "zip_too_many": ("Tệp nén có quá nhiều mục (tối đa {max}).", "The archive has too many entries (at most {max})."),
    "zip_too_large": ("Nội dung tệp nén khi giải nén vượt quá {limit_mb} MB.",
                      "The archive's content exceeds {limit_mb} MB once unpacked."),
    "zip_encrypted": ("Mục có mật khẩu: không mở được.", "The entry is password-protected: it cannot be opened."),
    "zip_nested": ("Tệp nén nằm trong tệp nén: không mở.", "An archive inside the archive is not opened."),
})
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Entry:
    """One file of an archive: its path in the archive (NFC, "/" separated) and either the checked file or why it
    was refused."""
    path: str
    checked: Checked | None = None
    problem: UploadRejected | None = None


def _entry_name(info: zipfile.ZipInfo) -> str:
    """Names without the UTF-8 flag come back as cp437; most such archives hold UTF-8 anyway (Vietnamese names
    made on Windows or macOS), so try that first."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def _unsafe(name: str, info: zipfile.ZipInfo) -> bool:
    parts = name.split("/")
    is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
    return (is_link or name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None
            or any(p in {".", ".."} for p in parts) or "\x00" in name)


def read_zip(data: bytes, *, file_limit: int, max_entries: int, max_total: int) -> list[Entry]:
    """The files of an evidence archive, each judged like a single upload; raise UploadRejected for an archive
    that is unreadable or crafted (then nothing of it is used)."""
    limit_mb = max(1, max_total // (1024 * 1024))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise UploadRejected("zip_bad") from exc
    if len(infos) > max_entries:
        raise UploadRejected("zip_too_many", max=max_entries)
    named = [(_entry_name(i), i) for i in infos]
    for name, info in named:
        if _unsafe(name, info):
            raise UploadRejected("zip_unsafe", entry=name[:120])
    if sum(i.file_size for i in infos) > max_total:
        raise UploadRejected("zip_too_large", limit_mb=limit_mb)
    out: list[Entry] = []
    total = 0
    with archive:
        for name, info in named:
            base = name.rsplit("/", 1)[-1]
            if info.is_dir() or not base or name.startswith(_JUNK[0]) or base in _JUNK or base.startswith("._"):
                continue
            if info.flag_bits & 0x1:
                out.append(Entry(name, problem=UploadRejected("zip_encrypted")))
                continue
            chunks, size = [], 0
            try:
                with archive.open(info) as fh:
                    while chunk := fh.read(_CHUNK):  # count what really comes out, whatever the header said
                        size += len(chunk)
                        total += len(chunk)
                        if total > max_total:
                            raise UploadRejected("zip_too_large", limit_mb=limit_mb)
                        if size > file_limit:
                            break
                        chunks.append(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                raise UploadRejected("zip_bad") from exc
            if size > file_limit:
                out.append(Entry(name, problem=UploadRejected("too_large", limit_mb=file_limit // (1024 * 1024))))
                continue
            content = b"".join(chunks)
            if content.startswith(b"PK\x03\x04") and sniff(content) is None:
                out.append(Entry(name, problem=UploadRejected("zip_nested")))
                continue
            try:
                out.append(Entry(name, checked=check(base, content, file_limit)))
            except UploadRejected as exc:
                out.append(Entry(name, problem=exc))
    return out


def looks_like_zip(data: bytes) -> bool:
    """A zip archive that is not itself an office document (DOCX, XLSX are zips too)."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06") and sniff(data) is None


# Evidence in bulk: previews. Only these types are ever served inline, and only when the stored bytes still say so.
INLINE = ("image/png", "image/jpeg", "application/pdf")


def inline_type(path: str, media_type: str) -> str | None:
    """The type to show in the page, judged again from the stored bytes' head; None means: attachment only."""
    if media_type not in INLINE:
        return None
    with open(path, "rb") as fh:
        head = fh.read(16)
    return media_type if sniff(head) == media_type else None


# Evidence in bulk: turning a request's files into judged files for workflow.evidence ---------------------------------

def bulk_limits(config) -> dict[str, int]:
    """Limits of a request with several files or an archive (config, with defaults for a synchronous first
    version): files per request, archive size (EVIDENCE_ZIP_MAX_MB), entries, unpacked total."""
    one = int(config.get("UPLOAD_MAX_BYTES") or config.get("MAX_CONTENT_LENGTH") or 10 * 1024 * 1024)
    mb = 1024 * 1024
    zip_bytes = int(config.get("EVIDENCE_ZIP_MAX_MB", 50)) * mb
    files = int(config.get("EVIDENCE_BATCH_MAX_FILES", 20))
    return {"file": one, "files": files, "zip": zip_bytes,
            "entries": int(config.get("EVIDENCE_ZIP_MAX_ENTRIES", 1000)),
            "total": int(config.get("EVIDENCE_ZIP_MAX_TOTAL_MB", 200)) * mb,
            "request": max(zip_bytes, one * files) + mb}


def _both(exc: UploadRejected) -> tuple[str, str]:
    return exc.message("vi"), exc.message("en")


def judge_file(label: str, name: str | None, data: bytes, limit: int, criterion: str | None):
    """One file of a batch as workflow.evidence wants it: a FileIn (with its Checked bytes to store) or the
    refusal naming the file."""
    from workflow.evidence import FileIn, refused

    try:
        checked = check(name, data, limit)
    except UploadRejected as exc:
        return refused(label, "evidence_bad_file", criterion or None, detail=_both(exc)), None
    return FileIn(label, criterion or "", checked.original_name, checked.size, checked.sha256,
                  checked.media_type), checked


def judge_zip_entries(entries: list[Entry], codes: list[str] | set[str]):
    """Entries of an archive named by criterion code ("1.1.pdf", "1.1 giấy khen.jpg", "1.1/xxx.pdf")."""
    from workflow.evidence import FileIn, criterion_of, refused

    out = []
    for e in entries:
        code = criterion_of(e.path, codes)
        if e.problem is not None:
            out.append((refused(e.path, "evidence_bad_file", code, detail=_both(e.problem)), None))
        elif code is None:
            out.append((refused(e.path, "evidence_no_criterion", None, name=e.path), None))
        else:
            c = e.checked
            out.append((FileIn(e.path, code, c.original_name, c.size, c.sha256, c.media_type), c))
    return out


def judge_campaign_entries(entries: list[Entry], codes: list[str] | set[str]):
    """Entries of an archive of folders by citizen ID ("001090000001/1.1.pdf"); the criterion is read from what
    follows the citizen's folder."""
    from workflow.evidence import CampaignFile, FileIn, criterion_of, refused, split_campaign_path

    bad_layout, files, stored = [], [], {}
    for e in entries:
        split = split_campaign_path(e.path)
        if split is None:
            bad_layout.append(refused(e.path, "evidence_bad_layout", None, name=e.path))
            continue
        citizen_id, rest = split
        code = criterion_of(rest, codes)
        if e.problem is not None:
            files.append(CampaignFile(e.path, citizen_id, problem=refused(
                e.path, "evidence_bad_file", code, detail=_both(e.problem))))
        elif code is None:
            files.append(CampaignFile(e.path, citizen_id, problem=refused(
                e.path, "evidence_no_criterion", None, name=rest)))
        else:
            c = e.checked
            files.append(CampaignFile(e.path, citizen_id, FileIn(e.path, code, c.original_name, c.size, c.sha256,
                                                                   c.media_type)))
            stored[c.sha256] = c
    return bad_layout, files, stored


def attach_campaign_zip(campaign, actor, data: bytes, limits: dict[str, int], upload_dir: str) -> list:
    """A campaign's archive of folders by citizen ID, end to end for the page and the API alike: read and judge
    it, attach what fits (workflow.evidence.attach_to_campaign), store the bytes of the files attached. The
    caller commits. Raises UploadRejected for an archive refused as a whole (then nothing is stored)."""
    from workflow.evidence import attach_to_campaign, campaign_codes

    if len(data) > limits["zip"]:
        raise UploadRejected("too_large", limit_mb=limits["zip"] // (1024 * 1024))
    entries = read_zip(data, file_limit=limits["file"], max_entries=limits["entries"], max_total=limits["total"])
    bad_layout, files, stored = judge_campaign_entries(entries, campaign_codes(campaign))
    outcomes = attach_to_campaign(campaign, actor, files) + bad_layout
    by_label = {f.label: f.file.sha256 for f in files if f.file is not None}
    for o in outcomes:
        if o.ok:
            store(upload_dir, stored[by_label[o.label]])
    return outcomes


def inline_response(upload_dir: str, item):
    """The stored file for a preview in the page: inline only for PNG, JPEG and PDF whose stored bytes still say
    so, under a policy that lets nothing in it run; anything else stays an attachment. None if the bytes are
    gone."""
    from flask import send_file

    path = path_of(upload_dir, item.sha256)
    if not os.path.isfile(path):
        return None
    shown = inline_type(path, item.media_type)
    response = send_file(path, mimetype=item.media_type, as_attachment=shown is None, max_age=0, conditional=False,
                         etag=False, download_name=named_as(item.original_name, item.media_type))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = ("default-src 'none'; img-src 'self'; object-src 'self'; "
                                                   "style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
