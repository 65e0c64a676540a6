"""Administration of campaigns: open by page and API, one per (title, year, province) as a field error, extensions
need a reason and are audited with before and after, closing asks first; outside one's province nothing is found.
Responses conform to the OpenAPI document."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from workflow.db import db
from workflow.models import AuditEvent, Campaign

from .factories import build_other_province, make_user
from .test_api_openapi import Contract
from .test_api_support import API, bearer
from .test_web_flow import login, text

NEW = {"title": "CDHT", "year": 2031, "name": "Công dân học tập năm 2031", "opens_on": "2031-09-01",
       "submit_deadline": "2031-11-30", "scoring_deadline": "2031-12-05", "appraisal_deadline": "2031-12-15",
       "decision_deadline": "2031-12-31"}


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_open_by_api_then_the_duplicate_is_a_field_error(client, world):
    contract = Contract()
    resp = client.post(f"{API}/campaigns", headers=bearer(world.admin), json=NEW | {"province_id": world.province.id})
    body = contract.check(resp, "post", f"{API}/campaigns")
    assert resp.status_code == 201 and resp.headers["Location"].endswith(f"/campaigns/{body['id']}")
    assert body["submit_deadline"] == "2031-11-30" and body["appraisal_deadline"] == "2031-12-15"
    assert body["rubric_version"] == world.cdht.rubric.version and body["nominations_open"] is True
    assert body["next_deadline"] == "submit_deadline" and body["days_left"] > 0
    [created] = events("campaign.create")
    assert created.payload["after"]["submit_deadline"] == "2031-11-30" and created.actor_id == world.admin.id

    again = client.post(f"{API}/campaigns", headers=bearer(world.admin, "en"),
                        json=NEW | {"province_id": world.province.id})
    contract.check(again, "post", f"{API}/campaigns")
    assert again.status_code == 422
    assert again.get_json()["error"]["fields"] == {
        "year": "The province already has a campaign of this title for 2031."}
    disorder = client.post(f"{API}/campaigns", headers=bearer(world.admin), json=NEW | {
        "year": 2032, "province_id": world.province.id, "scoring_deadline": "2031-11-01"})
    assert disorder.status_code == 422 and set(disorder.get_json()["error"]["fields"]) == {"scoring_deadline"}
    assert db.session.scalar(select(db.func.count()).select_from(Campaign)) == 3


def test_patch_extends_with_a_reason_and_is_audited(client, world):
    contract = Contract()
    path = f"{API}/campaigns/{{campaign_id}}"
    url = f"{API}/campaigns/{world.cdht.id}"
    old = world.cdht.submit_deadline.isoformat()
    later = (world.cdht.submit_deadline + timedelta(days=10)).isoformat()
    refused = client.patch(url, headers=bearer(world.admin), json={"submit_deadline": later})
    contract.check(refused, "patch", path)
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {
        "reason": "Gia hạn phải nêu lý do."}
    assert events("campaign.update") == []

    ok = client.patch(url, headers=bearer(world.admin), json={"submit_deadline": later, "reason": "Mưa lũ"})
    assert contract.check(ok, "patch", path)["submit_deadline"] == later
    [event] = events("campaign.update")
    assert event.reason == "Mưa lũ" and event.payload["extension"] is True
    assert event.payload["before"] == {"submit_deadline": old} and event.payload["after"] == {"submit_deadline": later}
    # moving a deadline earlier is no extension: no reason needed
    earlier = client.patch(url, headers=bearer(world.admin), json={"submit_deadline": old})
    assert earlier.status_code == 200 and events("campaign.update")[-1].payload["extension"] is False
    assert client.patch(url, headers=bearer(world.admin), json={"opens_on": "x"}).status_code == 422
    assert client.patch(url, headers=bearer(world.admin), json={"id": 5}).get_json()["error"]["fields"] == {
        "id": "Trường này không được nhận."}
    contract.check(client.get(url, headers=bearer(world.officer())), "get", path)
    contract.check(client.get(f"{API}/campaigns/424242", headers=bearer(world.officer())), "get", path)

    closed = client.patch(url, headers=bearer(world.admin), json={"closed": True, "reason": "Kết thúc"})
    assert contract.check(closed, "patch", path)["closed_at"] is not None
    assert closed.get_json()["nominations_open"] is False and closed.get_json()["days_left"] is None
    assert events("campaign.close")[0].reason == "Kết thúc"


def test_another_province_admin_gets_404_and_a_non_admin_403(client, world):
    other = build_other_province()
    url = f"{API}/campaigns/{world.cdht.id}"
    body = {"submit_deadline": "2030-01-01", "reason": "x"}
    assert client.patch(url, headers=bearer(other.admin), json=body).status_code == 404
    assert client.post(f"{API}/campaigns", headers=bearer(other.admin),
                       json=NEW | {"province_id": world.province.id}).status_code == 404
    inside = make_user("auditor", world.province)
    db.session.commit()
    forbidden = client.patch(url, headers=bearer(inside), json=body)
    Contract().check(forbidden, "patch", f"{API}/campaigns/{{campaign_id}}")
    assert forbidden.status_code == 403
    login(client, other.admin)
    assert client.get(f"/admin/campaigns/{world.cdht.id}/edit").status_code == 404
    listing = text(client.get("/admin/campaigns/"))
    assert other.province.name in listing and world.province.name not in listing
    assert events("campaign.update") == []


def test_pages_open_edit_and_close(client, world):
    login(client, world.admin)
    assert client.get("/campaigns/new").headers["Location"].endswith("/admin/campaigns/new")
    form = {"title": "XHT", "year": "2031", "province_id": str(world.province.id), "name": "Xã học tập 2031",
            "rubric_id": "", "opens_on": "01/09/2031", "submit_deadline": "30/11/2031", "scoring_deadline": "",
            "appraisal_deadline": "", "decision_deadline": "31/12/2031", "stage_limit_days": "14",
            "escalate_after_days": "28"}
    assert 'placeholder="dd/mm/yyyy"' in client.get("/admin/campaigns/new").get_data(as_text=True)
    resp = client.post("/admin/campaigns/new", data=form)
    assert resp.status_code == 302
    camp = db.session.scalar(select(Campaign).where(Campaign.year == 2031))
    assert camp.submit_deadline == date(2031, 11, 30) and camp.scoring_deadline is None
    page = text(client.get("/admin/campaigns/"))
    assert "Đã mở đợt đánh giá «Xã học tập 2031»." in page and "30/11/2031" in page
    dup = client.post("/admin/campaigns/new", data=form)
    assert dup.status_code == 422 and "Tỉnh đã có đợt đánh giá danh hiệu này trong năm 2031." in text(dup)
    bad = client.post("/admin/campaigns/new", data=form | {"year": "", "submit_deadline": "31/02/2031"})
    assert bad.status_code == 422 and "Bắt buộc." in text(bad) and "Phải là ngày hợp lệ" in text(bad)

    edit = client.get(f"/admin/campaigns/{camp.id}/edit")
    assert 'value="30/11/2031"' in edit.get_data(as_text=True)
    values = {"name": camp.name, "rubric_id": str(camp.rubric_id), "opens_on": "01/09/2031",
              "submit_deadline": "10/12/2031", "decision_deadline": "31/12/2031", "stage_limit_days": "14",
              "escalate_after_days": "28"}
    no_reason = client.post(f"/admin/campaigns/{camp.id}/edit", data=values)
    assert no_reason.status_code == 422 and "Gia hạn phải nêu lý do." in text(no_reason)
    saved = client.post(f"/admin/campaigns/{camp.id}/edit", data=values | {"reason": "Bổ sung thời gian"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Campaign, camp.id).submit_deadline == date(2031, 12, 10)
    assert events("campaign.update")[0].payload["before"] == {"submit_deadline": "2031-11-30"}

    confirm = client.get(f"/admin/campaigns/{camp.id}/close")
    assert "Không thể hoàn tác" in text(confirm) and db.session.get(Campaign, camp.id).closed_at is None
    assert client.post(f"/admin/campaigns/{camp.id}/close", data={"reason": "Đủ chỉ tiêu"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Campaign, camp.id).closed_at is not None
    assert "Đã kết thúc" in text(client.get("/admin/campaigns/"))
    login(client, world.officer())
    assert client.get("/admin/campaigns/").status_code == 403
