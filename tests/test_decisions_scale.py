"""Recognition decisions without the 1,000-row cap (issue 10, section 3): a decision over more files than the old
cap recognises every one with one audit event each; the candidate list is paged and filtered by commune and by
name or CCCD; "every file matching the filter" is resolved by the server within the approver's scope; a decision
too large for one request runs as a job that resumes without recognising anything twice; nothing is stored before
the confirmation, nor half-stored when the work fails; the exports hold every row, in order, with the header."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from web.views.decisions import LIST_PER_PAGE
from workflow import clock, jobs
from workflow import decisions as ops
from workflow.db import db
from workflow.loader import add_unit
from workflow.models import Application, AuditEvent, Decision, Job
from workflow.text import fold

from .factories import PASSWORD, World, build_other_province, make_user

_serial = iter(range(1, 10**6))


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def bulk(campaign, unit, n: int, state: str = "final_approval", name: str = "Người thứ") -> list[int]:
    """n CDHT files of `unit` already in `state` with a passing score summary, inserted set-wise (walking 1,200
    files through every step would only cost time): what the engine judges at final approval is on the row."""
    base = 100_000_000_000 + next(_serial) * 10_000
    past = clock.now() - timedelta(minutes=5)
    rows = [{"campaign_id": campaign.id, "rubric_id": campaign.rubric_id, "unit_id": unit.id, "state": state,
             "version": 4, "subject_key": str(base + i), "citizen_id": str(base + i),
             "full_name": f"{name} {i:04d}", "full_name_folded": fold(f"{name} {i:04d}"), "subject_group": "1",
             "target_level": 1, "score_total": 90, "score_min": 9, "scored_count": 10, "created_at": past,
             "state_changed_at": past, "recognised_at": past if state == "recognised" else None}
            for i in range(n)]
    ids = db.session.scalars(insert(Application.__table__).returning(Application.__table__.c.id,
                                                                     sort_by_parameter_order=True), rows).all()
    db.session.commit()
    return list(ids)


def issue(client, campaign, **fields):
    data = {"number": "125/QĐ-UBND", "signed_on": clock.today().isoformat(), "signer": "Nguyễn Văn Hùng"} | fields
    return client.post(f"/decisions/new?campaign={campaign.id}", data=data)


def events_by_file(ids: list[int]) -> dict[int, list[tuple[str, dict]]]:
    found: dict[int, list[tuple[str, dict]]] = {i: [] for i in ids}
    for app_id, action, payload in db.session.execute(
            select(AuditEvent.application_id, AuditEvent.action, AuditEvent.payload)
            .where(AuditEvent.application_id.in_(ids))):
        found[app_id].append((action, payload))
    return found


def in_decision(decision_id: int) -> int:
    return db.session.scalar(select(func.count()).where(Application.decision_id == decision_id)) or 0


def test_a_decision_over_the_old_cap_recognises_every_file_with_one_event_each(client, world: World):
    awaiting = bulk(world.cdht, world.branch(0), 1000) + bulk(world.cdht, world.branch(1, 1), 150)
    recognised = bulk(world.cdht, world.branch(0, 1), 50, state="recognised", name="Đã công nhận")
    login(client, world.approver)
    page = client.get(f"/decisions/new?campaign={world.cdht.id}")
    assert page.status_code == 200 and 'data-total="1200"' in page.get_data(as_text=True)  # the cap is gone
    confirm = issue(client, world.cdht, all="1")
    body = text(confirm)
    assert confirm.status_code == 200 and "Quyết định này sẽ công nhận 1.200 hồ sơ." in body
    assert "Chờ phê duyệt, được công nhận ngay: 1.150" in body and "bổ sung vào quyết định: 50" in body
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0  # nothing before the confirmation
    as_of = re.search(r'name="as_of" value="([^"]+)"', confirm.get_data(as_text=True)).group(1)
    done = issue(client, world.cdht, all="1", confirm="yes", as_of=as_of)
    assert done.status_code == 302
    decision = db.session.scalar(select(Decision))
    db.session.expire_all()
    assert in_decision(decision.id) == 1200
    states = dict(db.session.execute(select(Application.state, func.count()).where(
        Application.decision_id == decision.id).group_by(Application.state)).all())
    assert states == {"recognised": 1200}
    events = events_by_file(awaiting + recognised)
    assert all(len(e) == 1 for e in events.values())  # one audit event per recognised file, no more
    assert {events[i][0][0] for i in awaiting} == {"approve"} and {events[i][0][0] for i in recognised} == {"decision"}
    assert all(e[0][1]["decision_id"] == decision.id for e in events.values())
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "decision")) == 0  # one chunk
    shown = client.get(f"/decisions/{decision.id}")
    assert 'data-count="1200"' in shown.get_data(as_text=True)
    shown_rows = re.findall(r'<td><a href="/applications/(\d+)">', shown.get_data(as_text=True))
    assert len(shown_rows) == LIST_PER_PAGE  # paged: never the 1,200 rows at once
    again = issue(client, world.cdht, all="1", confirm="yes")
    assert again.status_code == 422 and "đã dùng" in text(again)  # the number stays unique in the campaign


def test_the_commune_filter_and_the_search_show_only_matching_candidates(client, world: World):
    east = bulk(world.cdht, world.branch(0), 30, name="Trần Văn Đông")
    west = bulk(world.cdht, world.branch(1), 20, name="Lê Thị Tây")
    bulk(world.cdht, world.branch(1), 5, state="commune_appraisal", name="Chưa tới")  # not a candidate
    login(client, world.approver)
    base = f"/decisions/new?campaign={world.cdht.id}&per_page=200"
    page = client.get(f"{base}&commune={world.communes[1].id}").get_data(as_text=True)
    assert 'data-total="20"' in page
    assert all(f'id="pick-{i}"' in page for i in west) and not any(f'id="pick-{i}"' in page for i in east)
    assert all(f'<option value="{c.id}"' in page for c in world.communes)  # the communes are the choices
    by_name = client.get(f"{base}&q=tran van dong").get_data(as_text=True)  # no diacritics, any case
    assert 'data-total="30"' in by_name and not any(f'id="pick-{i}"' in by_name for i in west)
    cccd = db.session.get(Application, west[3]).citizen_id
    by_id = client.get(f"{base}&q={cccd}").get_data(as_text=True)
    assert 'data-total="1"' in by_id and f'id="pick-{west[3]}"' in by_id
    # every file matching the filter: the commune's only
    issue(client, world.cdht, all="1", commune=str(world.communes[1].id), confirm="yes")
    decision = db.session.scalar(select(Decision))
    db.session.expire_all()
    assert set(db.session.scalars(select(Application.id).where(Application.decision_id == decision.id))) == set(west)


def test_every_file_matching_stays_within_the_approvers_scope(client, world3: World):
    """A district approver's "every file" never reaches another district's commune of the same campaign, nor
    another province's files, whatever commune id is posted."""
    w = world3
    other_district = add_unit("D3X", "Huyện Bên Kia", "district", w.province)
    far_commune = add_unit("D3XC", "Xã Xa", "commune", other_district)
    far_branch = add_unit("D3XCB", "Chi hội xa", "branch", far_commune)
    make_user("district_approver", other_district)
    foreign = build_other_province("Q")
    db.session.commit()
    own = bulk(w.cdht, w.branch(0), 12)
    outside = bulk(w.cdht, far_branch, 7)
    abroad = bulk(foreign.cdht, foreign.branch(0), 9)
    assert ops.count(ops.candidates(w.cdht, w.district, w.approver, ops.Filter(far_commune.id))) == 0
    login(client, w.approver)
    page = client.get(f"/decisions/new?campaign={w.cdht.id}&commune={far_commune.id}").get_data(as_text=True)
    assert 'data-total="12"' in page and far_commune.name not in page  # not a choice: no commune filter at all
    for commune in (far_commune.id, foreign.communes[0].id, ""):
        confirm = issue(client, w.cdht, all="1", commune=str(commune))
        assert "Quyết định này sẽ công nhận 12 hồ sơ." in text(confirm), commune
    assert issue(client, w.cdht, all="1", commune=str(far_commune.id), confirm="yes").status_code == 302
    ticked = issue(client, w.cdht, number="126/QĐ-UBND", ids=outside + abroad, confirm="yes")
    assert ticked.status_code == 422  # ticked ids outside the scope are not candidates: nothing to decide
    db.session.expire_all()
    decision = db.session.scalar(select(Decision))
    assert set(db.session.scalars(select(Application.id).where(Application.decision_id == decision.id))) == set(own)
    untouched = db.session.scalars(select(Application.state).where(Application.id.in_(outside + abroad))).all()
    assert set(untouched) == {"final_approval"}
    assert not any(events_by_file(outside + abroad).values())


def test_the_candidate_list_is_paged_by_keyset_and_visits_every_file_once(client, world: World):
    ids = bulk(world.cdht, world.branch(0), 60)
    login(client, world.approver)
    url, seen, pages = f"/decisions/new?campaign={world.cdht.id}&per_page=25", [], 0
    while url:
        body = client.get(url).get_data(as_text=True)
        assert 'data-total="60"' in body
        seen += [int(i) for i in re.findall(r'id="pick-(\d+)"', body)]
        older = re.search(r'href="([^"]+)" rel="next"', body)
        url = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    assert pages == 3 and seen == sorted(ids, reverse=True)  # newest first, each exactly once
    assert client.get(f"/decisions/new?campaign={world.cdht.id}&per_page=100000").status_code == 200


def test_a_large_decision_runs_as_a_job_and_resumes_without_recognising_twice(app, client, world: World,
                                                                              monkeypatch):
    monkeypatch.setattr(ops, "SYNC_LIMIT", 500)
    monkeypatch.setattr(ops, "CHUNK", 300)
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", True)
    awaiting = bulk(world.cdht, world.branch(0), 1100)
    recognised = bulk(world.cdht, world.branch(1), 100, state="recognised")
    decision, job = ops.start_job(world.cdht, world.province, world.approver, "200/QĐ-UBND", clock.today(),
                                  "Nguyễn Văn Hùng", ops.Filter(), clock.now())
    db.session.commit()
    assert job.total == 1200

    def killed(job: Job) -> None:  # the worker dies after its first chunk
        raise RuntimeError("worker killed")

    jobs.run(job.id, after_chunk=killed)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and job.done == 300 and in_decision(decision.id) == 300  # committed chunk kept
    login(client, world.approver)
    page = client.get(f"/decisions/{decision.id}")
    assert page.status_code == 200 and 'id="decision-resume"' in page.get_data(as_text=True)
    status = client.get(f"/decisions/{decision.id}/status.json").get_json()
    assert status["done"] == 300 and status["total"] == 1200 and status["status"] == "failed"
    assert client.post(f"/decisions/{decision.id}/resume").status_code == 302
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.done == 1200 and job.created == 1200 and job.error_count == 0
    assert in_decision(decision.id) == 1200
    events = events_by_file(awaiting + recognised)
    assert all(len(e) == 1 and e[0][1]["decision_id"] == decision.id for e in events.values())  # never twice
    assert 'id="decision-resume"' not in client.get(f"/decisions/{decision.id}").get_data(as_text=True)


def test_the_page_launches_the_job_past_the_sync_limit(app, client, world: World, monkeypatch):
    monkeypatch.setattr(ops, "SYNC_LIMIT", 100)
    monkeypatch.setattr(ops, "CHUNK", 70)
    monkeypatch.setitem(app.config, "JOBS_INLINE_SYNC", True)
    ids = bulk(world.cdht, world.branch(0), 250)
    login(client, world.approver)
    confirm = issue(client, world.cdht, all="1")
    assert 'id="confirm-background"' in confirm.get_data(as_text=True)
    as_of = re.search(r'name="as_of" value="([^"]+)"', confirm.get_data(as_text=True)).group(1)
    later = bulk(world.cdht, world.branch(0), 3, name="Đến sau")  # after the count: not in what was confirmed
    db.session.execute(Application.__table__.update().where(Application.id.in_(later))
                       .values(state_changed_at=clock.now() + timedelta(seconds=1)))
    db.session.commit()
    response = issue(client, world.cdht, all="1", confirm="yes", as_of=as_of)
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision))
    job = ops.issuing_job(decision)
    assert job is not None and job.kind == "decision" and job.status == "done" and job.total == 250
    assert in_decision(decision.id) == 250
    assert set(db.session.scalars(select(Application.state).where(Application.id.in_(later)))) == {"final_approval"}
    assert set(ids) == set(db.session.scalars(select(Application.id).where(Application.decision_id == decision.id)))


def test_a_failure_inside_the_request_stores_nothing(client, world: World, monkeypatch):
    bulk(world.cdht, world.branch(0), 40)
    bulk(world.cdht, world.branch(1), 5, state="recognised")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ops, "_attach_recognised", broken)  # after the engine approved the first 40
    login(client, world.approver)
    with pytest.raises(RuntimeError):
        issue(client, world.cdht, all="1", confirm="yes")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
    assert db.session.scalar(select(func.count()).where(Application.decision_id.is_not(None))) == 0
    assert db.session.scalar(select(func.count()).where(Application.state == "recognised")) == 5
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_the_exports_hold_every_row_in_order_with_the_header(client, world: World):
    ids = bulk(world.cdht, world.branch(0), 1200)
    tricky = bulk(world.cdht, world.branch(1), 1, name="=HYPERLINK")  # a formula is neutralised
    login(client, world.approver)
    assert issue(client, world.cdht, all="1", confirm="yes").status_code == 302
    decision = db.session.scalar(select(Decision))
    expected = [f"Người thứ {i:04d}" for i in range(1200)]
    listing = client.get(f"/decisions/{decision.id}.csv")
    raw = listing.get_data(as_text=True)
    assert "Content-Length" not in listing.headers and raw.startswith("\ufeff")  # streamed, not built whole
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    assert rows[0] == ["STT", "Họ và tên", "Ngày sinh", "Số CCCD", "Đơn vị", "Tổng điểm", "Quyết định", "Ngày ký"]
    assert len(rows) == 1 + 1201 and [r[0] for r in rows[1:]] == [str(i) for i in range(1, 1202)]
    assert rows[1][1] == "'=HYPERLINK 0000" and [r[1] for r in rows[2:]] == expected  # folded-name order
    assert {r[6] for r in rows[1:]} == {"125/QĐ-UBND"}
    book = load_workbook(io.BytesIO(client.get(f"/decisions/{decision.id}.xlsx").data), read_only=True)
    values = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert "125/QĐ-UBND" in values[0][0] and values[1] == rows[0]
    assert len(values) == 2 + 1201 and [v[1] for v in values[3:]] == expected and values[2][1] == "'=HYPERLINK 0000"
    assert [v[0] for v in values[2:]] == list(range(1, 1202)) and values[2][5] == 90
    assert len(ids) + len(tricky) == 1201


def test_a_decision_page_is_paged_with_its_count(client, world: World):
    bulk(world.cdht, world.branch(0), 120)
    login(client, world.approver)
    issue(client, world.cdht, all="1", confirm="yes")
    decision = db.session.scalar(select(Decision))
    first = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
    third = client.get(f"/decisions/{decision.id}?page=3").get_data(as_text=True)
    assert 'data-count="120"' in first and "Người thứ 0000" in first and "Người thứ 0050" not in first
    assert "Người thứ 0119" in third and "Người thứ 0099" not in third and "<td>120</td>" in third


def test_create_decision_keeps_its_rules(world: World):
    """The operation the pages and tests call: refuses an unknown number format, a date to come and nothing to
    decide, and reports per id (a file of another province is not found)."""
    from workflow import operations
    from workflow.errors import GuardRefused

    foreign = build_other_province("R")
    ids = bulk(world.cdht, world.branch(0), 3)
    abroad = bulk(foreign.cdht, foreign.branch(0), 1)
    with pytest.raises(GuardRefused) as exc:
        operations.create_decision(world.cdht, world.province, world.approver, "1/QĐ",
                                   clock.today() + timedelta(days=1), "Lê Tâm", ids)
    assert exc.value.code == "invalid_field"
    db.session.rollback()
    with pytest.raises(GuardRefused) as exc:
        operations.create_decision(world.cdht, world.province, world.approver, "1/QĐ", date(2025, 1, 1), "Lê Tâm",
                                   abroad)
    assert exc.value.code == "nothing_to_decide"
    db.session.rollback()
    decision, outcomes = operations.create_decision(world.cdht, world.province, world.approver, "1/QĐ",
                                                    date(2025, 1, 1), "Lê Tâm", ids + abroad)
    assert [o.ok for o in outcomes] == [True, True, True, False] and outcomes[3].error.code == "not_found"
    db.session.commit()
    assert in_decision(decision.id) == 3


def test_a_large_candidate_list_is_counted_up_to_a_cap_and_the_confirmation_counts_exactly(client, world: World,
                                                                                            monkeypatch):
    from workflow import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 50)
    bulk(world.cdht, world.branch(0), 60)
    login(client, world.approver)
    page = client.get(f"/decisions/new?campaign={world.cdht.id}")
    assert 'data-capped="yes"' in page.get_data(as_text=True) and "Hơn 50 hồ sơ chờ quyết định" in text(page)
    confirm = issue(client, world.cdht, all="1")
    assert "Quyết định này sẽ công nhận 60 hồ sơ." in text(confirm)
