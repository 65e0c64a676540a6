"""The auditor's and citizens' pages at provincial volume (issue 10, section 2), as behaviour: the audit log is paged
by cursor (every event exactly once, in order, both ways, with filters and scope unchanged), its count is exact up
to a cap and labelled "more than" past it; the chain page's capped counts are labelled and the API says which are
capped; the flagged-citizens list starts from cross_province_citizens, kept by triggers for every way a twin can
appear, and still applies the exact rule. SQLite and PostgreSQL. (The plans are tests/test_explain.py's.)"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from workflow import audit, citizens, clock, engine, queries
from workflow.db import db
from workflow.models import Application, AuditEvent, Campaign, CrossProvinceCitizen, Unit

from .factories import build_other_province, cdht_at
from .test_api_support import API, bearer
from .test_citizens import last_years_campaign, login, page_text
from .test_citizens import nominate as nominate_at

CCCD = "079085000777"


def listed(html: str) -> list[int]:
    body = re.search(r'<table class="list" id="log">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", body)]


def link(html: str, name: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="log-{name}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def events_of(province: Unit, **where) -> list[int]:
    stmt = (select(AuditEvent.id).join(Application, Application.id == AuditEvent.application_id)
            .join(Unit, Unit.id == Application.unit_id).where(Unit.path.startswith(province.path))
            .filter_by(**where).order_by(AuditEvent.id.desc()))
    return list(db.session.scalars(stmt))


@pytest.fixture
def two(world):
    """Files in both provinces, interleaved so that the other province's events fall between ours."""
    other = build_other_province()
    for i in range(6):
        cdht_at(world, "commune_appraisal" if i % 2 else "branch_scoring", commune=i % 2)
        cdht_at(other, "branch_scoring")
    return world, other


def walk(client, first: str, forward: str) -> tuple[list[list[int]], str]:
    """Follow the `forward` links ("older" or "newer") from `first` to the end: (each page's ids, last URL)."""
    pages, url = [], first
    for _ in range(100):
        html = client.get(url).get_data(as_text=True)
        pages.append(listed(html))
        nxt = link(html, forward)
        if nxt is None:
            return pages, url
        url = nxt
    raise AssertionError("the pager does not end")


@pytest.mark.parametrize("query", ["", "&action=submit", "&unit={commune}"])
def test_paging_visits_every_event_once_in_order_both_ways(client, two, query):
    world, _other = two
    login(client, world.auditor)
    query = query.format(commune=world.communes[1].id)
    expected = events_of(world.province, **({"action": "submit"} if "action" in query else {}))
    if "unit" in query:
        expected = events_of(world.communes[1])
    pages, last = walk(client, f"/audit/log?per_page=4{query}", "older")
    seen = [i for p in pages for i in p]
    assert seen == expected and len(seen) == len(set(seen)) and len(pages) == -(-len(expected) // 4)
    assert all(len(p) == 4 for p in pages[:-1])
    back, _ = walk(client, last, "newer")  # and back up by the "newer" links: the same pages, newest last
    assert back == pages[::-1]
    first = client.get(f"/audit/log?per_page=4{query}").get_data(as_text=True)
    assert link(first, "newer") is None and link(first, "newest") is None  # nothing newer than the newest


def test_a_page_is_stable_while_new_events_arrive(client, two):
    """Cursors, not offsets: an event written between two clicks does not shift the next page."""
    world, _other = two
    login(client, world.auditor)
    html = client.get("/audit/log?per_page=3").get_data(as_text=True)
    older = link(html, "older")
    expected = client.get(older).get_data(as_text=True)
    cdht_at(world, "evidence_collection")  # a new event, newest of all
    assert listed(client.get(older).get_data(as_text=True)) == listed(expected)


def test_the_log_never_shows_another_provinces_events(client, two):
    world, other = two
    login(client, world.auditor)
    pages, _ = walk(client, "/audit/log?per_page=5", "older")
    seen = {i for p in pages for i in p}
    assert seen == set(events_of(world.province)) and not seen & set(events_of(other.province))
    # a cursor or a unit from outside my units shows nothing of them either
    foreign = events_of(other.province)[0]
    assert not set(listed(client.get(f"/audit/log?before={foreign + 1}").get_data(as_text=True))) & {foreign}
    html = client.get(f"/audit/log?unit={other.province.id}").get_data(as_text=True)
    assert listed(html) == [] and "0 sự kiện" in page_text(client.get(f"/audit/log?unit={other.province.id}"))


def test_the_count_is_exact_below_the_cap_and_labelled_past_it(client, two, monkeypatch):
    world, _other = two
    login(client, world.auditor)
    mine = len(events_of(world.province))
    assert f"{mine} sự kiện" in page_text(client.get("/audit/log?per_page=4"))  # exact, though paged
    monkeypatch.setattr(queries, "LOG_COUNT_CAP", 5)
    capped = page_text(client.get("/audit/log?per_page=4"))
    assert "Hơn 5 sự kiện" in capped and "bộ lọc" in capped and f"{mine} sự kiện" not in capped
    assert "1 sự kiện" in page_text(client.get("/audit/log?action=reject")) or "0 sự kiện" in page_text(
        client.get("/audit/log?action=reject"))  # a filtered list under the cap is counted exactly again


def test_the_csv_export_holds_the_whole_filtered_log(client, two, monkeypatch):
    world, _other = two
    login(client, world.auditor)
    from web.views import auditing

    monkeypatch.setattr(auditing, "CSV_ROWS", 7)
    rows = client.get("/audit/log.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == events_of(world.province)[:7]


def test_actor_names_are_those_of_my_units_whole_trail_or_not(two):
    world, other = two
    mine = set(db.session.scalars(select(AuditEvent.actor_name).where(AuditEvent.id.in_(events_of(world.province)))))
    assert set(queries.audit_actor_names(world.auditor)) == mine
    assert set(db.session.scalars(queries.audit_actor_names_query(world.auditor, scoped=False))) == set(
        db.session.scalars(select(AuditEvent.actor_name)))


def test_chain_counts_are_capped_and_labelled(client, two, monkeypatch):
    world, other = two
    audit.seal_all()
    cdht_at(world, "evidence_collection")
    db.session.commit()
    mine = len(events_of(world.province))
    status = queries.audit_status(world.auditor)
    assert (status["sealed"], status["waiting"], status["counts_capped"]) == (mine - 1, 1, False)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    status = queries.audit_status(world.auditor)
    assert (status["sealed"], status["sealed_capped"], status["waiting"], status["waiting_capped"]) == (3, True, 1,
                                                                                                        False)
    login(client, world.auditor)
    html = page_text(client.get("/audit/chain"))
    assert "hơn 3" in html and "chưa đếm hết" in html
    body = client.get(f"{API}/audit/verify", headers=bearer(world.auditor)).get_json()
    assert body["ok"] is True and body["sealed"] == 3 and body["sealed_capped"] is True
    assert body["waiting"] == 1 and body["waiting_capped"] is False and body["counts_capped"] is True


def test_the_integrity_verdict_is_still_the_full_walk(two):
    """Capping the counts never touches the verdict: an altered sealed event is named wherever it lies."""
    world, _other = two
    audit.seal_all()
    victim = events_of(world.province)[-1]  # the oldest: far behind any cap
    from .factories import tamper

    tamper(f"UPDATE audit_events SET reason = 'sửa lén' WHERE id = {victim}")
    status = queries.audit_status(world.auditor, cap=1)
    assert status["ok"] is False and status["first_bad"] == victim and status["problem"] == "altered"


# ---------------------------------------------------------------- the flagged list and its triggers

def noted() -> set[str]:
    return set(db.session.scalars(select(CrossProvinceCitizen.citizen_id)))


def nominate(campaign: Campaign, world, citizen_id: str = CCCD) -> Application:
    return nominate_at(campaign, world.branch(0), world.officer(0), citizen_id)


def flagged_ids(actor) -> list[int]:
    return [a.id for a in db.session.scalars(citizens.flagged_query(actor))]


def test_an_inserted_twin_is_noted_and_listed(world):
    other = build_other_province()
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    assert noted() == set() and flagged_ids(world.approver) == []
    there = nominate(other.cdht, other)
    assert noted() == {CCCD}
    assert flagged_ids(world.approver) == [here.id] and flagged_ids(other.approver) == [there.id]


def test_a_twin_made_by_changing_a_cccd_is_noted(world):
    """Any writer, even a hand-written UPDATE: the trigger sees it."""
    other = build_other_province()
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    there = nominate(other.cdht, other, citizen_id="079085000778")
    assert noted() == set()
    db.session.execute(text("UPDATE applications SET citizen_id = :c, subject_key = :c WHERE id = :i"),
                       {"c": CCCD, "i": there.id})
    db.session.commit()
    assert noted() == {CCCD} and flagged_ids(world.approver) == [here.id]


def test_a_twin_made_by_changing_a_campaigns_year_is_noted(world):
    other = build_other_province()
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    previous = last_years_campaign(other)
    nominate(previous, other)
    assert noted() == set()  # another year: no twin
    db.session.delete(other.cdht)  # make room for this year's title in that province
    db.session.flush()
    previous.year = clock.today().year
    db.session.commit()
    assert noted() == {CCCD} and flagged_ids(world.approver) == [here.id]


def test_a_withdrawn_twin_leaves_a_stale_note_but_no_flag(world):
    other = build_other_province()
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    there = nominate(other.cdht, other)
    engine.fire(there, "withdraw", other.officer(0), reason="Trùng hồ sơ")
    db.session.commit()
    assert noted() == {CCCD}  # never pruned...
    assert flagged_ids(world.approver) == [] and flagged_ids(other.approver) == []  # ...the exact rule decides
    assert here.id


def test_the_flagged_page_counts_from_the_list(client, world):
    other = build_other_province()
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    nominate(other.cdht, other)
    login(client, world.appraiser(0))
    shown = client.get("/citizens/flagged")
    assert shown.status_code == 200 and f'id="flagged-{here.id}"' in shown.get_data(as_text=True)
    assert "1 hồ sơ" in page_text(shown)
    body = client.get(f"{API}/citizens/flagged", headers=bearer(world.approver)).get_json()
    assert [i["id"] for i in body["items"]] == [here.id] and body["total"] == 1
    assert db.session.scalar(select(func.count()).select_from(CrossProvinceCitizen)) == 1
