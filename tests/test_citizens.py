"""Citizens across years and places (issue 9, section 2): a CCCD's history within scope (workflow and pages), the
cross-province flag, the in-province refusal that stays, and the index the lookups use (EXPLAIN on both databases).
"""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from workflow import citizens, clock, engine, operations
from workflow.db import db
from workflow.errors import GuardRefused, NotAuthorized, NotFound
from workflow.models import Application, Campaign

from .factories import PASSWORD, build_other_province, bulk_at_appraisal, cdht_at, open_deadlines

CCCD = "079085000123"
NOWHERE = "079085999999"


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def last_years_campaign(other) -> Campaign:
    """A CDHT campaign of last year in another province (a CCCD there is no twin of this year's)."""
    year = clock.today().year - 1
    previous = Campaign(title_code="CDHT", year=year, province=other.province, rubric_id=other.cdht.rubric_id,
                        name="CDHT cũ", **open_deadlines(year))
    db.session.add(previous)
    db.session.commit()
    return previous


def nominate(campaign: Campaign, branch, officer, citizen_id: str = CCCD, name: str = "Trần Thị Bích") -> Application:
    app = operations.create_application(campaign, branch, officer, full_name=name, date_of_birth=date(1985, 2, 3),
                                        citizen_id=citizen_id, subject_group="1")
    db.session.commit()
    return app


def last_year_campaign(world) -> Campaign:
    year = clock.today().year - 1
    campaign = Campaign(title_code="CDHT", year=year, province=world.province, rubric_id=world.cdht.rubric_id,
                        name=f"CDHT năm {year}", **open_deadlines(year))
    db.session.add(campaign)
    db.session.commit()
    return campaign


@pytest.fixture
def spread(world):
    """One CCCD in three places: recognised by a decision in commune 0 this year, withdrawn last year in commune 1
    (same province), and live in the neighbouring province; one more citizen only in the neighbouring province."""
    other = build_other_province("Q")
    recognised = cdht_at(world, "final_approval", citizen_id=CCCD, full_name="Trần Thị Bích")
    decision, outcomes = operations.create_decision(world.cdht, world.province, world.approver, "15/QĐ-UBND",
                                                    date(clock.today().year, 1, 2), "Nguyễn Văn Chủ Tịch",
                                                    [recognised.id])
    assert all(o.ok for o in outcomes)
    db.session.commit()
    old = nominate(last_year_campaign(world), world.branch(1), world.officer(1))
    engine.fire(old, "withdraw", world.officer(1), reason="Chuyển nơi cư trú")
    db.session.commit()
    elsewhere = nominate(other.cdht, other.branch(0), other.officer(0))
    nominate(other.cdht, other.branch(0), other.officer(0), citizen_id=NOWHERE[:-1] + "8")
    return {"world": world, "other": other, "recognised": recognised, "old": old, "elsewhere": elsewhere,
            "decision": decision}


def ids(items) -> set[int]:
    return {i["application_id"] for i in items}


# ---------------------------------------------------------------- history and scope

def test_history_lists_every_file_in_scope_newest_year_first(spread):
    world, rec, old = spread["world"], spread["recognised"], spread["old"]
    citizen_id, items = citizens.history(f"  {CCCD} ", world.approver)  # the province sees both of its communes
    assert citizen_id == CCCD
    assert [i["application_id"] for i in items] == [rec.id, old.id]
    first, second = items
    assert first["campaign"] == {"id": world.cdht.id, "name": "CDHT", "title": "CDHT", "year": clock.today().year}
    assert first["unit"]["name"] == world.branch(0).name and first["province"]["name"] == "Tỉnh Thử Nghiệm"
    assert first["state"] == "recognised"
    assert first["decision"] == {"number": "15/QĐ-UBND", "signed_on": date(clock.today().year, 1, 2)}
    assert second["state"] == "withdrawn" and second["decision"] is None
    assert second["campaign"]["year"] == clock.today().year - 1 and second["unit"]["name"] == world.branch(1).name
    # the auditor of the province is scoped like the audit pages: the same two, never the other province's
    assert ids(citizens.history(CCCD, world.auditor)[1]) == {rec.id, old.id}


def test_an_appraiser_sees_only_the_files_of_their_commune(spread):
    world, other = spread["world"], spread["other"]
    assert ids(citizens.history(CCCD, world.appraiser(0))[1]) == {spread["recognised"].id}
    assert ids(citizens.history(CCCD, world.appraiser(1))[1]) == {spread["old"].id}
    assert ids(citizens.history(CCCD, other.approver)[1]) == {spread["elsewhere"].id}


def test_a_cccd_only_outside_scope_is_not_found_like_one_that_does_not_exist(spread, client):
    world = spread["world"]
    only_elsewhere = NOWHERE[:-1] + "8"
    for cccd in (only_elsewhere, NOWHERE):
        with pytest.raises(NotFound) as caught:
            citizens.history(cccd, world.approver)
        assert caught.value.code == "citizen_not_found"
    login(client, world.approver)
    pages = [client.get(f"/citizens/{c}") for c in (only_elsewhere, NOWHERE)]
    assert [p.status_code for p in pages] == [404, 404]
    bodies = [p.get_data(as_text=True).replace(c, "CCCD") for p, c in zip(pages, (only_elsewhere, NOWHERE),
                                                                             strict=True)]
    assert bodies[0] == bodies[1]
    assert "Không có hồ sơ nào của số CCCD này trong phạm vi đơn vị của bạn." in bodies[0]


def test_grants_of_other_roles_do_not_widen_the_scope(spread):
    """A person who is a branch officer of commune 1's branch and appraiser of commune 0 sees only commune 0's
    file: the history is judged with the grants of the history roles alone."""
    from workflow.models import RoleGrant

    world = spread["world"]
    appraiser = world.appraiser(0)
    db.session.add(RoleGrant(user=appraiser, role="branch_officer", unit=world.branch(1)))
    db.session.commit()
    db.session.expire_all()
    assert ids(citizens.history(CCCD, db.session.get(type(appraiser), appraiser.id))[1]) == {spread["recognised"].id}


@pytest.mark.parametrize("typed, code", [("０７９０８５０００１２３", "citizen_id_ascii"),
                                         ("٠٧٩٠٨٥٠٠٠١٢٣", "citizen_id_ascii"),
                                         ("07908500012", "invalid_field"), ("07908500012x", "invalid_field")])
def test_a_cccd_that_is_not_twelve_ascii_digits_is_refused(spread, client, typed, code):
    world = spread["world"]
    with pytest.raises(GuardRefused) as caught:
        citizens.history(typed, world.approver)
    assert caught.value.code == code
    login(client, world.approver)
    assert client.get(f"/citizens/{typed}").status_code == 422
    assert client.get("/citizens", query_string={"cccd": typed}).status_code == 422


def test_a_branch_officer_may_not_look_citizens_up(spread, client):
    """403 whatever the CCCD (one of their own files, one elsewhere, none, a malformed one): the role is refused
    before the CCCD is read, so nothing about the citizen can be learnt from the answer."""
    world = spread["world"]
    for cccd in (CCCD, NOWHERE, "١٢"):
        with pytest.raises(NotAuthorized):
            citizens.history(cccd, world.officer(0))
    login(client, world.officer(0))
    assert {client.get(f"/citizens/{c}").status_code for c in (CCCD, NOWHERE)} == {403}
    assert client.get("/citizens").status_code == 403 and client.get("/citizens/flagged").status_code == 403
    home = client.get("/").get_data(as_text=True)
    assert 'id="nav-citizens"' not in home
    detail = client.get(f"/applications/{spread['recognised'].id}").get_data(as_text=True)
    assert 'id="citizen-history-link"' not in detail


def test_the_pages_show_the_history_with_names_and_dates(spread, client):
    world = spread["world"]
    login(client, world.approver)
    assert 'id="nav-citizens"' in client.get("/").get_data(as_text=True)
    form = client.get("/citizens")
    assert form.status_code == 200 and 'name="cccd"' in form.get_data(as_text=True)
    typed = client.get("/citizens", query_string={"cccd": f" {CCCD} "})
    assert typed.status_code == 302 and typed.headers["Location"].endswith(f"/citizens/{CCCD}")
    page = client.get(f"/citizens/{CCCD}")
    assert page.status_code == 200
    shown = page_text(page)
    year = clock.today().year
    for expected in ("Lịch sử công dân", "Tỉnh Thử Nghiệm", world.branch(0).name, world.branch(1).name,
                     "Đã công nhận", "Đã rút", "15/QĐ-UBND", f"ký ngày 02/01/{year}", f"CDHT năm {year - 1}"):
        assert expected in shown, expected
    assert "Tỉnh Bên Cạnh" not in shown and world.branch(0).code not in shown
    detail = client.get(f"/applications/{spread['recognised'].id}").get_data(as_text=True)
    assert f'href="/citizens/{CCCD}" id="citizen-history-link"' in detail and "Lịch sử của công dân này" in detail


# ---------------------------------------------------------------- the cross-province flag

@pytest.fixture
def twins(world):
    other = build_other_province("Q")
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    there = nominate(other.cdht, other.branch(0), other.officer(0))
    return world, other, here, there


def test_both_provinces_appraisers_see_the_flag(twins, client):
    world, other, here, there = twins
    assert citizens.flags(here, world.appraiser(0)) == [
        {"code": "cross_province", "province": "Tỉnh Bên Cạnh", "campaign_id": other.cdht.id, "campaign": "CDHT",
         "year": clock.today().year}]
    assert [f["province"] for f in citizens.flags(there, other.appraiser(0))] == ["Tỉnh Thử Nghiệm"]
    assert [f["province"] for f in citizens.flags(there, other.auditor)] == ["Tỉnh Thử Nghiệm"]
    login(client, world.appraiser(0))
    banner = page_text(client.get(f"/applications/{here.id}"))
    assert (f"Công dân này cũng đang có hồ sơ ở Tỉnh Bên Cạnh trong năm {clock.today().year} (CDHT)."
            in banner)
    login(client, other.appraiser(0))
    banner = page_text(client.get(f"/applications/{there.id}"))
    assert f"Công dân này cũng đang có hồ sơ ở Tỉnh Thử Nghiệm trong năm {clock.today().year}" in banner
    assert world.branch(0).name not in banner  # the other side's unit (and anything else) is not shown


def test_the_flag_is_for_appraisers_not_the_nominating_branch(twins, client):
    world, _other, here, _there = twins
    assert citizens.flags(here, world.officer(0)) == []
    login(client, world.officer(0))
    assert "Tỉnh Bên Cạnh" not in page_text(client.get(f"/applications/{here.id}"))


def test_no_flag_for_another_year_or_another_title(world):
    other = build_other_province("Q")
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    previous = last_years_campaign(other)
    nominate(previous, other.branch(0), other.officer(0))
    assert citizens.flags(here, world.appraiser(0)) == []
    assert db.session.scalars(citizens.flagged_query(world.approver)).all() == []


def test_a_withdrawn_twin_lifts_the_flag_on_both_sides(twins):
    world, other, here, there = twins
    engine.fire(there, "withdraw", other.officer(0), reason="Trùng hồ sơ")
    db.session.commit()
    assert citizens.flags(here, world.appraiser(0)) == []
    assert citizens.flags(there, other.appraiser(0)) == []  # a withdrawn file is not live: nothing to warn about


def test_a_rejected_twin_still_counts_as_live(twins):
    """Live = not withdrawn, as the partial unique index: a rejected file keeps its CCCD in its campaign."""
    world, other, here, there = twins
    engine.fire(here, "reject", world.appraiser(0), reason="Chưa đạt")
    db.session.commit()
    assert [f["province"] for f in citizens.flags(there, other.appraiser(0))] == ["Tỉnh Thử Nghiệm"]


def test_the_flagged_list_holds_only_flagged_files_in_scope(twins, client):
    world, other, here, there = twins
    cdht_at(world, "commune_appraisal")  # a citizen without a twin
    assert [a.id for a in db.session.scalars(citizens.flagged_query(world.approver))] == [here.id]
    assert [a.id for a in db.session.scalars(citizens.flagged_query(world.appraiser(1)))] == []
    assert [a.id for a in db.session.scalars(citizens.flagged_query(other.approver))] == [there.id]
    login(client, world.appraiser(0))
    page = client.get("/citizens/flagged")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert f'id="flagged-{here.id}"' in shown and "Tỉnh Bên Cạnh" in shown and f'id="flagged-{there.id}"' not in shown


def test_in_one_province_the_same_cccd_stays_refused(world):
    cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    before = db.session.scalar(select(func.count()).select_from(Application))
    with pytest.raises(GuardRefused) as caught:  # another commune of the same province, same campaign
        operations.create_application(world.cdht, world.branch(1), world.officer(1), full_name="Trần Thị Bích",
                                      date_of_birth=date(1985, 2, 3), citizen_id=CCCD, subject_group="1")
    assert caught.value.code == "duplicate_subject"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Application)) == before
    # and no second campaign of the same title and year can exist in the province to slip the twin into
    db.session.add(Campaign(title_code="CDHT", year=world.cdht.year, province=world.province,
                            rubric_id=world.cdht.rubric_id, name="CDHT bis", **open_deadlines(world.cdht.year)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# ---------------------------------------------------------------- the index (EXPLAIN)

def _plan_index_names(statement) -> set[str]:
    """The index names in the database's own plan of `statement`, with default planner settings."""
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    sql = str(compiled)
    if db.engine.dialect.name == "postgresql":
        plan = db.session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found: set[str] = set()

        def walk(node):
            if "Index Name" in node:
                found.add(node["Index Name"])
            for child in node.get("Plans", []):
                walk(child)

        walk(plan[0]["Plan"])
        return found
    rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
    return {m.group(1) for r in rows if (m := re.search(r"USING (?:COVERING )?INDEX (\w+)", r[-1]))}


def test_the_history_lookup_and_the_flag_use_the_citizen_index(world, owner_engine):
    """A few thousand files, statistics gathered, default settings: the plan of the history lookup (and of one
    file's twins) names ix_applications_citizen_id. Without the index both would read the whole table."""
    bulk_at_appraisal(world, 3000)
    bulk_at_appraisal(world, 3000, commune=1)
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    with owner_engine.begin() as conn:
        conn.execute(text("ANALYZE applications" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
    db.session.expire_all()
    # PostgreSQL may as well take the CCCD prefix index of the queue's search (migration 0012): also an index
    either = {"ix_applications_citizen_id", "ix_applications_citizen_prefix"}
    assert either & set(_plan_index_names(citizens.history_query(CCCD, world.approver)))
    assert either & set(_plan_index_names(citizens.history_query(CCCD, world.auditor)))
    assert either & set(_plan_index_names(citizens.twins_query(db.session.get(Application, here.id))))
