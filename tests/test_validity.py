"""Validity and renewal (issue 12 §3) and decisions for everyone they concern (§4): the XHT level-2 rule at
nomination and at approval, under time-machine; the last day in force at the boundary; the expiry list of a
year; the 90-day reminder, once; renewal links; and a branch's or commune's read-only part of a decision."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from notifications import delivery, expiry
from workflow import clock, engine, operations, renewals, validity
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.loader import add_unit
from workflow.models import Application, OutboxMessage, Renewal, ValidityReminder

from .factories import PASSWORD, add_all_evidence, cdht_at, make_user, score_all, xht_level1_history


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=clock.VN)


def xht_to_final(world, app: Application) -> Application:
    side = world.appraiser(world.communes.index(app.unit))
    add_all_evidence(app, side)
    engine.fire(app, "submit", side)
    score_all(app, side, 1)
    engine.fire(app, "submit", side)
    engine.fire(app, "approve", world.approver)
    db.session.commit()
    assert app.state == "final_approval"
    return app


# ------------------------------------------------------------------ the rule as data

def test_the_rule_is_the_titles_data():
    assert validity.validity_years("XHT") == 3 and validity.validity_years("CDHT") == 1
    assert validity.level_rule("XHT", 2) == {**validity.level_rule("XHT", 2), "requires_level": 1,
                                             "after_months": 12}
    assert validity.level_rule("XHT", 1) is None and validity.level_rule("CDHT", 1) is None
    assert validity.remind_days("XHT") == 90 and validity.remind_days("CDHT") is None


def test_valid_through_the_day_before_the_anniversary():
    assert validity.valid_until("XHT", date(2024, 12, 10)) == date(2027, 12, 9)
    assert validity.in_force("XHT", date(2024, 12, 10), date(2027, 12, 9))
    assert not validity.in_force("XHT", date(2024, 12, 10), date(2027, 12, 10))
    assert validity.valid_until("XHT", date(2024, 2, 29)) == date(2027, 2, 28)  # its anniversary: 1/3
    assert validity.valid_until("CDHT", date(2026, 1, 1)) == date(2026, 12, 31)
    # the expiry list of a year: recognised 1/1/2024 ends 31/12/2026, 2/1/2024 ends 1/1/2027
    assert validity.expiring_window("XHT", 2027) == (date(2024, 1, 2), date(2025, 1, 1))
    assert validity.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert validity.add_months(date(2025, 12, 2), 12) == date(2026, 12, 2)


# ------------------------------------------------------------------ the level-2 guard

def test_level2_without_level1_is_refused(world):
    with pytest.raises(GuardRefused) as exc:
        world.new_xht(level=2)
    assert exc.value.code == "level2_no_level1"
    assert "chưa từng được công nhận mức độ 1" in exc.value.message("vi")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_level2_only_twelve_months_after_level1(world, time_machine):
    today = clock.today()
    recognised = today - timedelta(days=180)
    xht_level1_history(world, recognised_on=recognised)
    possible = validity.add_months(recognised, 12)
    with pytest.raises(GuardRefused) as exc:
        world.new_xht(level=2)
    assert exc.value.code == "level2_too_soon"
    assert exc.value.params["from_day"] == possible.strftime("%d/%m/%Y")
    assert possible.strftime("%d/%m/%Y") in exc.value.message("vi")
    db.session.rollback()
    time_machine.move_to(at_noon(possible - timedelta(days=1)))
    with pytest.raises(GuardRefused) as exc:
        world.new_xht(level=2)
    assert exc.value.code == "level2_too_soon"
    db.session.rollback()
    time_machine.move_to(at_noon(possible))
    app = world.new_xht(level=2)
    db.session.commit()
    assert app.target_level == 2 and app.state == "evidence_collection"


def test_level2_guard_runs_again_at_approval(world):
    history = xht_level1_history(world)
    app = xht_to_final(world, world.new_xht(level=2))
    engine.fire(history, "revoke", world.approver, reason="Kết quả công nhận mức độ 1 bị thu hồi")
    db.session.commit()  # the level-1 recognition was revoked meanwhile: no level-1 history any more
    with pytest.raises(GuardRefused) as exc:
        engine.fire(app, "approve", world.approver)
    assert exc.value.code == "level2_no_level1"
    db.session.rollback()
    [outcome] = engine.fire_batch([app.id], "approve", world.approver)
    assert not outcome.ok and outcome.error.code == "level2_no_level1"
    db.session.rollback()
    xht_level1_history(world, recognised_on=date(clock.today().year - 3, 12, 10))  # an older level 1 stands
    engine.fire(db.session.get(Application, app.id), "approve", world.approver)
    db.session.commit()
    assert db.session.get(Application, app.id).state == "recognised"


def test_level2_refusal_on_the_page(client, world):
    login(client, world.appraiser())
    resp = client.post(f"/campaigns/{world.xht.id}/applications/new",
                       data={"unit_id": world.communes[0].id, "target_level": "2"})
    assert resp.status_code == 422
    assert "chưa từng được công nhận mức độ 1" in resp.get_data(as_text=True)


# ------------------------------------------------------------------ expiry: shown, listed, reminded

def _recognised(world, on: date, commune: int = 0) -> Application:
    return xht_level1_history(world, commune, recognised_on=on)


def test_valid_until_on_the_detail_and_the_expiry_list(client, world):
    year = clock.today().year
    ends_this_year = _recognised(world, date(year - 3, 1, 1))  # through 31/12 of last year: expired
    ends_next_year = _recognised(world, date(year - 2, 1, 2), commune=1)  # through 1/1 of next year
    login(client, world.approver)
    page = client.get(f"/applications/{ends_next_year.id}").get_data(as_text=True)
    assert f"01/01/{year + 1}" in page and 'id="valid-until"' in page and 'id="expired"' not in page
    page = client.get(f"/applications/{ends_this_year.id}").get_data(as_text=True)
    assert f"31/12/{year - 1}" in page and 'id="expired"' in page
    listed = client.get(f"/validity/expiring?title=XHT&year={year + 1}").get_data(as_text=True)
    assert f'id="expiring-{ends_next_year.id}"' in listed and f'id="expiring-{ends_this_year.id}"' not in listed
    assert f'/applications/{ends_next_year.id}"' in listed
    listed = client.get(f"/validity/expiring?title=XHT&year={year - 1}").get_data(as_text=True)
    assert f'id="expiring-{ends_this_year.id}"' in listed and f'id="expiring-{ends_next_year.id}"' not in listed
    login(client, world.appraiser(0))  # a commune sees its own recognitions only
    listed = client.get(f"/validity/expiring?title=XHT&year={year + 1}").get_data(as_text=True)
    assert 'data-count="0"' in listed


def test_the_90_day_reminder_once(world, time_machine):
    today = clock.today()
    # last day in force = today + 90: recognised on (today + 91) three years back
    due = _recognised(world, validity.shift_years(today + timedelta(days=91), -3))
    later = _recognised(world, validity.shift_years(today + timedelta(days=92), -3), commune=1)
    assert validity.valid_until("XHT", validity.vn_day(due.recognised_at)) == today + timedelta(days=90)
    assert expiry.run() == {"reminders": 1}
    assert expiry.run() == {"reminders": 0}  # the same day again: nothing more
    [row] = db.session.scalars(select(ValidityReminder))
    assert (row.application_id, row.user_id) == (due.id, world.appraiser(0).id)
    outbox = db.session.get(OutboxMessage, row.outbox_id)
    [notice, *_] = [n for n in delivery.plan([outbox], clock.now()) if n["channel"] == "inapp"]
    assert notice["user_id"] == world.appraiser(0).id and notice["kind"] == "validity_reminder"
    assert (today + timedelta(days=90)).strftime("%d/%m/%Y") in notice["subject"]
    assert "Đề nghị công nhận lại" in notice["body"]
    time_machine.move_to(at_noon(today + timedelta(days=1)))
    assert expiry.run() == {"reminders": 1}  # the next day: the other commune enters its window, the first not again
    assert {r.application_id for r in db.session.scalars(select(ValidityReminder))} == {due.id, later.id}


# ------------------------------------------------------------------ renewal

def test_renewal_links_to_the_recognition_it_renews(client, world):
    today = clock.today()
    old = _recognised(world, validity.shift_years(today + timedelta(days=30), -3))  # ends in 29 days
    fresh = _recognised(world, today - timedelta(days=100), commune=1)  # far from its end: no renewal yet
    login(client, world.appraiser(1))
    assert 'id="action-renew"' not in client.get(f"/applications/{fresh.id}").get_data(as_text=True)
    login(client, world.appraiser(0))
    page = client.get(f"/applications/{old.id}").get_data(as_text=True)
    assert 'id="action-renew"' in page
    resp = client.post(f"/applications/{old.id}/renew")
    assert resp.status_code == 302
    new_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    db.session.expire_all()
    link = db.session.get(Renewal, new_id)
    assert link is not None and link.renews_id == old.id
    new = db.session.get(Application, new_id)
    assert (new.campaign_id, new.unit_id, new.target_level, new.state) == (
        world.xht.id, world.communes[0].id, 1, "evidence_collection")
    page = client.get(f"/applications/{new_id}").get_data(as_text=True)
    assert 'id="renews"' in page and f'/applications/{old.id}"' in page
    page = client.get(f"/applications/{old.id}").get_data(as_text=True)
    assert 'id="renewed-by"' in page and 'id="action-renew"' not in page
    with pytest.raises(GuardRefused) as exc:
        renewals.renew(db.session.get(Application, old.id), world.appraiser(0))
    assert exc.value.code == "renewal_exists"
    db.session.rollback()
    login(client, world.appraiser(1))  # another commune: the recognition does not exist for it
    assert client.post(f"/applications/{old.id}/renew").status_code == 404


# ------------------------------------------------------------------ decisions for everyone they concern

@pytest.fixture
def decided(world):
    year = clock.today().year
    mine = cdht_at(world, "final_approval", full_name="Đặng Thị Hương", citizen_id="001190000001")
    theirs = cdht_at(world, "final_approval", commune=1, full_name="Lê Văn Bảo", citizen_id="001190000002")
    decision, outcomes = operations.create_decision(world.cdht, world.province, world.approver, "42/QĐ-UBND",
                                                    date(year, 1, 5), "Phó Chủ tịch Nguyễn Văn Ất",
                                                    [mine.id, theirs.id])
    assert all(o.ok for o in outcomes)
    db.session.commit()
    return decision, mine, theirs


def _csv(resp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.parametrize("who", ["branch", "commune"])
def test_a_lower_level_sees_only_its_rows(client, world, decided, who):
    decision, mine, theirs = decided
    login(client, world.officer(0) if who == "branch" else world.appraiser(0))
    assert f"/decisions/{decision.id}\"" in client.get("/decisions").get_data(as_text=True)
    page = client.get(f"/decisions/{decision.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Đặng Thị Hương" in text and "Lê Văn Bảo" not in text
    assert 'data-count="1"' in text and 'id="decision-part"' in text
    rows = _csv(client.get(f"/decisions/{decision.id}.csv"))
    assert [r[1] for r in rows[1:]] == ["Đặng Thị Hương"]
    assert client.get(f"/decisions/{decision.id}.xlsx").status_code == 200
    detail = client.get(f"/applications/{mine.id}").get_data(as_text=True)
    assert "42/QĐ-UBND" in detail and f"/decisions/{decision.id}\"" in detail
    assert client.get(f"/applications/{theirs.id}").status_code == 404


def test_the_issuer_sees_the_whole_decision_and_others_nothing(client, world, decided):
    decision, _mine, _theirs = decided
    login(client, world.approver)
    text = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
    assert "Đặng Thị Hương" in text and "Lê Văn Bảo" in text and 'id="decision-part"' not in text
    assert len(_csv(client.get(f"/decisions/{decision.id}.csv"))) == 3
    other = add_unit("Q9", "Tỉnh Khác", "province")
    commune = add_unit("Q9C", "Xã Khác", "commune", other)
    db.session.commit()
    for user in (make_user("commune_appraiser", commune), make_user("provincial_approver", other)):
        db.session.commit()
        login(client, user)
        assert client.get(f"/decisions/{decision.id}").status_code == 404
        assert client.get(f"/decisions/{decision.id}.csv").status_code == 404
        assert f"/decisions/{decision.id}\"" not in client.get("/decisions").get_data(as_text=True)


def test_the_api_shows_decision_validity_and_renewal(client, world, decided):
    from .test_api_support import API, bearer

    decision, mine, _theirs = decided
    body = client.get(f"{API}/applications/{mine.id}", headers=bearer(world.officer(0))).get_json()
    assert body["decision"] == {"id": decision.id, "number": "42/QĐ-UBND",
                                "signed_on": decision.signed_on.isoformat()}
    recognised_on = validity.vn_day(db.session.get(Application, mine.id).recognised_at)
    assert body["valid_until"] == validity.valid_until("CDHT", recognised_on).isoformat()
    assert body["renews_id"] is None
    old = _recognised(world, validity.shift_years(clock.today() + timedelta(days=30), -3))
    new = renewals.renew(old, world.appraiser(0))
    db.session.commit()
    body = client.get(f"{API}/applications/{new.id}", headers=bearer(world.appraiser(0))).get_json()
    assert body["renews_id"] == old.id and body["valid_until"] is None and body["decision"] is None
