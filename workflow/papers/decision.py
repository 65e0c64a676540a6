"""A recognition decision as an official document (issue 12, section 1), in the layout of Nghị định 30/2020/NĐ-CP
(Phụ lục III, quyết định cá biệt): the issuing body and the national motto side by side, number and symbol, place and
date, the title, the legal grounds (căn cứ), Điều 1-3, recipients (nơi nhận), the signer; then the attached list
grouped by commune and branch (STT, họ và tên, ngày sinh, đơn vị). The words are data
(workflow/data/decision_papers.json: the issuing body per level of the decision's unit, the grounds per title).

Why the list is paginated here and not by WeasyPrint alone: WeasyPrint lays a long table out at about 250 names a
second and keeps every page's layout in memory (about 120 MB per 1,000 names measured here), so 50,000 names in one
document would need gigabytes. The list is cut into pages of a fixed number of lines (rows of one line each: no
wrapping, long names are cut with an ellipsis), pages into chunks of CHUNK_PAGES, each chunk printed as its own
document whose page counter starts where the previous one stopped (`@page :first { counter-reset: page N }`), and
the chunks are concatenated with pypdf. The total ("Trang x/y") is therefore known before the first chunk is
printed. A decision of up to SYNC_LIMIT names is printed within the request; a larger one by a job (kind
"decision_pdf") whose counters move chunk by chunk. The stored PDF (UPLOAD_DIR/papers) is kept with the list's
fingerprint: a changed list (a file added, revoked or corrected) is printed again."""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from .. import clock, validity
from ..authz import Actor, actor_of
from ..db import db
from ..definitions import data_file
from ..errors import MESSAGES, NotFound
from ..models import Application, Campaign, Decision, DecisionPaper, Job, Unit
from . import date_words, render_html

KIND = "decision_pdf"
SYNC_LIMIT = 300  # names printed within the request (about 1.5-2 s measured); beyond, a job
LINES_PER_PAGE = 39  # list lines (rows and group headings) on a page of the list
FIRST_PAGE_LINES = 34  # the first page of the list also carries its title
LONG_NAME, LONG_UNIT = 30, 26  # longer texts print in a smaller size, still on one line
CHUNK_PAGES = 60  # list pages per WeasyPrint document (about 2,000 names, 8 s, 350 MB)
BODY_TEMPLATE = "paper_decision.html"
LIST_TEMPLATE = "paper_decision_list.html"
ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
         (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
_KIND_WORDS = re.compile(r"^(tỉnh|thành phố|huyện|quận|thị xã|xã|phường|thị trấn|đặc khu)\s+", re.IGNORECASE)

Hook = Callable[[int, int], None]  # (names printed so far, total)

MESSAGES.update({"decision_not_found": ("Không tìm thấy quyết định.", "Decision not found.")})


@cache
def words() -> dict[str, Any]:
    return data_file("decision_papers.json")


def bare_name(unit: Unit) -> str:
    """The unit's name without its kind: "Tỉnh Bắc Ninh" -> "Bắc Ninh" (the place line and the issuer's)."""
    return _KIND_WORDS.sub("", unit.name).strip() or unit.name


def _kind_word(unit: Unit) -> str:
    found = _KIND_WORDS.match(unit.name)
    return (found.group(1) if found else (unit.kind or unit.level)).lower()


def roman(n: int) -> str:
    out = ""
    for value, letters in ROMAN:
        while n >= value:
            out, n = out + letters, n - value
    return out


@dataclass(frozen=True)
class Issuer:
    """Who issues: the heading's lines (the governing body over the issuing one, upper case), the body's name in
    the text, the symbol after the number, the signer's title, and the place of the date line."""

    lines: list[str]
    body: str
    symbol: str
    signer_title: str
    place: str


def issuer(unit: Unit) -> Issuer:
    """The issuing body of a decision made at `unit`, from the data of its level (decision_papers.json "issuers");
    the place is the province's name (a district's decision: the district's)."""
    spec = words()["issuers"].get(unit.level) or words()["issuers"]["province"]
    name, kind = bare_name(unit), _kind_word(unit)
    fill = {"unit": name, "UNIT": name.upper(), "kind": kind, "KIND": kind.upper()}
    return Issuer(lines=[line.format(**fill) for line in spec["lines"]], body=spec["body"].format(**fill),
                  symbol=spec["symbol"], signer_title=spec["signer_title"], place=name)


def number_line(decision: Decision, who: Issuer) -> str:
    """"Số: 125/QĐ-SGDĐT": the number as issued; a bare number takes the issuer's symbol."""
    number = decision.number.strip()
    return f"Số: {number}" if "/" in number else f"Số: {number}/{who.symbol}"


@dataclass
class Line:
    """One line of the attached list: a commune heading, a branch heading, or a name (with its STT)."""

    kind: str  # "commune", "branch", "row"
    text: str = ""
    stt: int = 0
    born: str = ""
    unit: str = ""
    level: str = ""


@dataclass
class Page:
    lines: list[Line]
    first: bool = False
    number: int = 0


@dataclass
class Plan:
    """What will be printed: the header's words, the list's pages, the total page count once the body is known."""

    context: dict[str, Any]
    pages: list[Page]
    names: int
    body_pages: int = 0
    chunks: list[list[Page]] = field(default_factory=list)

    @property
    def total_pages(self) -> int:
        return self.body_pages + len(self.pages)


def fingerprint(decision: Decision) -> str:
    """The state of the decision's list in one aggregate along its index: how many files, which (sum of ids), and
    every change to any of them (sum of versions: the engine bumps a file's version on each change)."""
    n, ids, versions = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Application.id), 0),
               func.coalesce(func.sum(Application.version), 0)).where(Application.decision_id == decision.id)).one()
    return f"{n}:{ids}:{versions}"


def _dmy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def lines(decision: Decision, subject_kind: str, leveled: bool = True) -> list[Line]:
    """The attached list in print order: commune, then branch, then name (folded) and id, with headings where a
    commune or branch starts; STT runs through the whole list. Read in one statement (50,000 short tuples)."""
    branch, commune = aliased(Unit), aliased(Unit)
    stmt = (select(Application.full_name, Application.date_of_birth, Application.target_level,
                   branch.id, branch.name, branch.level, commune.id, commune.name)
            .join(branch, branch.id == Application.unit_id)
            .outerjoin(commune, commune.id == branch.parent_id)
            .where(Application.decision_id == decision.id))
    if subject_kind != "person":  # a commune, village, household, clan or organisation: one list by name
        stmt = stmt.order_by(Application.full_name_folded, Application.id)
    else:
        stmt = stmt.order_by(commune.name_folded, commune.id, branch.name_folded, branch.id,
                             Application.full_name_folded, Application.id)
    out: list[Line] = []
    last_commune = last_branch = None
    communes = branches = 0
    for stt, (name, born, level, b_id, b_name, b_level, c_id, c_name) in enumerate(db.session.execute(stmt), 1):
        if subject_kind != "person":
            out.append(Line("row", name or b_name, stt, unit=(c_name if subject_kind == "commune" or b_level ==
                                                               "branch" else b_name),
                            level=str(level or "") if leveled else ""))
            continue
        if b_level != "branch":  # a file at a commune itself: the commune is its group, no branch heading
            c_id, c_name = b_id, b_name
        if c_id != last_commune:
            communes, branches, last_commune, last_branch = communes + 1, 0, c_id, None
            out.append(Line("commune", f"{roman(communes)}. {c_name}"))
        if b_level == "branch" and b_id != last_branch:
            branches, last_branch = branches + 1, b_id
            out.append(Line("branch", f"{branches}. {b_name}"))
        out.append(Line("row", name or "", stt, _dmy(born), b_name))
    return out


def paginate(all_lines: list[Line], first: int = FIRST_PAGE_LINES, per_page: int = LINES_PER_PAGE) -> list[Page]:
    """Fixed pages of lines: a heading never ends a page (it moves to the next), and a page that continues a
    group opens with its headings marked "(tiếp theo)"."""
    pages: list[Page] = []
    current: list[Line] = []
    room = first
    heads: dict[str, Line] = {}
    i = 0
    while i < len(all_lines):
        line = all_lines[i]
        if line.kind != "row":  # the heading(s) and the first row below them stay together
            block = [line]
            j = i + 1
            while j < len(all_lines) and all_lines[j].kind != "row":
                block.append(all_lines[j])
                j += 1
            if j < len(all_lines):
                block.append(all_lines[j])
            if len(current) + len(block) > room and current:
                pages.append(Page(current, first=not pages))
                current, room = [], per_page
            for b in block:
                if b.kind == "commune":
                    heads = {"commune": b}
                elif b.kind == "branch":
                    heads["branch"] = b
            current.extend(block)
            i = j + 1
            continue
        if len(current) >= room:
            pages.append(Page(current, first=not pages))
            current, room = [], per_page
            current.extend(Line(h.kind, f"{h.text} (tiếp theo)") for h in heads.values())
        current.append(line)
        i += 1
    if current or not pages:
        pages.append(Page(current, first=not pages))
    return pages


def plan(decision: Decision) -> Plan:
    """The words of the decision and the pages of its list (nothing printed yet)."""
    campaign = db.session.get(Campaign, decision.campaign_id)
    unit = db.session.get(Unit, decision.unit_id)
    title = validity.titles()[campaign.title_code]
    subject_kind = title.get("subject_kind", "person")
    spec = words()["titles"].get(campaign.title_code) or words()["titles"]["CDHT"]
    who = issuer(unit)
    from ..rubrics import spec as rubric_spec

    listed = lines(decision, subject_kind, leveled=len(rubric_spec(campaign.rubric_id).levels) > 1)
    names = sum(1 for x in listed if x.kind == "row")
    name_vi = title["name_vi"]
    fill = {"title": name_vi, "TITLE": name_vi.upper(), "year": campaign.year, "count": f"{names:,}".replace(",", "."),
            "body": who.body}
    until = validity.valid_until(campaign.title_code, decision.signed_on)
    context = {
        "motto": words()["motto"], "issuer": who, "number": number_line(decision, who),
        "place_date": f"{who.place}, {date_words(decision.signed_on)}",
        "subject": spec["subject"].format(**fill), "grounds": [g.format(**fill) for g in spec["grounds"]],
        "head": (words()["issuers"].get(unit.level) or words()["issuers"]["province"])["head"],
        "article1": spec["article1"].format(**fill),
        "article2": words()["article2"].format(valid_until=_dmy(until), **fill),
        "article3": words()["article3"].format(subjects=words()["subjects"].get(subject_kind, ""), **fill),
        "recipients": words()["recipients"], "signer": decision.signer, "signer_title": who.signer_title,
        "list_title": spec["list_title"].format(**fill),
        "list_ref": f"(Kèm theo Quyết định số {decision.number} {date_words(decision.signed_on)} "
                    f"của {who.body})",
        "subject_kind": subject_kind, "name_header": words().get("name_headers", {}).get(subject_kind, ""),
    }
    pages = paginate(listed)
    return Plan(context=context, pages=pages, names=names,
                chunks=[pages[i:i + CHUNK_PAGES] for i in range(0, len(pages), CHUNK_PAGES)])


def _pdf(html: str) -> tuple[bytes, int]:
    from weasyprint import HTML

    from . import TEMPLATES

    document = HTML(string=html, base_url=str(TEMPLATES)).render()
    return document.write_pdf(), len(document.pages)


def render(decision: Decision, out: io.BufferedIOBase | Any, on_chunk: Hook | None = None,
           workers: int = 1) -> tuple[int, int]:
    """Print the decision into `out` (a binary file): (pages, names). The body is printed twice (once to count
    its pages, then with the total), each chunk of the list once; `on_chunk(names so far, names)` after each.
    `workers` > 1 prints the chunks in that many processes (spawned: nothing of the database is inherited); the
    chunks are pure HTML, joined in order."""
    from pypdf import PdfReader, PdfWriter

    p = plan(decision)
    _, p.body_pages = _pdf(render_html(BODY_TEMPLATE, total=0, **p.context))
    body, _ = _pdf(render_html(BODY_TEMPLATE, total=p.total_pages, **p.context))
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(body)))
    offsets, offset = [], p.body_pages + 1
    for chunk in p.chunks:
        offsets.append(offset)
        offset += len(chunk)

    def html(k: int) -> str:
        return render_html(LIST_TEMPLATE, pages=p.chunks[k], start=offsets[k], total=p.total_pages,
                           long_name=LONG_NAME, long_unit=LONG_UNIT, **p.context)

    done = 0
    for k, (data, printed) in enumerate(_print_all(html, len(p.chunks), workers)):
        chunk = p.chunks[k]
        if printed != len(chunk):  # a line that wrapped would shift every later page number: say so loudly
            raise RuntimeError(f"decision {decision.id}: {printed} pages printed for {len(chunk)} planned")
        writer.append(PdfReader(io.BytesIO(data)))
        done += sum(1 for page in chunk for x in page.lines if x.kind == "row")
        if on_chunk is not None:
            on_chunk(done, p.names)
    writer.add_metadata({"/Title": f"Quyết định {decision.number}", "/Producer": "hoctap (WeasyPrint, pypdf)"})
    writer.write(out)
    return p.total_pages, p.names


def _print_all(html: Callable[[int], str], n: int, workers: int) -> Iterator[tuple[bytes, int]]:
    """The chunks printed in order: here one after the other, or in a pool of spawned processes (at most
    `workers` chunks' HTML handed out ahead, so memory stays bounded)."""
    if workers <= 1 or n <= 1:
        for k in range(n):
            yield _pdf(html(k))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = [pool.submit(_pdf, html(k)) for k in range(min(n, workers))]
        for k in range(n):
            result = pending.pop(0).result()
            if k + workers < n:
                pending.append(pool.submit(_pdf, html(k + workers)))
            yield result


def to_pdf(decision: Decision) -> bytes:
    """The whole PDF in memory (tests, small decisions)."""
    buf = io.BytesIO()
    render(decision, buf)
    return buf.getvalue()


# The stored paper ---------------------------------------------------------------------------------------------------

def papers_dir(upload_dir: str) -> str:
    path = os.path.join(upload_dir, "papers")
    os.makedirs(path, exist_ok=True)
    return path


def fresh(decision: Decision, upload_dir: str) -> DecisionPaper | None:
    """The stored PDF if it was printed from the decision's list as it is now and its file is still there."""
    paper = db.session.get(DecisionPaper, decision.id)
    if paper is None or paper.fingerprint != fingerprint(decision):
        return None
    return paper if os.path.exists(file_path(paper, upload_dir)) else None


def file_path(paper: DecisionPaper, upload_dir: str) -> str:
    return os.path.join(papers_dir(upload_dir), paper.file_name)


def render_and_store(decision: Decision, upload_dir: str, job: Job | None = None,
                     on_chunk: Hook | None = None, workers: int = 1) -> DecisionPaper:
    """Print the decision to UPLOAD_DIR/papers/decision-<id>-<sha prefix>.pdf (written to a temporary name, then
    renamed: a reader never sees half a file) and record it; a previous file of the decision is removed. The caller
    commits."""
    stamp = fingerprint(decision)
    directory = papers_dir(upload_dir)
    temporary = os.path.join(directory, f".decision-{decision.id}-{secrets.token_hex(8)}.part")
    try:
        with open(temporary, "wb") as out:
            pages, names = render(decision, out, on_chunk, workers)
    except BaseException:
        os.remove(temporary)  # no half-written file left behind
        raise
    digest = hashlib.sha256()
    with open(temporary, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    name = f"decision-{decision.id}-{sha[:16]}.pdf"
    os.replace(temporary, os.path.join(directory, name))
    paper = db.session.get(DecisionPaper, decision.id)
    if paper is None:
        paper = DecisionPaper(decision_id=decision.id)
        db.session.add(paper)
    elif paper.file_name != name and os.path.exists(os.path.join(directory, paper.file_name)):
        os.remove(os.path.join(directory, paper.file_name))
    paper.fingerprint, paper.file_name, paper.sha256 = stamp, name, sha
    paper.size, paper.pages, paper.names = os.path.getsize(os.path.join(directory, name)), pages, names
    paper.rendered_at, paper.job_id = clock.now(), job.id if job is not None else None
    db.session.flush()
    return paper


# The job ------------------------------------------------------------------------------------------------------------

def size(decision: Decision) -> int:
    return db.session.scalar(select(func.count()).where(Application.decision_id == decision.id)) or 0


def current_job(decision: Decision) -> Job | None:
    """The latest printing job of this decision (jobs of its campaign and kind, newest first)."""
    recent = db.session.scalars(select(Job).where(Job.kind == KIND, Job.campaign_id == decision.campaign_id,
                                                  Job.unit_id == decision.unit_id)
                                .order_by(Job.id.desc()).limit(50))
    return next((j for j in recent if (j.params or {}).get("decision_id") == decision.id), None)


def start_job(decision: Decision, actor: Any) -> tuple[Job, bool]:
    """A job that prints the decision, or the one already queued or running for it (never two at once):
    (job, new). The caller commits, then launches a new one (notifications.jobs.launch)."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    job = current_job(decision)
    if job is not None and job.status in ("queued", "running"):
        from ..jobs import stalled

        if not stalled(job):
            return job, False
    job = Job(kind=KIND, owner_id=actor.id, campaign_id=decision.campaign_id, unit_id=decision.unit_id,
              total=size(decision), errors=[], created_at=clock.now(),
              params={"decision_id": decision.id, "number": decision.number})
    db.session.add(job)
    db.session.flush()
    return job, True


def run_decision_pdf(job: Job, *, after_chunk: Callable[[Job], None] | None = None) -> None:
    """The job's body (workflow.jobs.KINDS["decision_pdf"]): print the whole decision, committing the counters
    after each chunk of the list (the page polls them), then record the stored file. A failed job prints again
    from the start when resumed (a chunk of the PDF is not worth keeping on its own)."""
    from flask import current_app

    decision = db.session.get(Decision, (job.params or {}).get("decision_id"))
    if decision is None:
        raise NotFound("decision_not_found")
    job.done = 0

    def progress(done: int, total: int) -> None:
        job.done, job.total, job.created = done, total, done
        job.heartbeat_at = clock.now()
        db.session.commit()
        if after_chunk is not None:
            after_chunk(job)

    render_and_store(decision, current_app.config["UPLOAD_DIR"], job=job, on_chunk=progress,
                     workers=int(current_app.config.get("PAPERS_WORKERS") or 1))
    db.session.commit()


def filename(decision: Decision) -> str:
    return f"quyết-định-{decision.number.replace('/', '-')}.pdf"


def visible_decision(decision_id: int, actor: Any) -> Decision:
    """The decision if the actor may open its page (their grants cover its issuing unit); NotFound otherwise, so
    a decision outside one's units is not even said to exist."""
    actor = actor if isinstance(actor, Actor) else actor_of(actor)
    decision = db.session.get(Decision, decision_id) if 0 < decision_id < 2**31 else None
    if decision is None:
        raise NotFound("decision_not_found")
    unit = db.session.get(Unit, decision.unit_id)
    if not actor.covers(unit.path):
        raise NotFound("decision_not_found")
    return decision


def iter_names(pages: Iterable[Page]) -> Iterator[Line]:
    for page in pages:
        yield from (x for x in page.lines if x.kind == "row")
