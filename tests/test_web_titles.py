"""Issue 14 on the pages and the API: the nomination of a household, the counted figure beside the self-assessed
value with its list, the registers of households, clans and organisations, the workflow page of every title, the
definition versions' dry run and migration (page with confirmation, API), every API operation against the
document."""
from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select

from workflow import engine, operations, subjects
from workflow.db import db
from workflow.models import Application, AuditEvent, Collective
from workflow.validity import titles

from .factories import to_scoring
from .test_api_support import API, bearer
from .test_titles_other import Place, recognise_household, scored
from .test_web_flow import login, text


@pytest.fixture
def place(world) -> Place:
    return Place(world)


@pytest.fixture
def contract():
    from .test_api_openapi import Contract

    return Contract()


@pytest.mark.parametrize("code", ["CDHT", "XHT", "GDHT", "DHHT", "CDHT_THON", "DVHT"])
def test_every_title_has_its_workflow_page_and_diagram(client, world, code):
    login(client, world.officer())
    page = client.get(f"/titles/{code}/diagram")
    assert page.status_code == 200
    name = titles()[code]["name_vi"]
    assert name in text(page)
    svg = client.get(f"/titles/{code}/diagram.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert name in text(client.get("/titles"))


def test_the_branch_nominates_a_registered_household_on_the_page(client, place):
    login(client, place.officer)
    register = client.get("/collectives?kind=household")
    assert register.status_code == 200 and "Thôn Đông" in text(register)
    made = client.post("/collectives?kind=household", data={"name": "Hộ ông Lê Văn Tám",
                                                            "unit_id": str(place.villages[0].id)})
    assert made.status_code == 302
    household = db.session.scalar(select(Collective).where(Collective.name == "Hộ ông Lê Văn Tám"))
    added = client.post(f"/collectives/{household.id}", data={"member_name": "Lê Văn Tám",
                                                               "member_citizen_id": "001080000001",
                                                               "joined_on": "01/01/2020"})
    assert added.status_code == 302
    assert "001080000001" in text(client.get(f"/collectives/{household.id}"))
    wrong = client.post(f"/collectives/{household.id}", data={"member_citizen_id": "12", "joined_on": "01/01/2020"})
    assert wrong.status_code == 422 and "12 chữ số" in text(wrong)
    campaign = place.campaigns["GDHT"]
    form = client.get(f"/campaigns/{campaign.id}/applications/new")
    assert "Hộ ông Lê Văn Tám (Thôn Đông)" in text(form) and 'name="full_name"' not in form.get_data(as_text=True)
    missing = client.post(f"/campaigns/{campaign.id}/applications/new",
                          data={"unit_id": str(place.world.branch().id), "subject_id": ""})
    assert missing.status_code == 422 and "Chọn người" not in text(missing)
    created = client.post(f"/campaigns/{campaign.id}/applications/new",
                          data={"unit_id": str(place.world.branch().id), "subject_id": str(household.id)})
    assert created.status_code == 302
    app = db.session.scalar(select(Application).where(Application.collective_id == household.id))
    assert app.full_name == "Hộ ông Lê Văn Tám" and app.state == "evidence_collection"
    again = client.post(f"/campaigns/{campaign.id}/applications/new",
                        data={"unit_id": str(place.world.branch().id), "subject_id": str(household.id)})
    assert again.status_code == 422 and "đã có hồ sơ trong đợt đánh giá này" in text(again)


def test_the_appraiser_sees_the_counted_figure_and_its_list(client, place):
    clan = place.collective("clan", "Dòng họ Phạm")
    families = [place.household(f"Hộ Phạm {i}") for i in range(3)]
    for f in families:
        place.member(clan, household=f)
    recognise_household(place, families[0])
    app = operations.create_application(place.campaigns["DHHT"], place.commune, place.appraiser, collective=clan)
    scored(app, place.appraiser)
    operations.set_scores(app, place.appraiser, {"1": 1})  # the clan's own (self-assessed) tick
    db.session.commit()
    login(client, place.appraiser)
    page = text(client.get(f"/applications/{app.id}"))
    assert "Tính từ hồ sơ: 1/3 hộ gia đình đạt Gia đình học tập (33,3%); mức cần đạt 50%: chưa đạt" in page
    assert "tự đánh giá 1/1" in page
    listed = client.get(f"/applications/{app.id}/counted/1")
    assert listed.status_code == 200
    rows = re.findall(r"<tr><td>([^<]+)</td><td><span class=\"(pass|fail)\"", listed.get_data(as_text=True))
    assert rows == [("Hộ Phạm 0", "pass"), ("Hộ Phạm 1", "fail"), ("Hộ Phạm 2", "fail")]
    assert client.get(f"/applications/{app.id}/counted/2").status_code == 404  # not a counted criterion
    refused = client.post(f"/applications/{app.id}/actions/submit", data={"version": app.version},
                          follow_redirects=True)
    assert "1/3 hộ gia đình" in text(refused)  # the guard's reason, in words
    login(client, place.world.appraiser(1))  # another commune's appraiser sees nothing of it
    assert client.get(f"/applications/{app.id}/counted/1").status_code == 404


def test_definition_versions_page_dry_run_then_migration(client, world):
    waiting = to_scoring(world.new_cdht(), world.officer())
    db.session.commit()
    login(client, world.admin)
    assert "Phiên bản quy trình" in text(client.get("/admin/"))
    bad = client.post("/admin/definitions/", data={"file": (io.BytesIO(b"{"), "v.json")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    v2 = {"code": "CDHT", "version": "2", "stages": ["evidence_collection", "commune_appraisal", "final_approval"],
          "state_map": {"branch_scoring": "evidence_collection"}}
    loaded = client.post("/admin/definitions/", data={"file": (io.BytesIO(json.dumps(v2).encode()), "v2.json")},
                         content_type="multipart/form-data")
    assert loaded.status_code == 302
    plan = client.get(loaded.headers["Location"])
    page = text(plan)
    assert "Chưa có gì thay đổi" in page and waiting.full_name in page and 'data-confirm="' in plan.get_data(True)
    assert db.session.get(Application, waiting.id).state == "branch_scoring"  # the dry run wrote nothing
    csv = client.get(loaded.headers["Location"] + "&format=csv" if "?" in loaded.headers["Location"]
                     else loaded.headers["Location"] + "?format=csv")
    assert csv.status_code == 200 and waiting.full_name in csv.get_data(as_text=True)
    action = re.search(r'action="([^"]+/migrate)"', plan.get_data(as_text=True)).group(1)
    expected = re.search(r'name="expected" value="([0-9a-f]+)"', plan.get_data(as_text=True)).group(1)
    stale = client.post(action, data={"province_id": str(world.province.id), "expected": "0" * 16},
                        follow_redirects=True)
    assert "Hồ sơ đã thay đổi từ lúc xem thử" in text(stale)  # a plan other than the one read is not carried out
    assert db.session.get(Application, waiting.id).state == "branch_scoring"
    done = client.post(action, data={"province_id": str(world.province.id), "expected": expected})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, waiting.id).state == "evidence_collection"
    assert db.session.scalar(select(AuditEvent.to_state).where(AuditEvent.action == "migrate",
                                                               AuditEvent.application_id == waiting.id)) \
        == "evidence_collection"
    login(client, world.officer())
    assert client.get("/admin/definitions/").status_code == 403


def test_the_api_operations_of_collectives_and_versions(client, place, contract):
    c, w = contract, place.world
    officer, appraiser, admin = bearer(place.officer), bearer(place.appraiser), bearer(w.admin)
    path, one, members = f"{API}/collectives", f"{API}/collectives/{{collective_id}}", \
        f"{API}/collectives/{{collective_id}}/members"
    made = c.check(client.post(path, headers=officer, json={"kind": "household", "name": "Hộ bà Đỗ Thị Hoa",
                                                            "unit_id": place.villages[1].id}), "post", path)
    c.check(client.post(path, headers=officer, json={"kind": "tribe", "name": "x", "unit_id": 1}), "post", path)
    c.check(client.post(path, headers=bearer(w.officer(1)), json={"kind": "household", "name": "Hộ X",
                                                                  "unit_id": place.villages[1].id}), "post", path)
    listed = c.check(client.get(f"{path}?kind=household", headers=officer), "get", path)
    assert [x["name"] for x in listed["items"]] == ["Hộ bà Đỗ Thị Hoa"]
    c.check(client.post(f"{path}/{made['id']}/members", headers=officer,
                        json={"member_citizen_id": "001085000009", "joined_on": "2024-02-01"}), "post", members)
    c.check(client.post(f"{path}/{made['id']}/members", headers=officer,
                        json={"member_citizen_id": "001085000009", "joined_on": "2024-03-01"}), "post", members)
    c.check(client.post(f"{path}/{made['id']}/members", headers=officer, json={"joined_on": "x"}), "post", members)
    got = c.check(client.get(f"{path}/{made['id']}", headers=appraiser), "get", one)
    assert got["members"][0]["member_citizen_id"] == "001085000009"
    c.check(client.get(f"{path}/{made['id']}", headers=bearer(w.appraiser(1))), "get", one)  # 404
    c.check(client.post(f"{path}/424242/members", headers=officer, json={}), "post", members)
    campaign = place.campaigns["GDHT"]
    app = client.post(f"{API}/applications", headers=officer, json={
        "campaign": campaign.id, "unit": w.branch().id, "collective": made["id"]})
    assert app.status_code == 201 and app.get_json()["subject"]["collective"]["name"] == "Hộ bà Đỗ Thị Hoa"

    versions, plan, migrate = f"{API}/definitions", f"{API}/definitions/{{definition_id}}/plan", \
        f"{API}/definitions/{{definition_id}}/migrate"
    waiting = to_scoring(w.new_cdht(), w.officer())
    db.session.commit()
    c.check(client.get(versions, headers=officer), "get", versions)
    v2 = c.check(client.post(versions, headers=admin, json={
        "code": "CDHT", "version": "2", "stages": ["evidence_collection", "commune_appraisal", "final_approval"],
        "state_map": {"branch_scoring": "evidence_collection"}}), "post", versions)
    c.check(client.post(versions, headers=admin, json={"code": "CDHT", "version": "2", "stages": ["judging"]}),
            "post", versions)
    c.check(client.post(versions, headers=officer, json={"code": "CDHT", "version": "9", "stages": [
        "evidence_collection"]}), "post", versions)
    dry = c.check(client.get(f"{versions}/{v2['id']}/plan?province={w.province.id}", headers=admin), "get", plan)
    assert [(r["application_id"], r["to_state"]) for r in dry["rows"]] == [(waiting.id, "evidence_collection")]
    c.check(client.get(f"{versions}/424242/plan?province={w.province.id}", headers=admin), "get", plan)
    c.check(client.get(f"{versions}/{v2['id']}/plan?province={w.province.id}", headers=officer), "get", plan)
    c.check(client.post(f"{versions}/{v2['id']}/migrate?province={w.province.id}", headers=appraiser),
            "post", migrate)
    c.check(client.post(f"{versions}/{v2['id']}/migrate?province={w.province.id}&expected=stale", headers=admin),
            "post", migrate)  # 409: not the plan read
    done = c.check(client.post(f"{versions}/{v2['id']}/migrate?province={w.province.id}&expected="
                               f"{dry['fingerprint']}", headers=admin), "post", migrate)
    assert done["applied"] and done["counts"]["moving"] == 1
    c.check(client.get(path, headers={}), "get", path)  # 401
    exercised = {(m, p) for m, p, _ in c.seen}
    assert exercised | {("post", f"{API}/collectives/import")} == {
        (m, p) for p, item in c.doc["paths"].items() for m, spec in item.items()
        if set(spec["tags"]) & {"collectives", "definitions"}}  # the import: test_members_import_by_api
    assert engine and subjects


def _sheet(rows: list[list[str]]) -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf).writerows([["Loại", "Tên", "Nơi", "Số CCCD", "Hộ thành viên", "Họ tên", "Từ ngày"], *rows])
    return ("\ufeff" + buf.getvalue()).encode()


def test_members_import_dry_run_then_store_and_every_bad_row_named(client, place):
    good = _sheet([["Hộ gia đình", "Hộ ông Bùi Văn Nhất", "Thôn Đông", "001070000001", "", "Bùi Văn Nhất",
                    "01/01/2021"],
                   ["hộ gia đình", "Hộ ông Bùi Văn Nhất", "thôn đông", "001070000002", "", "Bùi Thị Hai", ""],
                   ["Dòng họ", "Dòng họ Bùi", place.commune.name, "", "Hộ ông Bùi Văn Nhất", "", "01/01/2015"]])
    login(client, place.officer)
    dry = client.post("/collectives/import", data={"file": (io.BytesIO(good), "ds.csv")},
                      content_type="multipart/form-data")
    assert dry.status_code == 200 and "2 mục sẽ được ghi nhận và 3 thành viên" in text(dry)
    assert db.session.scalar(select(db.func.count()).select_from(Collective)) == 0  # a dry run stores nothing
    bad = _sheet([["Hộ gia đình", "Hộ X", "Thôn Đông", "12", "", "", ""],
                  ["Bộ lạc", "Y", "Thôn Đông", "001070000003", "", "", ""],
                  ["Hộ gia đình", "Hộ Z", "Thôn Không Có", "001070000004", "", "", ""]])
    refused = client.post("/collectives/import", data={"file": (io.BytesIO(bad), "bad.csv"), "store": "1"},
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    page = text(refused)
    assert "Dòng 2" in page and "Dòng 3" in page and "Dòng 4" in page
    assert db.session.scalar(select(db.func.count()).select_from(Collective)) == 0
    stored = client.post("/collectives/import", data={"file": (io.BytesIO(good), "ds.csv"), "store": "1"},
                         content_type="multipart/form-data")
    assert stored.status_code == 302
    clan = db.session.scalar(select(Collective).where(Collective.kind == "clan"))
    home = db.session.scalar(select(Collective).where(Collective.kind == "household"))
    assert clan.name == "Dòng họ Bùi" and home.unit_id == place.villages[0].id
    assert len(subjects_members(home.id)) == 2 and len(subjects_members(clan.id)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "membership.add")) == 3


def subjects_members(collective_id: int) -> list:
    from workflow.models import Membership

    return list(db.session.scalars(select(Membership).where(Membership.collective_id == collective_id)))


def test_members_import_by_api(client, place, contract):
    path = f"{API}/collectives/import"
    body = _sheet([["Cơ quan", "Trường THCS Đông Phong", place.commune.name, "001070000009", "", "Cô Lan", ""]])
    appraiser = bearer(place.appraiser)
    dry = contract.check(client.post(path, headers=appraiser, data={"file": (io.BytesIO(body), "a.csv")},
                                     content_type="multipart/form-data"), "post", path)
    assert dry["dry_run"] and dry["collectives"] == 1 and dry["members"] == 1
    done = contract.check(client.post(path, headers=appraiser, data={"file": (io.BytesIO(body), "a.csv"),
                                                                     "dry_run": "false"},
                                      content_type="multipart/form-data"), "post", path)
    assert not done["dry_run"]
    again = contract.check(client.post(path, headers=appraiser, data={"file": (io.BytesIO(body), "a.csv"),
                                                                      "dry_run": "false"},
                                       content_type="multipart/form-data"), "post", path)
    assert again["errors"][0]["code"] == "membership_exists"  # the same member twice: refused, nothing stored
