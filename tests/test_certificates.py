"""Certificates with a public check (issue 12 §2): serials per province and year, unguessable codes, the PDF (text
and QR code read back), /verify/<code> for valid, revoked, expired, unknown and malformed codes, its rate limit,
and no personal data beyond what the paper shows."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select

from workflow import certificates, clock, engine, operations, validity
from workflow.db import db
from workflow.models import Certificate
from workflow.papers import certificates as papers

from .factories import PASSWORD, add_all_evidence, cdht_at, score_all

NAME = "Đặng Thị Hương"
CCCD = "001190000001"
BIRTH = date(1987, 4, 23)


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def decide(world, ids, number="42/QĐ-UBND", signed_on=None):
    decision, outcomes = operations.create_decision(world.cdht, world.province, world.approver, number,
                                                    signed_on or clock.today(), "Nguyễn Văn Ất", ids)
    assert all(o.ok for o in outcomes)
    db.session.commit()
    return decision


def certs_of(decision) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.decision_id == decision.id)
                                   .order_by(Certificate.seq)))


@pytest.fixture
def decided(world):
    app = cdht_at(world, "final_approval", full_name=NAME, citizen_id=CCCD, date_of_birth=BIRTH)
    decision = decide(world, [app.id])
    return {"world": world, "app": app, "decision": decision, "cert": certs_of(decision)[0]}


def test_serials_are_consecutive_per_province_and_year_across_decisions(world):
    first = [cdht_at(world, "final_approval", full_name=f"Người {i}").id for i in range(3)]
    second = [cdht_at(world, "final_approval", commune=1, full_name=f"Người {i}").id for i in range(2)]
    recognised = cdht_at(world, "recognised", full_name="Đã công nhận")  # attached set-wise, not by the engine
    one = decide(world, first + [recognised.id], "1/QĐ")
    two = decide(world, second, "2/QĐ")
    year = clock.today().year
    serials = [c.serial for c in certs_of(one) + certs_of(two)]
    assert serials == [f"TN-{year}-{n:06d}" for n in range(1, 7)]  # Tỉnh Thử Nghiệm: TN
    assert {c.application_id for c in certs_of(one)} == set(first) | {recognised.id}
    last_year = cdht_at(world, "final_approval", full_name="Năm trước")
    old = decide(world, [last_year.id], "3/QĐ", date(year - 1, 12, 30))
    assert certs_of(old)[0].serial == f"TN-{year - 1}-000001"  # the year of signing has its own count


def test_codes_are_unguessable_and_unique(world):
    ids = [cdht_at(world, "final_approval", full_name=f"Người {i}").id for i in range(5)]
    codes = [c.code for c in certs_of(decide(world, ids))]
    assert len(set(codes)) == 5
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", code)
        assert len(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))) * 8 >= 128  # 192 random bits
        assert not code.isdigit()
    assert len({certificates.new_code() for _ in range(2000)}) == 2000


def test_xht_certificate_has_the_commune_and_its_level(world):
    xht = world.new_xht(0, 1)
    side = world.appraiser(0)
    add_all_evidence(xht, side)
    engine.fire(xht, "submit", side)
    score_all(xht, side, 1)
    engine.fire(xht, "submit", side)
    engine.fire(xht, "approve", world.approver)
    db.session.commit()
    decision, outcomes = operations.create_decision(world.xht, world.province, world.approver, "9/QĐ",
                                                    clock.today(), "Nguyễn Văn Ất", [xht.id])
    assert all(o.ok for o in outcomes)
    db.session.commit()
    facts = certificates.lookup(certs_of(decision)[0].code)
    assert (facts.name, facts.level, facts.title_code) == (world.communes[0].name, 1, "XHT")
    assert facts.valid_until == validity.valid_until("XHT", clock.today())


def test_backfill_issues_missing_certificates_once(runner, decided):
    decision = decided["decision"]
    db.session.execute(delete(Certificate))
    db.session.commit()
    result = runner.invoke(args=["certificates", "issue", "--decision", str(decision.id)])
    assert result.exit_code == 0, result.output
    assert "1 certificates issued" in result.output
    again = runner.invoke(args=["certificates", "issue"])
    assert "0 certificates issued" in again.output
    assert len(certs_of(decision)) == 1


def test_the_pdf_prints_the_name_serial_and_verify_address(app, client, decided, tmp_path):
    login(client, decided["world"].approver)
    response = client.get(f"/decisions/{decided['decision'].id}/certificates.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    cert = decided["cert"]
    url = f"http://localhost/verify/{cert.code}"
    assert NAME in text and cert.serial in text and "42/QĐ-UBND" in text
    assert url in text.replace("\n", "")
    assert CCCD not in text and BIRTH.strftime("%d/%m/%Y") not in text
    assert "Sở Giáo dục và Đào tạo tỉnh Thử Nghiệm" in " ".join(text.split())
    valid = validity.valid_until("CDHT", clock.today()).strftime("%d/%m/%Y")
    assert valid in text
    # the QR code read back from the printed page (zbar-tools and poppler-utils, installed by .ci/run)
    (tmp_path / "c.pdf").write_bytes(response.data)
    assert shutil.which("pdftoppm") and shutil.which("zbarimg")
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "c.png")], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert decoded == url


def test_pdf_batches_and_who_may_download(app, client, world, monkeypatch):
    ids = [cdht_at(world, "final_approval", commune=c, full_name=f"Người {c}").id for c in (0, 0, 1)]
    decision = decide(world, ids)
    login(client, world.officer(1))  # a branch officer of commune 1: its own certificate only
    only = PdfReader(io.BytesIO(client.get(f"/decisions/{decision.id}/certificates.pdf").data))
    assert len(only.pages) == 1 and "Người 1" in only.pages[0].extract_text()
    login(client, world.approver)
    batch = client.get(f"/decisions/{decision.id}/certificates.pdf?unit={world.branch(0).id}")
    assert len(PdfReader(io.BytesIO(batch.data)).pages) == 2
    monkeypatch.setitem(app.config, "CERTIFICATES_PER_PDF", 2)  # above the limit: the page of batches
    page = client.get(f"/decisions/{decision.id}/certificates.pdf")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f"unit={world.branch(0).id}" in page.get_data(as_text=True)
    monkeypatch.setitem(app.config, "CERTIFICATES_PER_PDF", 1)  # a branch above it: printed in parts
    assert "part=2" in client.get(f"/decisions/{decision.id}/certificates.pdf").get_data(as_text=True)
    parts = [client.get(f"/decisions/{decision.id}/certificates.pdf?unit={world.branch(0).id}&part={k}")
             for k in (1, 2, 3)]
    assert [len(PdfReader(io.BytesIO(r.data)).pages) for r in parts[:2]] == [1, 1] and parts[2].status_code == 404
    assert parts[0].data != parts[1].data
    monkeypatch.setitem(app.config, "CERTIFICATES_PER_PDF", 2)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://xacminh.example.vn")
    printed = client.get(f"/decisions/{decision.id}/certificates.pdf?unit={world.branch(1, 0).id}")
    assert "https://xacminh.example.vn/verify/" in PdfReader(io.BytesIO(printed.data)).pages[0].extract_text()
    client.post("/logout")
    assert client.get(f"/decisions/{decision.id}/certificates.pdf").status_code in (302, 401)


def test_a5_paper_is_configurable(decided):
    facts = certificates.of_decision(decided["decision"])
    pdf, pages = papers.render(facts, "http://h", "A5")
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert pages == 1 and round(float(box.width)) == 595 and round(float(box.height)) == 420  # A5 landscape


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_verify_a_valid_certificate_shows_only_the_paper(client, decided):
    response = client.get(f"/verify/{decided['cert'].code}")
    assert response.status_code == 200
    text = page_text(response)
    assert NAME in text and decided["cert"].serial in text and "42/QĐ-UBND" in text
    assert "Công dân học tập" in text and "Sở Giáo dục và Đào tạo tỉnh Thử Nghiệm" in text
    assert validity.valid_until("CDHT", clock.today()).strftime("%d/%m/%Y") in text
    body = response.get_data(as_text=True)
    assert CCCD not in body and BIRTH.strftime("%d/%m/%Y") not in body and BIRTH.isoformat() not in body
    assert 'name="robots" content="noindex' in body and response.headers["X-Robots-Tag"].startswith("noindex")
    assert 'name="viewport"' in body
    client.get("/lang/en")
    assert "Learning Citizen" in page_text(client.get(f"/verify/{decided['cert'].code}"))


def test_verify_shows_a_revocation_at_once_without_its_reason(client, decided):
    reason = "Khai báo không trung thực"
    engine.fire(decided["app"], "revoke", decided["world"].approver, reason=reason)
    db.session.commit()
    response = client.get(f"/verify/{decided['cert'].code}")
    text = page_text(response)
    assert f"Đã thu hồi ngày {clock.today().strftime('%d/%m/%Y')} (không công bố lý do)" in text
    assert reason not in text and NAME in text
    assert certificates.of_decision(decided["decision"]) == []  # never printed again
    db.session.execute(delete(Certificate))
    db.session.commit()
    assert certificates.backfill() == {decided["decision"].id: 1}  # a file revoked after its decision had a paper
    db.session.commit()
    revoked = certificates.lookup(certs_of(decided["decision"])[0].code)
    assert revoked.status == "revoked" and revoked.revoked_on == clock.today()


def test_verify_shows_expired_after_valid_until(client, decided, time_machine):
    until = validity.valid_until("CDHT", clock.today())
    time_machine.move_to(f"{until.isoformat()} 12:00:00+07:00")
    assert "Đã hết hiệu lực" not in page_text(client.get(f"/verify/{decided['cert'].code}"))
    time_machine.move_to(f"{(until + timedelta(days=1)).isoformat()} 12:00:00+07:00")
    assert "Đã hết hiệu lực" in page_text(client.get(f"/verify/{decided['cert'].code}"))


def test_unknown_and_malformed_codes_get_the_same_answer(client, decided):
    code = decided["cert"].code
    unknown = "A" * 32 if code != "A" * 32 else "B" * 32
    answers = [client.get(f"/verify/{c}") for c in (unknown, "x", "' OR 1=1 --", code[:-1], code + "A", "é" * 32)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.data for a in answers}) == 1
    assert len({tuple(sorted((k, v) for k, v in a.headers.items() if k != "Content-Length")) for a in answers}) == 1
    assert NAME not in answers[0].get_data(as_text=True)


def test_verify_is_rate_limited_per_address(app, client, decided, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_LIMIT", "3 per minute")
    code = decided["cert"].code
    for _ in range(3):
        assert client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 200
    assert client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 429
    assert client.get("/verify/" + "A" * 32, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 429
    assert client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "198.51.100.10"}).status_code == 200


def test_qr_payload_is_the_verify_address():
    svg = papers.qr_svg("https://h/verify/abc")
    assert svg.startswith("<svg") and "qrline" in svg
    assert papers.verify_url("https://h/", "abc") == "https://h/verify/abc"


def test_concurrent_decisions_never_share_or_skip_a_serial(app, world):
    """Two decisions of the province issuing at the same moment, each in its own connection: the counter row
    (PostgreSQL's row lock; SQLite's write lock, a loser retrying) gives each its own block, no gaps."""
    import threading

    from sqlalchemy.exc import OperationalError

    from workflow.models import CertificateCounter, Decision

    one = decide(world, [cdht_at(world, "final_approval", full_name=f"Một {i}").id for i in range(4)], "1/QĐ")
    two = decide(world, [cdht_at(world, "final_approval", commune=1, full_name=f"Hai {i}").id for i in range(3)],
                 "2/QĐ")
    db.session.execute(delete(Certificate))
    db.session.execute(delete(CertificateCounter))
    db.session.commit()
    barrier, errors = threading.Barrier(2), []

    def work(decision_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(5)
                for _ in range(20):
                    try:
                        certificates.issue(db.session.get(Decision, decision_id))
                        db.session.commit()
                        return
                    except OperationalError:  # SQLite: the other writer held the database; try again
                        db.session.rollback()
                errors.append("gave up")
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(d.id,)) for d in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    db.session.expire_all()
    seqs = sorted(db.session.scalars(select(Certificate.seq)))
    assert seqs == list(range(1, 8))
    for d, n in ((one, 4), (two, 3)):  # each decision's block is consecutive
        mine = [c.seq for c in certs_of(d)]
        assert len(mine) == n and mine == list(range(mine[0], mine[0] + n))
