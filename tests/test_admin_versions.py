"""Rubric and chain versions without a code change: a new rubric version loads from its JSON (audited), a wrong
file is refused with a message per field and stores nothing, a loaded version is never rewritten; the re-score
preview (page and CSV) counts pass/fail under the pinned and the new version and lists the files that change;
switching a campaign leaves existing files pinned; a province's chain override applies from its date."""
from __future__ import annotations

import copy
import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from workflow import chains, engine
from workflow.admin import versions
from workflow.admin.inputs import InvalidInput
from workflow.db import db
from workflow.definitions import DATA_DIR
from workflow.errors import NotFound
from workflow.models import AuditEvent, Rubric
from workflow.rubrics import spec

from .factories import build_other_province, cdht_at, score_all
from .test_web_flow import login, text


def cdht_file(version: str = "KHVN-2027", min_total: int = 88) -> dict:
    definition = json.loads((DATA_DIR / "rubric_cdht_2022.json").read_text(encoding="utf-8"))
    new = copy.deepcopy(definition)
    new["version"] = version
    new["pass_rule"]["min_total"] = min_total
    return new


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def rubric_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Rubric))


def upload(client, url: str, content: bytes, **form):
    return client.post(url, data=form | {"file": (io.BytesIO(content), "rubric.json")},
                       content_type="multipart/form-data")


def test_a_valid_version_loads_by_page_and_is_audited(client, world):
    login(client, world.admin)
    resp = upload(client, "/admin/versions/rubrics", json.dumps(cdht_file()).encode())
    assert resp.status_code == 302
    row = db.session.scalar(select(Rubric).filter_by(title_code="CDHT", version="KHVN-2027"))
    assert row is not None and spec(row.id).pass_rule["min_total"] == 88
    [event] = events("rubric.load")
    assert event.actor_id == world.admin.id and event.payload["after"]["version"] == "KHVN-2027"
    assert "KHVN-2027" in text(client.get("/admin/versions/"))
    # the same file again changes nothing
    assert upload(client, "/admin/versions/rubrics", json.dumps(cdht_file()).encode()).status_code == 302
    assert len(events("rubric.load")) == 1


def test_wrong_fields_are_refused_one_message_each_and_nothing_stored(client, world):
    bad = cdht_file()
    bad["kind"] = "grades"
    del bad["pass_rule"]["min_each"]
    bad["groups"][0]["criteria"][1]["max"] = "ten"
    bad["groups"][1]["criteria"][0]["code"] = bad["groups"][0]["criteria"][0]["code"]
    before = rubric_count()
    with pytest.raises(InvalidInput) as exc:
        versions.load_rubric(world.admin, json.dumps(bad).encode())
    assert exc.value.field_messages("en") == {"kind": "Not a valid value; choose one of: 'points' or 'met'.",
                                              "groups.0.criteria.1.max": "Must be a whole number (digits 0-9)."}
    bad["kind"], bad["groups"][0]["criteria"][1]["max"] = "points", 10
    with pytest.raises(InvalidInput) as exc:  # then the rules across fields
        versions.load_rubric(world.admin, json.dumps(bad).encode())
    messages = exc.value.field_messages("en")
    assert messages == {"pass_rule.min_each": "Required.", "groups.1.criteria.0.code": "Code 1.1 repeats."}
    assert exc.value.field_messages("vi")["pass_rule.min_each"] == "Bắt buộc."
    db.session.rollback()

    login(client, world.admin)
    resp = upload(client, "/admin/versions/rubrics", b"{not json")
    assert resp.status_code == 422 and "The file is not valid JSON" not in text(resp)  # Vietnamese by default
    assert "Tệp không phải JSON hợp lệ" in text(resp)
    assert rubric_count() == before and events("rubric.load") == []


def test_the_same_version_with_other_content_is_refused(client, world):
    changed = cdht_file(version=world.cdht.rubric.version)
    with pytest.raises(InvalidInput) as exc:
        versions.load_rubric(world.admin, json.dumps(changed))
    assert set(exc.value.fields) == {"version"} and "new version" in exc.value.field_messages("en")["version"]
    db.session.rollback()
    assert events("rubric.load") == []


def codes(app) -> list[str]:
    return [c.code for c in spec(app.rubric_id).criteria_for(app.target_level)]


def test_preview_counts_and_changed_files_then_switch_keeps_pins(client, world):
    a = cdht_at(world, "commune_appraisal")  # 90: passes 80 and 88
    b = cdht_at(world, "branch_scoring")
    score_all(b, world.officer(), dict.fromkeys(codes(b), 9) | {"1.1": 5})  # 86: passes 80, fails 88 -> changes
    d = cdht_at(world, "branch_scoring", commune=1)  # a disadvantaged commune: judged by 70 under both
    score_all(d, world.officer(1), dict.fromkeys(codes(d), 9) | {"1.1": 5, "1.2": 5, "1.3": 5})  # 78
    c = cdht_at(world, "evidence_collection")  # no scores: fails both
    done = cdht_at(world, "recognised")  # not in flight: left out
    db.session.commit()
    old_id = world.cdht.rubric_id
    new = versions.load_rubric(world.admin, cdht_file())
    db.session.commit()

    result = versions.rescore_preview(world.cdht, new)
    assert {r.application_id for r in result.rows} == {a.id, b.id, c.id, d.id} and done.id not in result.rows
    assert result.counts == {"files": 4, "old_pass": 3, "old_fail": 1, "new_pass": 2, "new_fail": 2}
    assert [r.application_id for r in result.changed] == [b.id]

    login(client, world.admin)
    page = client.get(f"/admin/versions/campaigns/{world.cdht.id}/preview?rubric_id={new.id}")
    assert page.status_code == 200 and f'id="changed-{b.id}"' in page.get_data(as_text=True)
    assert f'id="changed-{a.id}"' not in page.get_data(as_text=True)
    resp = client.get(f"/admin/versions/campaigns/{world.cdht.id}/preview.csv?rubric_id={new.id}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    body = {int(r[0]): r for r in rows[1:]}
    assert set(body) == {a.id, b.id, c.id, d.id}
    assert [i for i, r in body.items() if r[9]] == [b.id]
    assert body[b.id][5:9] == ["86", "đạt", "86", "không đạt"] and body[d.id][8] == "đạt"

    # a version lacking a criterion: its scores count as missing, the files become incomplete
    lacking = cdht_file("KHVN-2028", 80)
    lacking["groups"][0]["criteria"][0]["code"] = "1.9"
    missing = versions.rescore_preview(world.cdht, versions.load_rubric(world.admin, lacking))
    assert missing.counts["new_pass"] == 0 and all("1.9" in r.missing for r in missing.rows)
    db.session.commit()

    resp = client.post(f"/admin/versions/campaigns/{world.cdht.id}/switch", data={"rubric_id": new.id})
    assert resp.status_code == 302
    db.session.expire_all()
    assert world.cdht.rubric_id == new.id
    assert {x.rubric_id for x in (a, b, c, d, done)} == {old_id} and old_id != new.id
    [event] = events("campaign.rubric")
    assert event.payload["after"] == {"rubric_id": new.id, "version": "KHVN-2027"}
    fresh = world.new_cdht()
    assert fresh.rubric_id == new.id
    assert engine.fire(b, "submit", world.officer()).to_state == "commune_appraisal"  # judged by its pinned 80


STAGES = {"evidence_collection": {"role": "branch_officer", "level": "branch"},
          "branch_scoring": {"role": "branch_officer", "level": "branch"},
          "commune_appraisal": {"role": "commune_appraiser", "level": "commune"},
          "final_approval": {"role": "commune_appraiser", "level": "commune"}}


def test_chain_override_applies_from_its_date_and_is_audited(client, world):
    login(client, world.admin)
    body = {"title": "CDHT", "valid_from": "2030-01-01", "stages": STAGES, "source": "QĐ tỉnh"}
    resp = upload(client, "/admin/versions/chains", json.dumps(body).encode(), province_id=str(world.province.id))
    assert resp.status_code == 302
    [event] = events("chain.load")
    assert event.payload["unit_id"] == world.province.id and event.payload["after"]["valid_from"] == "2030-01-01"
    on = chains.chain_for("CDHT", world.province.id, date(2030, 1, 1))
    assert on.province_id == world.province.id and on.stages["final_approval"].role == "commune_appraiser"
    assert chains.chain_for("CDHT", world.province.id, date(2029, 12, 31)).province_id is None
    # an overlapping period and wrong stages are field errors, nothing stored
    again = upload(client, "/admin/versions/chains", json.dumps(body | {"valid_from": "2031-05-01"}).encode(),
                   province_id=str(world.province.id))
    assert again.status_code == 422 and len(events("chain.load")) == 1
    with pytest.raises(InvalidInput) as exc:
        versions.load_chain_override(world.admin, world.province,
                                     body | {"valid_from": "01/01/2020", "valid_to": "31/12/2020",
                                             "stages": {"final_approval": STAGES["final_approval"]}})
    assert set(exc.value.fields) == {"stages"}


def test_other_province_admin_is_not_found_and_non_admin_forbidden(client, world):
    other = build_other_province()
    new = versions.load_rubric(world.admin, cdht_file())
    db.session.commit()
    body = json.dumps({"title": "CDHT", "valid_from": "2030-01-01", "stages": STAGES}).encode()
    with pytest.raises(NotFound):
        versions.load_chain_override(other.admin, world.province, body)
    login(client, other.admin)
    assert upload(client, "/admin/versions/chains", body, province_id=str(world.province.id)).status_code == 404
    assert client.get(f"/admin/versions/campaigns/{world.cdht.id}/preview?rubric_id={new.id}").status_code == 404
    assert client.post(f"/admin/versions/campaigns/{world.cdht.id}/switch",
                       data={"rubric_id": new.id}).status_code == 404
    login(client, world.officer())
    assert client.get("/admin/versions/").status_code == 403
    assert upload(client, "/admin/versions/rubrics", json.dumps(cdht_file("X-1")).encode()).status_code == 403
    db.session.expire_all()
    assert world.cdht.rubric_id != new.id and events("chain.load") == []
