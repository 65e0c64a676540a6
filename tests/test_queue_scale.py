"""The work queue at scale (issue 10): paged by cursor in the API and on the page (every file exactly once, newest
first, either way), counted from the summary (the same figure as the list), a search counted up to a cap and
said so, and the file's last action recorded with each state change (the home page's "returned to me")."""
from __future__ import annotations

from workflow import engine, queries
from workflow.db import db
from workflow.models import Application

from .factories import bulk_at_appraisal, cdht_at
from .test_api_support import API, bearer
from .test_web_flow import login, text


def walk(client, user, params: dict, per_page: int = 7) -> tuple[list[int], list[int]]:
    """Page through the API list by `older` to the end, then back by `newer`: the ids seen each way."""
    headers = bearer(user)
    down, page = [], client.get(f"{API}/applications", query_string=params | {"per_page": per_page},
                                headers=headers).get_json()
    while True:
        down += [item["id"] for item in page["items"]]
        if page["older"] is None:
            break
        page = client.get(f"{API}/applications", query_string=params | {"per_page": per_page,
                                                                         "before": page["older"]},
                          headers=headers).get_json()
        assert page["page"] is None and page["pages"] is None
    up = [item["id"] for item in page["items"]][::-1]
    while page["newer"] is not None:
        page = client.get(f"{API}/applications", query_string=params | {"per_page": per_page,
                                                                         "after": page["newer"]},
                          headers=headers).get_json()
        up += [item["id"] for item in page["items"]][::-1]
    return down, up


def test_api_cursor_paging_visits_every_file_once_both_ways(client, world):
    ids = bulk_at_appraisal(world, 30) + bulk_at_appraisal(world, 4, commune=1)
    db.session.commit()
    down, up = walk(client, world.appraiser(), {"state": "commune_appraisal"})
    mine = sorted(ids[:30], reverse=True)
    assert down == mine and up == mine[::-1]
    first = client.get(f"{API}/applications", query_string={"state": "commune_appraisal", "per_page": 7},
                       headers=bearer(world.appraiser())).get_json()
    assert (first["total"], first["pages"], first["page"], first["capped"]) == (30, 5, 1, False)
    assert first["older"] == first["items"][-1]["id"] and first["newer"] is None
    deep = client.get(f"{API}/applications", query_string={"before": mine[20], "per_page": 7},
                      headers=bearer(world.appraiser())).get_json()
    assert [i["id"] for i in deep["items"]] == mine[21:28] and deep["total"] == 30


def test_a_unit_that_does_not_exist_holds_no_files(client, world):
    """Found by the API fuzz test on PostgreSQL: an unknown unit's subtree is empty, not a query error."""
    bulk_at_appraisal(world, 3)
    db.session.commit()
    body = client.get(f"{API}/applications", query_string={"unit": 10**9}, headers=bearer(world.approver)).get_json()
    assert body["items"] == [] and body["total"] == 0
    assert db.session.scalars(queries.applications(world.approver, unit_id=10**9)).all() == []


def test_a_search_is_estimated_or_counted_up_to_a_cap_and_says_so(client, world, monkeypatch, is_pg):
    """PostgreSQL: a search's total is the planner's estimate, said so; elsewhere it is counted up to a cap, said
    so. Either way a list that fits on one page is counted exactly."""
    bulk_at_appraisal(world, 12)
    db.session.commit()
    monkeypatch.setattr(queries, "SEARCH_CAP", 5)
    body = client.get(f"{API}/applications", query_string={"q": "nguoi thu"},
                      headers=bearer(world.appraiser())).get_json()
    if is_pg:
        assert body["estimated"] and not body["capped"] and body["total"] >= 1
    else:
        assert (body["total"], body["capped"], body["estimated"]) == (5, True, False)
    login(client, world.appraiser())
    page = text(client.get("/applications", query_string={"q": "nguoi thu", "state": "all", "per_page": 3}))
    assert ("hồ sơ khớp (ước tính)" in page) if is_pg else ("Hơn 5 hồ sơ khớp" in page and "12 hồ sơ" not in page)
    assert "12 hồ sơ" in text(client.get("/applications", query_string={"q": "nguoi thu", "state": "all"}))
    # ... all on one page: counted exactly, for nothing
    exact = text(client.get("/applications", query_string={"q": "nguoi thu 1", "state": "all"}))
    assert "3 hồ sơ" in exact  # "người thứ 1", "10", "11"


def test_the_page_counts_from_the_summary_and_shows_an_empty_list_without_searching(client, world):
    bulk_at_appraisal(world, 3)
    cdht_at(world, "branch_scoring")
    db.session.commit()
    login(client, world.appraiser())
    assert "3 hồ sơ" in text(client.get("/applications"))
    assert "0 hồ sơ" in text(client.get("/applications", query_string={"state": "recognised"}))
    assert "4 hồ sơ" in text(client.get("/applications", query_string={"state": "all"}))


def test_each_state_change_records_its_action(world):
    app = cdht_at(world, "commune_appraisal")
    assert app.last_action == "submit"
    engine.fire(app, "return", world.appraiser(), reason="Thiếu minh chứng")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Application, app.id).last_action == "return"
    [other] = bulk_at_appraisal(world, 1)
    engine.fire_batch([other], "approve", world.appraiser())
    db.session.commit()
    assert db.session.get(Application, other).last_action == "approve"


def test_the_home_page_lists_files_returned_to_the_branch_until_sent_again(client, world):
    app = cdht_at(world, "commune_appraisal", full_name="Lê Thị Hoa")
    engine.fire(app, "return", world.appraiser(), reason="Thiếu minh chứng học tập")
    db.session.commit()
    login(client, world.officer())
    resp = client.get("/")
    assert 'id="returned"' in resp.get_data(as_text=True)
    assert "Lê Thị Hoa" in text(resp) and "Thiếu minh chứng học tập" in text(resp)
    login(client, world.officer(1))  # another commune's officer: not theirs
    assert 'id="returned"' not in client.get("/").get_data(as_text=True)
    engine.fire(app.id, "submit", world.officer())
    db.session.commit()
    login(client, world.officer())
    assert 'id="returned"' not in client.get("/").get_data(as_text=True)
