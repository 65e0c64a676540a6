"""The citizens API (issue 9, section 2): GET /api/v1/citizens/<cccd>, GET /api/v1/citizens/flagged and the
`flags` of an application's detail; every answer checked against the OpenAPI document."""
from __future__ import annotations

from datetime import date

import pytest

from workflow import clock, engine, operations
from workflow.db import db

from .factories import build_other_province, cdht_at
from .test_api_openapi import Contract
from .test_api_support import API, bearer, error_of
from .test_citizens import CCCD, NOWHERE, last_year_campaign, nominate

ONE = f"{API}/citizens/{{cccd}}"
FLAGGED = f"{API}/citizens/flagged"
DETAIL = f"{API}/applications/{{app_id}}"


@pytest.fixture
def contract() -> Contract:
    return Contract()


@pytest.fixture
def twins(world):
    other = build_other_province("Q")
    here = cdht_at(world, "final_approval", citizen_id=CCCD, full_name="Lê Văn Cường")
    operations.create_decision(world.cdht, world.province, world.approver, "7/QĐ-UBND", date(clock.today().year, 1, 5),
                               "Phạm Thị Dung", [here.id])
    db.session.commit()
    there = nominate(other.cdht, other.branch(1), other.officer(1))
    return world, other, here, there


def test_history_answers_every_file_in_scope(client, twins, contract):
    world, other, here, _there = twins
    old = nominate(last_year_campaign(world), world.branch(1), world.officer(1))
    body = contract.check(client.get(f"{API}/citizens/{CCCD}", headers=bearer(world.approver)), "get", ONE)
    assert body["citizen_id"] == CCCD
    assert [i["application_id"] for i in body["items"]] == [here.id, old.id]
    first = body["items"][0]
    assert first["decision"] == {"number": "7/QĐ-UBND", "signed_on": f"{clock.today().year}-01-05"}
    assert first["province"]["name"] == "Tỉnh Thử Nghiệm" and first["unit"]["name"] == world.branch(0).name
    assert first["state"] == "recognised" and first["campaign"]["year"] == clock.today().year
    assert body["items"][1]["state"] == "evidence_collection" and body["items"][1]["decision"] is None
    mine = contract.check(client.get(f"{API}/citizens/{CCCD}", headers=bearer(world.appraiser(1))), "get", ONE)
    assert [i["application_id"] for i in mine["items"]] == [old.id]  # commune 1 does not see commune 0's file
    theirs = contract.check(client.get(f"{API}/citizens/{CCCD}", headers=bearer(other.auditor)), "get", ONE)
    assert [i["province"]["name"] for i in theirs["items"]] == ["Tỉnh Bên Cạnh"]


def test_none_in_scope_is_the_same_404_as_none_at_all(client, twins, contract):
    world, other, _here, _there = twins
    only_there = NOWHERE[:-1] + "7"
    nominate(other.cdht, other.branch(0), other.officer(0), citizen_id=only_there)
    answers = [client.get(f"{API}/citizens/{c}", headers=bearer(world.approver, "en")) for c in (only_there, NOWHERE)]
    for resp in answers:
        contract.check(resp, "get", ONE)
    assert [r.status_code for r in answers] == [404, 404]
    assert answers[0].get_json() == answers[1].get_json()
    assert error_of(answers[0])["code"] == "citizen_not_found"


@pytest.mark.parametrize("typed, code", [("０７９０８５０００１２３", "citizen_id_ascii"),
                                         ("٠٧٩٠٨٥٠٠٠١٢٣", "citizen_id_ascii"), ("1234", "invalid_field"),
                                         ("0790850001234", "invalid_field")])
def test_a_cccd_that_is_not_twelve_ascii_digits_is_refused(client, twins, contract, typed, code):
    world = twins[0]
    resp = client.get(f"{API}/citizens/{typed}", headers=bearer(world.approver))
    contract.check(resp, "get", ONE)
    assert resp.status_code == 422 and error_of(resp)["code"] == code


def test_a_branch_officer_is_refused_whatever_the_cccd(client, twins, contract):
    world = twins[0]
    answers = [client.get(f"{API}/citizens/{c}", headers=bearer(world.officer(0))) for c in (CCCD, NOWHERE, "x")]
    for resp in answers:
        contract.check(resp, "get", ONE)
    assert {r.status_code for r in answers} == {403}
    assert len({str(r.get_json()) for r in answers}) == 1
    assert error_of(answers[0])["code"] == "citizen_history_forbidden"
    listed = contract.check(client.get(FLAGGED, headers=bearer(world.officer(0))), "get", FLAGGED)
    assert listed["error"]["code"] == "citizen_history_forbidden"
    assert contract.check(client.get(f"{API}/citizens/{CCCD}"), "get", ONE)["error"]["code"] == "unauthorized"


def test_the_detail_carries_the_flag_for_both_provinces(client, world, contract):
    other = build_other_province("Q")
    here = cdht_at(world, "commune_appraisal", citizen_id=CCCD)
    there = nominate(other.cdht, other.branch(1), other.officer(1))
    mine = contract.check(client.get(f"{API}/applications/{here.id}", headers=bearer(world.appraiser(0))), "get",
                          DETAIL)
    assert mine["flags"] == [{"code": "cross_province", "province": "Tỉnh Bên Cạnh", "campaign_id": other.cdht.id,
                              "campaign": "CDHT", "year": clock.today().year}]
    theirs = contract.check(client.get(f"{API}/applications/{there.id}", headers=bearer(other.appraiser(1))), "get",
                            DETAIL)
    assert [f["province"] for f in theirs["flags"]] == ["Tỉnh Thử Nghiệm"]
    officer = contract.check(client.get(f"{API}/applications/{here.id}", headers=bearer(world.officer(0))), "get",
                             DETAIL)
    assert officer["flags"] == []
    listed = contract.check(client.get(FLAGGED, headers=bearer(world.approver)), "get", FLAGGED)
    assert [a["id"] for a in listed["items"]] == [here.id] and listed["items"][0]["flags"] == mine["flags"]
    contract.check(client.get(f"{FLAGGED}?per_page=0", headers=bearer(world.approver)), "get", FLAGGED)
    engine.fire(there, "withdraw", other.officer(1), reason="Trùng")
    db.session.commit()
    again = client.get(f"{API}/applications/{here.id}", headers=bearer(world.appraiser(0))).get_json()
    assert again["flags"] == []
    assert client.get(FLAGGED, headers=bearer(world.approver)).get_json()["total"] == 0
    # every operation of the citizens tag was exercised against the document
    assert {(m, p) for m, p, _ in contract.seen} >= {("get", FLAGGED), ("get", DETAIL)}


def test_every_citizens_operation_is_exercised(client, twins, contract):
    world = twins[0]
    contract.check(client.get(f"{API}/citizens/{CCCD}", headers=bearer(world.approver)), "get", ONE)
    contract.check(client.get(f"{API}/citizens/{NOWHERE}", headers=bearer(world.approver)), "get", ONE)
    contract.check(client.get(f"{API}/citizens/1", headers=bearer(world.approver)), "get", ONE)
    contract.check(client.get(f"{API}/citizens/{CCCD}", headers=bearer(world.officer(0))), "get", ONE)
    contract.check(client.get(FLAGGED, headers=bearer(world.approver)), "get", FLAGGED)
    contract.check(client.get(FLAGGED, headers=bearer(world.officer(0))), "get", FLAGGED)
    contract.check(client.get(f"{FLAGGED}?page=x", headers=bearer(world.approver)), "get", FLAGGED)
    ours = {(m, p) for p, item in contract.doc["paths"].items() for m, spec in item.items()
            if "citizens" in spec["tags"]}
    assert ours == {("get", ONE), ("get", FLAGGED)}
    assert {(m, p, s) for m, p, s in contract.seen} >= {("get", ONE, "200"), ("get", ONE, "404"),
                                                         ("get", ONE, "422"), ("get", ONE, "403"),
                                                         ("get", FLAGGED, "200"), ("get", FLAGGED, "403"),
                                                         ("get", FLAGGED, "422")}
