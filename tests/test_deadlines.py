"""Deadlines are enforced on the Vietnam date of the action: after the nominations deadline (or once the campaign is
closed) a branch can neither create nor submit a nomination, by page, API, single action or batch, until an admin
extends it; appraisers still act late, and the lateness shows. Reminders fire for a passed stage deadline; the home
page shows the days left; the demo seeds open deadlines."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from workflow import clock, engine, operations
from workflow.admin import campaigns as ops
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.models import Application, Campaign, StageAlert, User

from .factories import add_all_evidence, build_world, cdht_at
from .test_api_support import API, bearer
from .test_web_flow import login, text

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=clock.VN)
PERSON = {"full_name": "Trần Thị Bình", "date_of_birth": "1979-03-04", "subject_group": "1"}


@pytest.fixture
def late_world(time_machine):
    """A world whose CDHT nominations closed on 25/11/2026 (appraisal by 27/11); it is now 01/12/2026 in Vietnam."""
    time_machine.move_to(NOW, tick=False)
    w = build_world(tiers=2)
    early = cdht_at(w, "evidence_collection")
    add_all_evidence(early, w.officer())
    at_appraisal = cdht_at(w, "commune_appraisal")
    w.cdht.submit_deadline, w.cdht.scoring_deadline = date(2026, 11, 25), date(2026, 11, 26)
    w.cdht.appraisal_deadline, w.cdht.decision_deadline = date(2026, 11, 27), date(2026, 12, 31)
    db.session.commit()
    w.early_id, w.appraisal_id = early.id, at_appraisal.id
    return w


def test_after_the_deadline_a_branch_cannot_create_then_can_after_an_extension(late_world):
    w = late_world
    with pytest.raises(GuardRefused) as exc:
        w.new_cdht()
    assert exc.value.code == "deadline_passed" and exc.value.status == 422
    assert exc.value.message("vi") == ("Đã hết hạn nộp hồ sơ đề nghị (hạn cuối 25/11/2026). Liên hệ quản trị viên "
                                       "để được gia hạn.")
    db.session.rollback()
    with pytest.raises(InvalidInput) as bad:  # past the scoring deadline: the dates must stay in order
        ops.update_campaign(w.admin, w.cdht, parse(ops.CampaignPatch, {"submit_deadline": "2026-12-20",
                                                                      "reason": "Mưa lũ"}))
    assert bad.value.fields == {"submit_deadline": ("deadline_order", {})}
    db.session.rollback()
    ops.update_campaign(w.admin, w.cdht, parse(ops.CampaignPatch, {
        "submit_deadline": "2026-12-20", "scoring_deadline": "2026-12-25", "appraisal_deadline": "2026-12-28",
        "reason": "Mưa lũ"}))
    db.session.commit()
    assert w.new_cdht().state == "evidence_collection"


def test_the_deadline_day_itself_is_still_open(late_world, time_machine):
    time_machine.move_to(datetime(2026, 11, 25, 23, 59, tzinfo=clock.VN), tick=False)  # 16:59 UTC
    assert late_world.new_cdht().state == "evidence_collection"


def test_api_create_after_the_deadline_is_422_in_both_languages(late_world, client):
    w = late_world
    body = {"campaign": w.cdht.id, "unit": w.branch().id, "citizen_id": "027190001234", **PERSON}
    vi = client.post(f"{API}/applications", headers=bearer(w.officer()), json=body)
    assert vi.status_code == 422 and vi.get_json()["error"]["code"] == "deadline_passed"
    assert "Đã hết hạn nộp hồ sơ đề nghị (hạn cuối 25/11/2026)" in vi.get_json()["error"]["message"]
    en = client.post(f"{API}/applications", headers=bearer(w.officer(), "en"), json=body)
    assert en.status_code == 422 and "deadline for nominations has passed" in en.get_json()["error"]["message"]
    assert db.session.scalar(select(db.func.count()).select_from(Application)) == 2  # nothing stored


def test_page_create_after_the_deadline_shows_the_vietnamese_error(late_world, client):
    w = late_world
    login(client, w.officer())
    resp = client.post(f"/campaigns/{w.cdht.id}/applications/new", data={
        "unit_id": w.branch().id, "citizen_id": "027190001235", "residence_id": w.branch().id, **PERSON})
    assert resp.status_code == 422
    assert "Đã hết hạn nộp hồ sơ đề nghị (hạn cuối 25/11/2026)" in text(resp)


def test_submit_after_the_deadline_is_refused_single_and_batch(late_world, client):
    w = late_world
    with pytest.raises(GuardRefused) as exc:
        engine.fire(w.early_id, "submit", w.officer())
    assert exc.value.code == "deadline_passed"
    db.session.rollback()
    [outcome] = engine.fire_batch([w.early_id], "submit", w.officer())
    assert not outcome.ok and outcome.error.code == "deadline_passed"
    db.session.rollback()
    version = db.session.get(Application, w.early_id).version
    api = client.post(f"{API}/applications/{w.early_id}/actions/submit", headers=bearer(w.officer(), "en"),
                      json={"version": version})
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "deadline_passed"
    assert "Ask an administrator for an extension" in api.get_json()["error"]["message"]
    ops.update_campaign(w.admin, w.cdht, parse(ops.CampaignPatch, {
        "submit_deadline": "05/12/2026", "scoring_deadline": "06/12/2026", "appraisal_deadline": "07/12/2026",
        "reason": "Gia hạn"}))  # dd/mm/yyyy as the pages send it
    db.session.commit()
    [outcome] = engine.fire_batch([w.early_id], "submit", w.officer())
    assert outcome.ok and outcome.to_state == "branch_scoring"


def test_a_commune_appraiser_approves_late_and_the_lateness_shows(late_world, client):
    w = late_world
    login(client, w.appraiser())
    page = text(client.get(f"/applications/{w.appraisal_id}"))
    assert "Trễ hạn 4 ngày" in page and "27/11/2026" in page  # appraisal deadline 27/11, today 01/12
    queue = text(client.get("/applications"))
    assert "Trễ hạn 4 ngày" in queue
    assert engine.fire(w.appraisal_id, "approve", w.appraiser()).to_state == "final_approval"
    db.session.commit()
    assert "Trễ hạn" not in text(client.get(f"/applications/{w.appraisal_id}"))  # decision deadline 31/12


def test_a_closed_campaign_refuses_new_nominations(world):
    ops.close_campaign(world.admin, world.cdht, "Đã đủ chỉ tiêu")
    db.session.commit()
    with pytest.raises(GuardRefused) as exc:
        world.new_cdht()
    assert exc.value.code == "campaign_closed"
    assert "không nhận thêm hồ sơ" in exc.value.message("vi")


def test_reminders_fire_for_a_passed_stage_deadline(app, time_machine):
    from notifications import reminders

    time_machine.move_to(NOW, tick=False)
    w = build_world(tiers=2)
    app_ = cdht_at(w, "commune_appraisal")
    time_machine.move_to(NOW + timedelta(days=2), tick=False)  # two days at the stage: far from the 14-day limit
    assert reminders.scan() == 0
    w.cdht.submit_deadline, w.cdht.appraisal_deadline = date(2026, 12, 1), date(2026, 12, 2)  # passed yesterday
    db.session.commit()
    assert reminders.scan() == 1
    alert = db.session.scalars(select(StageAlert)).one()
    assert (alert.application_id, alert.user_id, alert.kind) == (app_.id, w.appraiser().id, "reminder")
    time_machine.move_to(NOW + timedelta(days=16), tick=False)  # 14 days past the deadline: escalation too
    assert reminders.scan() == 1
    assert db.session.scalars(select(StageAlert.kind).where(StageAlert.kind == "escalation")).all() == ["escalation"]


def test_home_page_shows_the_days_left(world, client, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 9, 0, tzinfo=clock.VN), tick=False)
    world.cdht.submit_deadline = date(2026, 12, 11)
    world.xht.closed_at = clock.now()
    db.session.commit()
    login(client, world.officer())
    page = text(client.get("/"))
    assert "Còn 10 ngày đến hạn nộp hồ sơ (11/12/2026)" in page
    assert "Đã kết thúc" in page
    client.get("/lang/en")
    assert "10 days left until nominations close (11/12/2026)" in text(client.get("/"))
    world.cdht.submit_deadline, world.cdht.decision_deadline = date(2026, 11, 1), date(2026, 11, 30)
    db.session.commit()
    client.get("/lang/vi")
    assert "Đã hết hạn" in text(client.get("/"))


def test_the_demo_seeds_open_deadlines_and_a_branch_officer_nominates_at_once(app, runner, client):
    result = runner.invoke(args=["demo", "seed", "--password", "pw-for-tests"])
    assert result.exit_code == 0, result.output
    today = clock.today()  # the demo also holds the two previous years' closed campaigns (issue 11)
    cdht = db.session.scalar(select(Campaign).where(Campaign.title_code == "CDHT", Campaign.year == today.year))
    assert cdht.opens_on == today - timedelta(days=30) and cdht.submit_deadline == today + timedelta(days=30)
    assert cdht.scoring_deadline < cdht.appraisal_deadline < cdht.decision_deadline
    officer = db.session.scalar(select(User).where(User.username == "xa1.chihoi1"))
    branch = officer.grants[0].unit
    app_ = operations.create_application(cdht, branch, officer, full_name="Lê Văn Tám",
                                         date_of_birth=date(1990, 1, 1), citizen_id="027190009999",
                                         subject_group="1", residence_unit=branch)
    db.session.commit()
    assert app_.state == "evidence_collection"
