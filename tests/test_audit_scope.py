"""An auditor of one province sees the audit figures of that province only: the actor list of the audit log names
only those who acted on its applications, and the chain's sealed/waiting counts are those of its applications'
events, on the page and in the API alike. Whoever audits every province still sees the whole trail and its head."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from workflow import audit
from workflow.db import db
from workflow.models import Application, AuditEvent, RoleGrant, Unit

from .factories import PASSWORD, build_other_province, cdht_at, make_user
from .test_api_support import API, bearer


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def events_of(province: Unit) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .join(Application, Application.id == AuditEvent.application_id)
                             .join(Unit, Unit.id == Application.unit_id).where(Unit.path.startswith(province.path)))


def actors_of(province: Unit) -> set[str]:
    return set(db.session.scalars(select(AuditEvent.actor_name).join(Application)
                                  .join(Unit, Unit.id == Application.unit_id)
                                  .where(Unit.path.startswith(province.path))))


@pytest.fixture
def two(world):
    """Files in both provinces, all sealed, then one more (unsealed) event in the other province."""
    other = build_other_province()
    cdht_at(world, "commune_appraisal")
    cdht_at(other, "final_approval")
    audit.seal_all()
    other.new_cdht()
    db.session.commit()
    assert events_of(world.province) and events_of(other.province)
    return world, other


def test_log_actor_list_names_only_actors_of_my_units(client, two):
    world, other = two
    login(client, world.auditor)
    html = client.get("/audit/log").get_data(as_text=True)
    datalist = re.search(r'<datalist id="actors">(.*?)</datalist>', html, re.S).group(1)
    listed = set(re.findall(r'<option value="([^"]+)">', datalist))
    assert listed == actors_of(world.province)
    assert other.officer().username not in html and other.appraiser().username not in html
    assert world.admin.username not in listed  # a user who never acted is no actor either


def test_chain_counts_are_those_of_my_units(client, two):
    world, other = two
    login(client, world.auditor)
    html = client.get("/audit/chain").get_data(as_text=True)
    assert f'id="sealed">{events_of(world.province)}<' in html
    assert 'id="waiting">0<' in html and 'id="scoped"' in html
    assert f"{audit.head()[1]}" not in html  # the head's sequence is the length of the whole trail
    resp = client.get(f"{API}/audit/verify", headers=bearer(other.auditor))
    body = resp.get_json()
    assert resp.status_code == 200 and body["ok"] is True
    assert body["sealed"] + body["waiting"] == events_of(other.province) and body["waiting"] == 1
    assert "head_seq" not in body and "head_hash" not in body
    mine = client.get(f"{API}/audit/verify", headers=bearer(world.auditor)).get_json()
    assert (mine["sealed"], mine["waiting"]) == (events_of(world.province), 0)


def test_an_auditor_of_every_province_sees_the_whole_trail(client, two):
    world, other = two
    national = make_user("auditor", world.province)
    db.session.add(RoleGrant(user=national, role="auditor", unit=other.province))
    db.session.commit()
    body = client.get(f"{API}/audit/verify", headers=bearer(national)).get_json()
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert body["sealed"] + body["waiting"] == total and body["waiting"] == 1
    assert (body["head_seq"], body["head_hash"]) == audit.head()
    login(client, national)
    html = client.get("/audit/chain").get_data(as_text=True)
    assert audit.head()[1] in html and 'id="scoped"' not in html
    listed = set(re.findall(r'<option value="([^"]+)">', client.get("/audit/log").get_data(as_text=True)))
    assert actors_of(world.province) | actors_of(other.province) <= listed
