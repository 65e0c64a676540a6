"""The decision as an official document (issue 12, section 1): the PDF's text extracted with pypdf holds the layout's
parts (motto, issuing body, number, place and date, title, grounds, Điều 1-3, recipients, signer), every name with its
diacritics, the grouping by commune and branch, and "Trang x/y" on every page; the PDF is served to whoever may open
the decision's page and is 404 to everyone else (pages and API); a large decision is printed by a job whose progress
ends done, stored with its sha256 and printed again when the list changes."""
from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import insert, select

from workflow import clock
from workflow.db import db
from workflow.models import Application, Decision, DecisionPaper, Job
from workflow.papers import date_words
from workflow.papers import decision as papers
from workflow.text import fold

from .factories import PASSWORD, World, build_other_province

API = "/api/v1"
NAMES = ["Nguyễn Thị Hằng", "Đặng Văn Đức", "Trần Thị Ngọc Ánh", "Lê Hoàng Yến", "Phạm Quốc Khánh"]
_serial = iter(range(1, 10**6))


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def bearer(client, user) -> dict[str, str]:
    token = client.post(f"{API}/tokens", json={"username": user.username, "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def decided(world: World, per_branch: dict[tuple[int, int], list[str]], number: str = "125/QĐ-SGDĐT") -> Decision:
    """A decision of the world's province over recognised CDHT files named as given, per (commune, branch),
    inserted set-wise (the engine's path to recognition is tested elsewhere)."""
    decision = Decision(campaign_id=world.cdht.id, unit_id=world.province.id, number=number,
                        signed_on=date(2026, 12, 2), signer="Nguyễn Văn Hùng", created_by_id=world.approver.id)
    db.session.add(decision)
    db.session.flush()
    past = clock.now() - timedelta(minutes=5)
    rows = []
    for (c, b), names in per_branch.items():
        base = 200_000_000_000 + next(_serial) * 100_000
        rows += [{"campaign_id": world.cdht.id, "rubric_id": world.cdht.rubric_id, "unit_id": world.branch(c, b).id,
                  "state": "recognised", "version": 4, "subject_key": str(base + i), "citizen_id": str(base + i),
                  "full_name": n, "full_name_folded": fold(n), "date_of_birth": date(1980, 1 + i % 12, 1 + i % 28),
                  "subject_group": "1", "target_level": 1, "score_total": 90, "score_min": 9, "scored_count": 10,
                  "created_at": past, "state_changed_at": past, "recognised_at": past, "decision_id": decision.id}
                 for i, n in enumerate(names)]
    db.session.execute(insert(Application.__table__), rows)
    db.session.commit()
    return decision


@pytest.fixture
def small(world: World) -> Decision:
    return decided(world, {(0, 0): NAMES[:3], (0, 1): NAMES[3:], (1, 0): ["Võ Thị Thu Hương", "Bùi Xuân Trường"]})


def test_the_pdf_holds_every_part_of_the_form_and_every_name(world, small):
    pages = pdf_pages(papers.to_pdf(small))
    first, everything = squash(pages[0]), squash(" ".join(pages))
    for part in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND TỈNH THỬ NGHIỆM",
                 "SỞ GIÁO DỤC VÀ ĐÀO TẠO", "Số: 125/QĐ-SGDĐT", "Thử Nghiệm, ngày 02 tháng 12 năm 2026",
                 "QUYẾT ĐỊNH", "Về việc công nhận danh hiệu “Công dân học tập” năm", "Căn cứ Quyết định số 244/QĐ-KHVN",
                 "Điều 1.", "Điều 2.", "Điều 3.", "Nơi nhận:", "GIÁM ĐỐC", "Nguyễn Văn Hùng"):
        assert part in first, part
    assert "cho 7 công dân" in first
    for name in [*NAMES, "Võ Thị Thu Hương", "Bùi Xuân Trường"]:
        assert name in everything, name  # the diacritics come back intact
    assert "DANH SÁCH CÔNG DÂN ĐƯỢC CÔNG NHẬN" in everything
    # grouped by commune (roman numerals, by name: Đông Phong before Yên Lư) and branch
    at = {k: everything.index(k) for k in ("I. Xã Đông Phong", "1. Chi hội thôn 1", "2. Chi hội thôn 2",
                                            "II. Xã Yên Lư", "Võ Thị Thu Hương")}
    assert at["I. Xã Đông Phong"] < at["1. Chi hội thôn 1"] < at["2. Chi hội thôn 2"] < at["II. Xã Yên Lư"]
    assert at["II. Xã Yên Lư"] < at["Võ Thị Thu Hương"]
    assert everything.index("Đặng Văn Đức") < everything.index("Nguyễn Thị Hằng")  # by name within a branch
    assert re.search(r"\b1\s+Đặng Văn Đức\b", everything)  # STT
    n = len(pages)
    assert n == 2 and all(f"Trang {i}/{n}" in squash(p) for i, p in enumerate(pages, 1))


def test_dates_follow_the_decree():
    assert date_words(date(2026, 12, 2)) == "ngày 02 tháng 12 năm 2026"
    assert date_words(date(2026, 2, 15)) == "ngày 15 tháng 02 năm 2026"
    assert date_words(date(2026, 3, 5)) == "ngày 05 tháng 3 năm 2026"


def test_long_lists_page_with_continued_headings_and_exact_page_numbers(world):
    names = [f"Hoàng Thị Mỹ Duyên {i:03d}" for i in range(70)]
    decision = decided(world, {(0, 0): names, (1, 1): ["Đặng Văn Đức"]})
    pages = pdf_pages(papers.to_pdf(decision))
    n = len(pages)
    assert n == 1 + len(papers.plan(decision).pages) == 4  # the planned pagination is what was printed
    assert all(f"Trang {i}/{n}" in squash(p) for i, p in enumerate(pages, 1))
    assert "Chi hội thôn 1 (tiếp theo)" in squash(pages[2])  # a page continuing a branch names it again
    assert "Hoàng Thị Mỹ Duyên 069" in squash(pages[3]) and "II. Xã Yên Lư" in squash(pages[3])


def test_the_page_serves_it_to_who_sees_the_decision_and_404_elsewhere(client, world, small):
    login(client, world.approver)
    resp = client.get(f"/decisions/{small.id}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "Đặng Văn Đức" in squash(" ".join(pdf_pages(resp.data)))
    paper = db.session.get(DecisionPaper, small.id)
    assert paper is not None and paper.names == 7 and len(paper.sha256) == 64
    import hashlib

    assert hashlib.sha256(resp.data).hexdigest() == paper.sha256  # the stored file is what was sent
    page = client.get(f"/decisions/{small.id}").get_data(as_text=True)
    assert f'href="/decisions/{small.id}.pdf"' in page
    stranger = build_other_province().approver
    for user in (stranger, world.appraiser(1)):
        login(client, user)
        assert client.get(f"/decisions/{small.id}.pdf").status_code == 404
    assert client.get("/decisions/999999.pdf").status_code == 404


def test_the_api_serves_it_and_hides_it_outside_scope(client, world, small):
    resp = client.get(f"{API}/decisions/{small.id}/pdf", headers=bearer(client, world.approver))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "Nguyễn Thị Hằng" in squash(" ".join(pdf_pages(resp.data)))
    other = client.get(f"{API}/decisions/{small.id}/pdf", headers=bearer(client, world.appraiser(1)))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "decision_not_found"
    assert client.get(f"{API}/decisions/{small.id}/pdf").status_code == 401


def test_a_changed_list_is_printed_again(client, world, small):
    login(client, world.approver)
    first = client.get(f"/decisions/{small.id}.pdf").data
    sha = db.session.get(DecisionPaper, small.id).sha256
    assert client.get(f"/decisions/{small.id}.pdf").data == first  # stored: the same bytes
    one = db.session.scalar(select(Application).where(Application.decision_id == small.id,
                                                      Application.full_name == "Lê Hoàng Yến"))
    one.full_name, one.version = "Lê Hoàng Yến Nhi", one.version + 1
    db.session.commit()
    again = client.get(f"/decisions/{small.id}.pdf")
    db.session.expire_all()
    assert "Lê Hoàng Yến Nhi" in squash(" ".join(pdf_pages(again.data)))
    assert db.session.get(DecisionPaper, small.id).sha256 != sha


def test_a_large_decision_is_printed_by_a_job_with_progress(app, client, world, monkeypatch):
    names = [f"Đinh Thị Lan {i:03d}" for i in range(100)]
    decision = decided(world, {(0, 0): names[:50], (1, 0): names[50:]})
    monkeypatch.setattr(papers, "SYNC_LIMIT", 20)
    monkeypatch.setattr(papers, "CHUNK_PAGES", 1)  # a chunk per page: the counters move several times
    app.config["JOBS_INLINE_SYNC"] = True
    seen: list[int] = []
    real = papers.run_decision_pdf
    monkeypatch.setattr(papers, "run_decision_pdf",
                        lambda job, **kw: real(job, after_chunk=lambda j: seen.append(j.done)))
    login(client, world.approver)
    resp = client.get(f"/decisions/{decision.id}.pdf")
    assert resp.status_code == 302 and f"/decisions/{decision.id}/pdf/job" in resp.headers["Location"]
    db.session.expire_all()
    job = db.session.scalar(select(Job).where(Job.kind == "decision_pdf"))
    assert job.status == "done" and job.done == job.total == 100
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 100  # progress chunk by chunk
    status = client.get(f"/decisions/{decision.id}/pdf/status.json").get_json()
    assert status["status"] == "done" and status["percent"] == 100
    page = client.get(f"/decisions/{decision.id}/pdf/job").get_data(as_text=True)
    assert "data-job-live" in page and f"/decisions/{decision.id}.pdf" in page
    stored = client.get(f"/decisions/{decision.id}.pdf")
    assert stored.status_code == 200 and "Đinh Thị Lan 099" in squash(" ".join(pdf_pages(stored.data)))
    paper = db.session.get(DecisionPaper, decision.id)
    assert paper.job_id == job.id and os.path.exists(papers.file_path(paper, app.config["UPLOAD_DIR"]))
    api = client.get(f"{API}/decisions/{decision.id}/pdf", headers=bearer(client, world.approver))
    assert api.status_code == 200 and api.data == stored.data


def test_the_api_answers_202_while_a_large_decision_is_printed(app, client, world, monkeypatch):
    decision = decided(world, {(0, 0): [f"Lý Thị Thảo {i}" for i in range(30)]})
    monkeypatch.setattr(papers, "SYNC_LIMIT", 10)
    launched: list[int] = []
    monkeypatch.setattr("web.api.papers.launch", launched.append)
    headers = bearer(client, world.approver)
    resp = client.get(f"{API}/decisions/{decision.id}/pdf", headers=headers)
    assert resp.status_code == 202 and resp.get_json()["status"] == "queued" and len(launched) == 1
    again = client.get(f"{API}/decisions/{decision.id}/pdf", headers=headers)
    assert again.status_code == 202 and again.get_json()["job"] == resp.get_json()["job"] and len(launched) == 1


def test_a_look_at_the_first_page(world, small):
    """The first page as PNG (pdftoppm): saved to docs/screenshots/paper-decision.png when docs screenshots are
    asked for (the browser tests' UPDATE_DOC_SCREENSHOTS=1)."""
    with tempfile.TemporaryDirectory() as tmp:
        pdf = os.path.join(tmp, "d.pdf")
        with open(pdf, "wb") as f:
            f.write(papers.to_pdf(small))
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, os.path.join(tmp, "p")],
                       check=True)
        png = next(os.path.join(tmp, n) for n in os.listdir(tmp) if n.endswith(".png"))
        with open(png, "rb") as f:
            data = f.read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
        if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
            out = os.path.join(os.path.dirname(__file__), "..", "docs", "screenshots", "paper-decision.png")
            with open(out, "wb") as f:
                f.write(data)


def test_chunks_printed_in_parallel_processes_join_in_order(world, monkeypatch):
    decision = decided(world, {(0, 0): [f"Tạ Thị Ngọc Diệp {i:03d}" for i in range(80)], (1, 0): ["Đặng Văn Đức"]})
    monkeypatch.setattr(papers, "CHUNK_PAGES", 1)
    buf = io.BytesIO()
    pages, names = papers.render(decision, buf, workers=2)
    found = pdf_pages(buf.getvalue())
    assert names == 81 and pages == len(found) == 4
    assert all(f"Trang {i}/4" in squash(p) for i, p in enumerate(found, 1))
    text = squash(" ".join(found))
    assert text.index("Tạ Thị Ngọc Diệp 000") < text.index("Tạ Thị Ngọc Diệp 079") < text.index("Đặng Văn Đức")


def test_api_responses_conform_to_the_document(client, world, small, monkeypatch):
    from .test_api_openapi import Contract

    c, path = Contract(), f"{API}/decisions/{{decision_id}}/pdf"
    headers = bearer(client, world.approver)
    c.check(client.get(f"{API}/decisions/{small.id}/pdf", headers=headers), "get", path)
    c.check(client.get(f"{API}/decisions/{small.id}/pdf", headers=bearer(client, world.appraiser(0))), "get", path)
    c.check(client.get(f"{API}/decisions/{small.id}/pdf"), "get", path)
    large = decided(world, {(1, 1): [f"Mai Thị Xuân {i}" for i in range(12)]}, number="126/QĐ-SGDĐT")
    monkeypatch.setattr(papers, "SYNC_LIMIT", 10)
    monkeypatch.setattr("web.api.papers.launch", lambda job_id: None)
    c.check(client.get(f"{API}/decisions/{large.id}/pdf", headers=headers), "get", path)
    assert {s for _, _, s in c.seen} == {"200", "202", "401", "404"}


def test_a_branch_officer_gets_no_paper_of_the_whole_decision(client, world, small):
    """The paper is the whole list: only who covers the decision's unit gets it. A branch officer whose people it
    recognises may read their own rows on the page (issue 12 §4), without the PDF button, and the PDF is 404."""
    login(client, world.officer(0, 0))
    assert client.get(f"/decisions/{small.id}.pdf").status_code == 404
    assert client.get(f"{API}/decisions/{small.id}/pdf",
                      headers=bearer(client, world.officer(0, 0))).status_code == 404
    page = client.get(f"/decisions/{small.id}")
    assert page.status_code in (200, 404)
    assert 'id="download-pdf"' not in page.get_data(as_text=True)
