"""The 2025 mergers: former units matched to the old communes of a three-tier province, the hand mapping page,
and re-homing (branches and files moved under the successor, authorization following the new paths, history
kept, a dry run and a second run writing nothing); then the real Bắc Ninh list."""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow import engine, operations, queries, summary
from workflow.admin import mergers
from workflow.admin.units import import_communes
from workflow.db import db
from workflow.errors import WorkflowError
from workflow.loader import add_unit, load_reference_data
from workflow.models import Application, AuditEvent, Campaign, Rubric, Unit, UnitPredecessor

from .factories import PASSWORD, build_other_province, cdht_at, make_user, open_deadlines

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bac_ninh_communes_2025.csv"


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def post_merger_csv(rows: list[tuple[str, str, str, str]]) -> str:
    """A list in the official file's format (gso_code, name, type, population, area_km2, former_units)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["gso_code", "name", "type", "population", "area_km2", "former_units"])
    for code, name, kind, former in rows:
        writer.writerow([code, name, kind, "", "", former])
    return buf.getvalue()


def snapshot() -> tuple:
    """Everything re-homing may change: units' parents and paths, files' units and former units, links, events."""
    return (db.session.execute(select(Unit.id, Unit.parent_id, Unit.path, Unit.valid_to).order_by(Unit.id)).all(),
            db.session.execute(select(Application.id, Application.unit_id, Application.former_unit_id)
                               .order_by(Application.id)).all(),
            db.session.execute(select(UnitPredecessor.id, UnitPredecessor.predecessor_id)
                               .order_by(UnitPredecessor.id)).all(),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def rehome(runner, *args: str):
    result = runner.invoke(args=["units", "rehome", "--province", "Thử Nghiệm", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


@pytest.fixture
def merged(world3, time_machine):
    """world3 (before 1/7/2025) with a second district holding another "Xã Đông Phong", files in several states
    (one recognised, an XHT of the commune itself, a rejected XHT that stays), then the post-merger list."""
    w = world3
    yen_the = add_unit("D3Y", "Huyện Yên Thế", "district", w.province)
    twin = add_unit("C3Y", "Xã Đông Phong", "commune", yen_the)
    twin_branch = add_unit("C3YB1", "Chi hội thôn Hạ", "branch", twin)
    make_user("branch_officer", twin_branch)
    db.session.commit()
    files = {
        "appraisal": cdht_at(w, "commune_appraisal"),
        "collecting": cdht_at(w, "evidence_collection"),
        "recognised": cdht_at(w, "recognised"),
        "split": cdht_at(w, "commune_appraisal", commune=1),
        "xht": w.new_xht(0),
    }
    db.session.commit()
    time_machine.move_to("2025-07-02 09:00:00+07:00", tick=True)  # the lists take effect on 1/7/2025
    text = post_merger_csv([
        ("90001", "Đông Yên", "xã", "xã Đông Phong (huyện Thử Nghiệm); xã Yên Lư (một phần); xã Không Có"),
        ("90002", "Tân Yên", "xã", "xã Đông Phong (huyện Yên Thế)"),
        ("90003", "Phúc Hòa", "xã", "xã Đông Phong"),
    ])
    report = import_communes(w.province, text)
    assert not report.errors, report.errors
    db.session.commit()
    new = {u.name: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(["90001", "90002", "90003"])))}
    return w, twin, twin_branch, files, new


def test_matching_sorts_each_former_name(merged):
    w, twin, _b, _f, new = merged
    by_label = {(r.link.successor.name, r.label): r for r in mergers.statuses(w.province)}
    dong_phong = by_label[("Xã Đông Yên", "xã Đông Phong (huyện Thử Nghiệm)")]
    assert (dong_phong.status, dong_phong.predecessor) == (mergers.MATCHED, w.communes[0])  # the district decides
    assert by_label[("Xã Tân Yên", "xã Đông Phong (huyện Yên Thế)")].predecessor == twin
    split = by_label[("Xã Đông Yên", "xã Yên Lư (một phần)")]
    assert (split.status, split.reason) == (mergers.HAND, "split")  # one candidate, yet never automatic
    assert split.candidates == [w.communes[1]]
    several = by_label[("Xã Phúc Hòa", "xã Đông Phong")]
    assert (several.status, several.reason) == (mergers.HAND, "several")
    assert by_label[("Xã Đông Yên", "xã Không Có")].status == mergers.UNMATCHED
    # the new units are never candidates, even where a new name equals an old one
    assert all(u.id not in {n.id for n in new.values()} for u in mergers.old_units(w.province))

    counts = mergers.match(w.province)
    db.session.commit()
    assert counts == {"matched": 2, "hand": 2, "unmatched": 1}
    linked = dict(db.session.execute(select(UnitPredecessor.qualifier, UnitPredecessor.predecessor_id)
                                     .where(UnitPredecessor.predecessor_id.is_not(None))).all())
    assert linked == {"huyện Thử Nghiệm": w.communes[0].id, "huyện Yên Thế": twin.id}
    assert db.session.scalar(select(func.count()).select_from(UnitPredecessor)
                             .where(UnitPredecessor.predecessor_id.is_not(None))) == 2
    db.session.refresh(w.communes[0])
    assert w.communes[0].valid_to == date(2025, 6, 30) and w.communes[1].valid_to is None
    event = db.session.scalars(select(AuditEvent).filter_by(action="unit.match_predecessors")).one()
    assert event.actor_name == "system" and len(event.payload["after"]["linked"]) == 2


def test_rehome_moves_branches_and_files_and_keeps_history(merged, runner, tmp_path):
    w, twin, twin_branch, files, new = merged
    old, successor = w.communes[0], new["Xã Đông Yên"]
    old_path, branch = old.path, w.branch(0)
    before = snapshot()

    out = rehome(runner, "--dry-run")
    assert "DRY RUN" in out and "would_move" in out
    assert snapshot() == before  # nothing written: not the links, not the paths, not a single event

    csv_file = tmp_path / "report.csv"
    out = rehome(runner, "--csv", str(csv_file))
    assert db.session.execute(summary.recount()).all() == []  # the summary follows the moved files (issue 10)
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    by_former = {(r["former"], r["status"]): r for r in rows}
    moved = by_former[("Xã Đông Phong", "moved")]
    assert moved["former_unit_id"] == str(old.id) and moved["successor"] == "Xã Đông Yên"
    assert (moved["branches"], moved["applications"]) == ("2", "4")  # 3 CDHT under its branches + its own XHT
    assert {r["status"] for r in rows} == {"moved", "needs_hand_mapping", "unmatched"}
    assert by_former[("xã Yên Lư (một phần)", "needs_hand_mapping")]["note"] == "split"
    assert by_former[("xã Không Có", "unmatched")]["successor"] == "Xã Đông Yên"
    assert "moved" in out and "unmatched" in out

    # the subtree hangs under the successor now, paths included (authorization reads them)
    db.session.refresh(branch)
    assert branch.parent_id == successor.id and branch.path == f"{successor.path}{branch.id}/"
    db.session.refresh(twin_branch)
    assert twin_branch.path.startswith(new["Xã Tân Yên"].path)
    assert not db.session.scalar(select(func.count()).select_from(Unit).where(
        Unit.path.startswith(old_path), Unit.id != old.id))
    for key in ("appraisal", "collecting", "recognised", "xht"):
        db.session.refresh(files[key])
        assert files[key].former_unit_id == old.id, key
    assert files["xht"].unit_id == successor.id and files["appraisal"].unit_id == branch.id
    db.session.refresh(files["split"])
    assert files["split"].former_unit_id is None  # the split waits for a person

    # the successor's appraiser sees and acts on the moved files; the old commune's appraiser no longer can
    new_appraiser = make_user("commune_appraiser", successor)
    db.session.commit()
    ids = set(db.session.scalars(queries.applications(new_appraiser).with_only_columns(Application.id)))
    assert {files[k].id for k in ("appraisal", "collecting", "recognised", "xht")} <= ids
    old_ids = set(db.session.scalars(queries.applications(w.appraiser(0)).with_only_columns(Application.id)))
    assert not old_ids & {files[k].id for k in ("appraisal", "collecting", "recognised", "xht")}
    with pytest.raises(WorkflowError):
        engine.fire(files["appraisal"], "approve", w.appraiser(0))
    db.session.rollback()
    engine.fire(db.session.get(Application, files["appraisal"].id), "approve", new_appraiser)
    db.session.commit()
    assert db.session.get(Application, files["appraisal"].id).state == "final_approval"

    # history: the earlier events still name the old unit, the move is an event of its own
    created = db.session.scalars(select(AuditEvent).filter_by(application_id=files["xht"].id, action="create")).one()
    assert created.payload["unit_id"] == old.id
    moves = db.session.scalars(select(AuditEvent).filter_by(action="unit.rehome").order_by(AuditEvent.id)).all()
    assert len(moves) == 2  # the two Đông Phong communes, each to its own successor
    move = next(m for m in moves if m.payload["before"]["unit_id"] == old.id)
    assert move.actor_name == "system" and move.payload["after"]["unit_name"] == "Xã Đông Yên"
    assert move.payload["before"]["unit_name"] == "Xã Đông Phong"
    assert (move.payload["applications"], move.payload["branches"]) == (4, 2)

    # a second run moves nothing
    again = snapshot()
    out = rehome(runner)
    assert "nothing_to_move" in out and "applications=0" in out
    assert snapshot() == again


def test_hand_mapping_page_maps_a_split_then_rehome_moves_it(merged, client, runner):
    w, _twin, _b, files, _new = merged
    other = build_other_province("Q")
    split_link = db.session.scalars(select(UnitPredecessor).filter_by(former_name="Yên Lư")).one()
    login(client, w.admin)
    page = client.get("/admin/mergers/").get_data(as_text=True)
    assert "xã Yên Lư (một phần)" in page and f'id="map-{split_link.id}"' in page and "Xã Không Có" not in page
    assert "Tỉnh Bên Cạnh" not in page
    assert "Chờ ghép thủ công" in page and "Chia tách" in page  # Vietnamese by default

    # a unit of another kind, another province or a malformed id is refused and stores nothing
    for bad in (str(other.communes[0].id), "١٢", "", str(w.district.id)):
        response = client.post(f"/admin/mergers/links/{split_link.id}/map", data={"predecessor_id": bad})
        assert response.status_code == 422, bad
    db.session.expire_all()
    assert db.session.get(UnitPredecessor, split_link.id).predecessor_id is None

    response = client.post(f"/admin/mergers/links/{split_link.id}/map",
                           data={"predecessor_id": str(w.communes[1].id)})
    assert response.status_code == 302
    assert "Đã ghép xã Yên Lư (một phần) với Xã Yên Lư." in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(UnitPredecessor, split_link.id).predecessor_id == w.communes[1].id
    event = db.session.scalars(select(AuditEvent).filter_by(action="unit.map_predecessor")).one()
    assert event.actor_id == w.admin.id and event.payload["after"]["predecessor_id"] == w.communes[1].id

    out = rehome(runner)
    assert "moved" in out
    db.session.refresh(files["split"])
    assert files["split"].former_unit_id == w.communes[1].id

    # an admin of another province sees none of it and may map nothing of it
    login(client, other.admin)
    assert client.get(f"/admin/mergers/{w.province.id}").status_code == 404
    assert client.post(f"/admin/mergers/links/{split_link.id}/map",
                       data={"predecessor_id": str(w.communes[0].id)}).status_code == 404
    assert client.post(f"/admin/mergers/{w.province.id}/match").status_code == 404
    assert "Yên Lư" not in client.get("/admin/mergers/").get_data(as_text=True)
    # inside the province but not an admin: not allowed
    login(client, w.appraiser(1))
    assert client.get(f"/admin/mergers/{w.province.id}").status_code == 403


def test_match_button_links_and_flashes(merged, client):
    w, *_ = merged
    login(client, w.admin)
    response = client.post(f"/admin/mergers/{w.province.id}/match", follow_redirects=True)
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .filter_by(action="unit.match_predecessors")) == 1


def test_real_bac_ninh_list(time_machine, runner):
    """The demo-like province with three old communes the real list names: import, match, re-home, report."""

    time_machine.move_to("2025-03-03 09:00:00+07:00", tick=True)
    load_reference_data()
    province = add_unit("BN", "Tỉnh Bắc Ninh", "province")
    city = add_unit("BN-TPBG", "Thành phố Bắc Giang", "district", province)
    yen_the = add_unit("BN-YT", "Huyện Yên Thế", "district", province)
    old = {name: add_unit(code, name, "commune", parent) for code, name, parent in [
        ("BN-TX", "Phường Thọ Xương", city), ("BN-NQ", "Phường Ngô Quyền", city), ("BN-DT", "Xã Đồng Tiến", yen_the)]}
    branches = {name: add_unit(f"{u.code}-B", f"Chi hội tổ dân phố {i}", "branch", u)
                for i, (name, u) in enumerate(old.items())}
    rubric = db.session.scalar(select(Rubric).filter_by(title_code="CDHT"))
    db.session.add(Campaign(title_code="CDHT", year=2025, province=province, rubric_id=rubric.id, name="CDHT 2025",
                            **open_deadlines(2025)))
    db.session.commit()
    officers = {n: make_user("branch_officer", b) for n, b in branches.items()}
    campaign = db.session.scalar(select(Campaign).filter_by(province_id=province.id))
    for i, (name, b) in enumerate(branches.items()):
        for j in range(i + 1):  # 1, 2 and 3 files
            operations.create_application(campaign, b, officers[name], full_name="Trần Thị Bình",
                                          date_of_birth=date(1990, 1, 1), citizen_id=f"0010900{i}{j:04d}",
                                          subject_group="1")
    db.session.commit()

    time_machine.move_to("2025-07-02 09:00:00+07:00", tick=True)
    result = runner.invoke(args=["units", "import", str(DATA), "--province", "Bắc Ninh"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    formers = sum(len([p for p in r["former_units"].split(";") if p.strip()])
                  for r in csv.DictReader(DATA.open(encoding="utf-8")))

    rows = mergers.statuses(province)
    assert len(rows) == formers
    matched = {r.predecessor.name: r.link.successor.name for r in rows if r.status == mergers.MATCHED}
    assert matched == {"Phường Thọ Xương": "Phường Bắc Giang", "Phường Ngô Quyền": "Phường Bắc Giang",
                       "Xã Đồng Tiến": "Xã Xuân Lương"}  # "(huyện Yên Thế)", not Hoàng Vân's "(huyện Hiệp Hòa)"
    # the list splits no unit; Yên Phong's "xã Đông Tiến" folds like the old "Xã Đồng Tiến" but is another commune
    hand = [(r.link.successor.name, r.label, r.reason) for r in rows if r.status == mergers.HAND]
    assert hand == [("Xã Yên Phong", "xã Đông Tiến", "spelling")]
    unmatched = [r for r in rows if r.status == mergers.UNMATCHED]
    assert len(unmatched) == formers - 4

    out = runner.invoke(args=["units", "rehome", "--province", "Bắc Ninh"]).output
    assert "moved=3" in out and "applications=6" in out and "branches=3" in out
    assert f"unmatched={formers - 4}" in out and "needs_hand_mapping=1" in out
    db.session.expire_all()
    bac_giang = db.session.scalars(select(Unit).filter_by(name="Phường Bắc Giang")).one()
    assert db.session.scalar(select(func.count()).select_from(Unit).filter_by(parent_id=bac_giang.id)) == 2
    assert db.session.scalar(select(func.count()).select_from(Application)
                             .where(Application.former_unit_id.is_not(None))) == 6
