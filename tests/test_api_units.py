"""The units API: GET /api/v1/units filters level and parent within the caller's grants (a parent outside them is
404); POST /api/v1/units adds branches and villages (201) only for an admin of the parent (404 outside, 403
inside without the role), refusing duplicates and bad names per field; POST /api/v1/units/import takes the
official list (dry run, second run unchanged, bad rows with their lines and nothing stored)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from workflow.db import db
from workflow.models import AuditEvent, Unit

from .factories import build_other_province
from .test_api_support import API, bearer, error_of

BAC_NINH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bac_ninh_communes_2025.csv"


def count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Unit).where(*where))


def test_list_filters_level_and_parent_within_scope(client, world):
    other = build_other_province()
    resp = client.get(f"{API}/units?level=commune", headers=bearer(world.admin))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["total"] == 2 and {u["name"] for u in body["items"]} == {"Xã Đông Phong", "Xã Yên Lư"}
    c0 = world.communes[0]
    children = client.get(f"{API}/units?parent={c0.id}", headers=bearer(world.admin)).get_json()
    assert {u["id"] for u in children["items"]} == {b.id for b in world.branches[c0.id]}
    assert all(u["level"] == "branch" and u["parent_id"] == c0.id for u in children["items"])
    assert client.get(f"{API}/units?level=village&parent={c0.id}", headers=bearer(world.admin)).get_json()[
        "total"] == 0
    searched = client.get(f"{API}/units?q=yen lu", headers=bearer(world.admin)).get_json()
    assert [u["name"] for u in searched["items"]] == ["Xã Yên Lư"]
    foreign = client.get(f"{API}/units?parent={other.communes[0].id}", headers=bearer(world.admin))
    assert foreign.status_code == 404 and error_of(foreign)["code"] == "unit_not_found"
    officer = client.get(f"{API}/units", headers=bearer(world.officer(0))).get_json()
    assert [u["id"] for u in officer["items"]] == [world.branch(0).id]  # an officer sees only their branch
    bad = client.get(f"{API}/units?level=hamlet", headers=bearer(world.admin))
    assert bad.status_code == 422 and "level" in error_of(bad)["fields"]


def test_add_branch_and_village_by_api(client, world):
    c1 = world.communes[1]
    resp = client.post(f"{API}/units", headers=bearer(world.admin),
                       json={"name": "Chi hội thôn Mới", "level": "chi hội", "parent": c1.id})
    assert resp.status_code == 201, resp.get_json()
    branch = resp.get_json()
    assert branch["level"] == "branch" and branch["parent_id"] == c1.id and branch["area_class"] == "disadvantaged"
    village = client.post(f"{API}/units", headers=bearer(world.admin),
                          json={"name": "Tổ dân phố Số 3", "level": "tổ dân phố", "parent": c1.id})
    assert village.status_code == 201 and village.get_json()["kind"] == "tổ dân phố"
    assert village.get_json()["level"] == "village"
    listed = client.get(f"{API}/units?level=village&parent={c1.id}", headers=bearer(world.admin)).get_json()
    assert [u["name"] for u in listed["items"]] == ["Tổ dân phố Số 3"]
    again = client.post(f"{API}/units", headers=bearer(world.admin, "en"),
                        json={"name": "chi hội thôn mới", "level": "branch", "parent": c1.id})
    assert again.status_code == 422 and error_of(again)["code"] == "unit_exists"
    bad = client.post(f"{API}/units", headers=bearer(world.admin),
                      json={"name": "Thôn\u202eX", "level": "làng", "parent": c1.id, "extra": 1})
    assert bad.status_code == 422 and set(error_of(bad)["fields"]) == {"name", "level", "extra"}
    under_branch = client.post(f"{API}/units", headers=bearer(world.admin),
                               json={"name": "Thôn Con", "level": "village", "parent": world.branch(0).id})
    assert under_branch.status_code == 422 and error_of(under_branch)["code"] == "wrong_parent_level"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "unit.create")).all()
    assert len(events) == 2 and events[0].payload["after"]["name"] == "Chi hội thôn Mới"


def test_add_unit_outside_scope_is_404_and_without_admin_403(client, world):
    other = build_other_province()
    foreign = client.post(f"{API}/units", headers=bearer(world.admin),
                          json={"name": "Chi hội X", "level": "branch", "parent": other.communes[0].id})
    assert foreign.status_code == 404
    appraiser = client.post(f"{API}/units", headers=bearer(world.appraiser(0)),
                            json={"name": "Chi hội X", "level": "branch", "parent": world.communes[0].id})
    assert appraiser.status_code == 403 and error_of(appraiser)["code"] == "admin_required"
    missing = client.post(f"{API}/units", headers=bearer(world.admin),
                          json={"name": "Chi hội X", "level": "branch", "parent": 2_000_000_000})
    assert missing.status_code == 404
    assert count(Unit.name == "Chi hội X") == 0


def test_import_by_api_dry_run_then_store_then_nothing_to_change(client, world):
    data = BAC_NINH.read_bytes()

    def send(dry: str = "false", headers=None, province=None):
        return client.post(f"{API}/units/import", headers=headers or bearer(world.admin),
                           data={"file": (__import__("io").BytesIO(data), "bn.csv"), "dry_run": dry,
                                 "province": province or world.province.name},
                           content_type="multipart/form-data")

    dry = send("true")
    assert dry.status_code == 200 and dry.get_json()["created"] == 99 and dry.get_json()["dry_run"] is True
    assert count(Unit.level == "commune") == 2
    stored = send()
    assert stored.status_code == 200 and stored.get_json()["created"] == 99
    assert count(Unit.level == "commune", Unit.parent_id == world.province.id) == 101
    again = send().get_json()
    assert (again["created"], again["updated"], again["unchanged"], again["changed"]) == (0, 0, 99, False)
    other = build_other_province()
    assert send(province=other.province.name).status_code == 404
    not_admin = send(headers=bearer(world.approver))  # covers the province, holds no admin grant
    assert not_admin.status_code == 403 and error_of(not_admin)["code"] == "admin_required"


def test_import_by_api_reports_bad_rows_and_stores_nothing(client, world):
    import io

    content = ("gso_code,name,type,population,area_km2,former_units\n"
               "99001,Mới,xã,,,\n,,xã,,,\n99003,Lạ,huyện,,,\n99001,Lặp,xã,,,\n").encode()
    resp = client.post(f"{API}/units/import", headers=bearer(world.admin, "en"),
                       data={"file": (io.BytesIO(content), "x.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "units_import_invalid" and "nothing was stored" in err["message"]
    assert [(r["line"], r["field"]) for r in err["rows"]] == [(3, "name"), (4, "type"), (5, "gso_code")]
    assert count(Unit.code.in_(["99001", "99003"])) == 0
    no_file = client.post(f"{API}/units/import", headers=bearer(world.admin), data={},
                          content_type="multipart/form-data")
    assert no_file.status_code == 422 and "file" in error_of(no_file)["fields"]


def test_units_responses_conform_to_the_document(client, world):
    """Each status these endpoints answer is documented, and its body validates against the schema."""
    import io

    from .test_api_openapi import Contract

    c = Contract()
    units, imports = f"{API}/units", f"{API}/units/import"
    admin = bearer(world.admin)
    c.check(client.get(f"{units}?level=commune", headers=admin), "get", units)
    c.check(client.get(f"{units}?parent=2000000000", headers=admin), "get", units)
    c.check(client.get(f"{units}?level=x", headers=admin), "get", units)
    c.check(client.get(units), "get", units)
    c.check(client.post(units, headers=admin, json={"name": "Thôn A", "level": "thôn",
                                                    "parent": world.communes[0].id}), "post", units)
    c.check(client.post(units, headers=admin, json={"name": ""}), "post", units)
    c.check(client.post(units, headers=admin, data="{", content_type="application/json"), "post", units)
    c.check(client.post(units, headers=bearer(world.approver), json={"name": "Thôn B", "level": "thôn",
                                                                     "parent": world.communes[0].id}), "post", units)
    content = b"gso_code,name,type\n99001,M\xe1\xbb\x9bi,x\xc3\xa3\n"
    for dry in ("true", "false"):
        c.check(client.post(imports, headers=admin, data={"file": (io.BytesIO(content), "a.csv"), "dry_run": dry},
                            content_type="multipart/form-data"), "post", imports)
    c.check(client.post(imports, headers=admin, data={"file": (io.BytesIO(b"name,type\n,x\n"), "a.csv")},
                        content_type="multipart/form-data"), "post", imports)
    c.check(client.post(imports, headers=admin, data={"province": "Nowhere", "file": (io.BytesIO(content), "a")},
                        content_type="multipart/form-data"), "post", imports)
    assert {(m, p) for m, p, _ in c.seen} == {("get", units), ("post", units), ("post", imports)}
