"""Who holds a title on a date, and the figures counted from it (workflow/reports/indicators.py, issue 11): each
figure, at the province, a commune and a branch (and each child figure), equals the number of rows of the queue's
list behind it, with revoked files, expired recognitions, a person recognised in two campaigns, withdrawn and
rejected files, re-homed files, the digital-skills threshold at its boundary, and units outside the actor's grants.

The world (build_world, time fixed at 02/12/2026 10:00 Vietnam time) gets CDHT campaigns for 2025 and 2026, XHT
campaigns for 2023, 2024 and 2026, an old commune re-homed onto a new one (workflow/admin/mergers.py), and files
inserted set-wise with explicit states and recognition times (plus two walked through the engine)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from workflow import clock, engine, queries
from workflow.admin import mergers
from workflow.authz import actor_of
from workflow.db import db
from workflow.errors import NotFound
from workflow.loader import add_unit
from workflow.models import Application, Campaign, Score, Unit, UnitPredecessor
from workflow.reports import indicators, list_clause
from workflow.reports.indicators import as_of, holds_clause, window

from .factories import PASSWORD, World, build_other_province, build_world, cdht_at, make_user, open_deadlines

TODAY = date(2026, 12, 2)


def vn(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    """A Vietnam wall-clock time as the UTC instant the database stores."""
    return datetime(y, m, d, h, minute, tzinfo=clock.VN).astimezone(UTC)


class Files:
    """Set-wise inserts of files in a given state (the engine's paths are tested elsewhere; here only what the
    figures read matters: campaign, unit, subject, state, recognition time, the ICT score)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def add(self, tag: str, campaign: Campaign, unit: Unit, subject: str, state: str,
            recognised: datetime | None = None, ict: int | None = None) -> int:
        person = campaign.title_code == "CDHT"
        row = {"campaign_id": campaign.id, "rubric_id": campaign.rubric_id, "unit_id": unit.id, "state": state,
               "version": 5, "subject_key": subject if person else f"unit:{subject}",
               "full_name": f"Người {tag}" if person else unit.name,
               "full_name_folded": f"nguoi {tag}" if person else unit.name_folded,
               "citizen_id": subject if person else None, "subject_group": "1" if person else None,
               "target_level": 1, "score_total": 90, "scored_count": 10,
               "recognised_at": recognised if state in ("recognised", "revoked") else None,
               "closed_reason": "Lý do" if state in ("rejected", "revoked") else None,
               "created_at": clock.now(), "state_changed_at": clock.now()}
        app_id = db.session.scalar(insert(Application.__table__).returning(Application.__table__.c.id), row)
        if ict is not None:
            db.session.execute(insert(Score.__table__), {"application_id": app_id, "criterion_code": "2.1",
                                                        "value": ict, "scored_at": clock.now()})
        self.ids[tag] = app_id
        return app_id


def _campaign(w: World, title: str, year: int) -> Campaign:
    c = Campaign(title_code=title, year=year, province=w.province, rubric_id=(w.cdht if title == "CDHT" else w.xht)
                 .rubric_id, name=f"{title} {year}", **open_deadlines(year))
    db.session.add(c)
    db.session.flush()
    return c


@pytest.fixture
def scene(time_machine):
    time_machine.move_to("2026-12-02 10:00:00+07:00", tick=True)
    w = build_world()
    province, (c0, c1) = w.province, w.communes
    b00, b01 = w.branches[c0.id]
    b10, b11 = w.branches[c1.id]
    # An old commune (before the 2025 mergers) with a branch, and the new commune it was merged into.
    old = add_unit("OLD1", "Xã Cũ", "commune", province)
    old_branch = add_unit("OLD1B1", "Chi hội thôn Cũ", "branch", old)
    new = add_unit("90009", "Xã Mới", "commune", province, valid_from=date(2025, 7, 1))
    db.session.add(UnitPredecessor(successor_id=new.id, position=0, former_kind="xã", former_name="Cũ",
                                   predecessor_id=old.id))
    cdht25, cdht26 = _campaign(w, "CDHT", 2025), w.cdht
    xht23, xht24, xht26 = _campaign(w, "XHT", 2023), _campaign(w, "XHT", 2024), w.xht
    f = Files()
    # CDHT: validity 1 year, so on 02/12/2026 a recognition of 03/12/2025 .. 02/12/2026 holds.
    f.add("p1", cdht26, b00, "000000000001", "recognised", vn(2026, 6, 1), ict=7)  # the threshold itself
    f.add("p2-2025", cdht25, b00, "000000000002", "recognised", vn(2025, 12, 20), ict=9)
    f.add("p2", cdht26, b01, "000000000002", "recognised", vn(2026, 10, 1), ict=6)  # latest: counted here, 6 < 7
    f.add("p3", cdht25, b00, "000000000003", "recognised", vn(2025, 11, 1))  # expired
    f.add("p4", cdht25, b10, "000000000004", "recognised", vn(2025, 12, 3, 9), ict=10)  # the window's first day
    f.add("p5", cdht25, b10, "000000000005", "recognised", vn(2025, 12, 2, 23, 30))  # the day before: expired
    f.add("p6", cdht26, b11, "000000000006", "revoked", vn(2026, 5, 1))
    f.add("p7-2025", cdht25, b11, "000000000007", "recognised", vn(2025, 12, 20), ict=6)  # its 2026 file revoked
    f.add("p7", cdht26, b11, "000000000007", "revoked", vn(2026, 9, 1))
    f.add("p8-2025", cdht25, b00, "000000000008", "recognised", vn(2026, 1, 15))  # a tie: the higher id counts
    f.add("p8", cdht26, b10, "000000000008", "recognised", vn(2026, 1, 15))
    f.add("p9", cdht26, b00, "000000000009", "rejected")
    f.add("p10", cdht26, b01, "000000000010", "withdrawn")
    f.add("p11", cdht26, b01, "000000000011", "final_approval")
    f.add("p12", cdht26, old_branch, "000000000012", "recognised", vn(2026, 9, 1), ict=7)  # re-homed below
    # XHT: validity 3 years, so on 02/12/2026 a recognition of 03/12/2023 .. 02/12/2026 holds.
    f.add("x-c0", xht24, c0, str(c0.id), "recognised", vn(2024, 12, 10))  # 2024: still holds in 2026
    f.add("x-c1", xht23, c1, str(c1.id), "recognised", vn(2023, 11, 20))  # 2023: no longer
    f.add("x-c1-2026", xht26, c1, str(c1.id), "rejected")
    f.add("x-old", xht24, old, str(old.id), "recognised", vn(2024, 12, 15))  # re-homed onto the new commune
    f.add("x-new", xht26, new, str(new.id), "recognised", vn(2026, 11, 20))  # the new commune: counted once
    db.session.commit()
    # Through the engine: one recognised today (scored 9 on every criterion), one recognised and then revoked.
    f.ids["engine"] = cdht_at(w, "recognised").id
    revoked = cdht_at(w, "recognised", commune=0)
    engine.fire(revoked, "revoke", w.approver, reason="Minh chứng không đúng")
    db.session.commit()
    f.ids["engine-revoked"] = revoked.id
    moved = mergers.rehome(province)
    assert [r.status for r in moved if r.former_unit_id == old.id] == ["moved"]
    db.session.commit()
    other = build_other_province()
    Files().add("q1", other.cdht, other.branch(), "000000000099", "recognised", vn(2026, 6, 1), ict=9)
    db.session.commit()
    units = {"province": province, "c0": c0, "c1": c1, "new": new, "old": old, "b00": b00, "b01": b01,
             "b10": b10, "b11": b11, "old_branch": old_branch}
    return w, units, f, other


def list_ids(actor, clause, unit: Unit) -> set[int]:
    """The files of the queue's statement with a report list applied (as web/views/review.queue builds it)."""
    stmt = queries.applications(actor, unit_id=unit.id).where(clause)
    return set(db.session.scalars(stmt.with_only_columns(Application.id)))


def page_ids(client, **args) -> tuple[int, list[int], str]:
    response = client.get("/applications", query_string={"per_page": 200, **args})
    html = response.get_data(as_text=True)
    return response.status_code, [int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)], html


def login(client, user) -> None:
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


# ---------------------------------------------------------------- the rule

def test_as_of_and_the_window(scene):
    assert as_of(2026) == TODAY and as_of(2025) == date(2025, 12, 31)
    assert window("CDHT", TODAY) == (vn(2025, 12, 3, 0), vn(2026, 12, 3, 0))
    assert window("XHT", TODAY) == (vn(2023, 12, 3, 0), vn(2026, 12, 3, 0))
    assert window("CDHT", date(2028, 2, 29))[0] == vn(2027, 3, 1, 0)  # 28/02/2027 + 1 day


def test_who_holds_on_a_day(scene):
    w, u, f, _other = scene
    me = actor_of(w.approver)
    ids = {v: k for k, v in f.ids.items()}

    def holders(title: str, on: date) -> set[str]:
        return {ids[i] for i in list_ids(me, holds_clause(title, on), u["province"])}

    assert holders("CDHT", TODAY) == {"p1", "p2", "p4", "p7-2025", "p8", "p12", "engine"}
    assert holders("CDHT", date(2025, 12, 31)) == {"p2-2025", "p3", "p4", "p5", "p7-2025"}
    assert holders("XHT", TODAY) == {"x-c0", "x-new"}
    assert holders("XHT", date(2025, 12, 31)) == {"x-c0", "x-c1", "x-old"}  # one commune, one recognition
    assert holders("XHT", date(2024, 12, 12)) == {"x-c0", "x-c1"}  # before x-old's own day
    for title, on in (("CDHT", TODAY), ("CDHT", date(2026, 1, 20)), ("XHT", TODAY)):  # probing: another plan only
        assert list_ids(me, holds_clause(title, on, probe=True), u["province"]) == list_ids(
            me, holds_clause(title, on), u["province"])


# ---------------------------------------------------------------- every figure equals its list

FIGURES = [("cdht_coverage", indicators.coverage), ("xht_share", indicators.xht_share),
           ("digital_skills", indicators.digital_skills)]


def _check(me, fig, expected: int | None = None) -> None:
    clause = list_clause(fig.list_name, {k: str(v) for k, v in fig.list_args.items()})
    unit = db.session.get(Unit, fig.unit_id)
    n = len(list_ids(me, clause, unit))
    assert fig.numerator == n, (fig, n)
    if expected is not None:
        assert n == expected, (fig, n)


@pytest.mark.parametrize("code,fn", FIGURES, ids=[c for c, _f in FIGURES])
@pytest.mark.parametrize("level", ["province", "c0", "c1", "new", "b00", "b10", "old_branch"])
def test_each_figure_equals_its_list(scene, code, fn, level):
    w, u, _f, _other = scene
    me = actor_of(w.approver)
    own, kids = fn(me, u[level], 2026)
    assert own.indicator == code and own.unit_id == u[level].id and own.year == 2026
    _check(me, own)
    for kid in kids:
        _check(me, kid)
    if level == "province":
        expected_children = {"cdht_coverage": {u["c0"].id: 3, u["c1"].id: 3, u["new"].id: 1},
                             "xht_share": {u["c0"].id: 1, u["c1"].id: 0, u["new"].id: 1},
                             "digital_skills": {u["c0"].id: 2, u["c1"].id: 1, u["new"].id: 1}}[code]
        assert {k.unit_id: k.numerator for k in kids} == expected_children  # the closed old commune is gone
    if level == "c0" and code != "xht_share":
        assert [k.unit_id for k in kids] == [u["b00"].id, u["b01"].id]
        assert {k.unit_id: k.numerator for k in kids} == (
            {u["b00"].id: 2, u["b01"].id: 1} if code == "cdht_coverage" else {u["b00"].id: 2, u["b01"].id: 0})
    if level.startswith("b") or level == "old_branch":
        assert [k.unit_id for k in kids] == ([] if code == "xht_share" else [u[level].id])


def test_the_numbers(scene):
    w, u, _f, _other = scene
    me = actor_of(w.approver)
    cov, _ = indicators.coverage(me, u["province"], 2026)
    assert cov.numerator == 7 and cov.list_name == "holders" and cov.list_args == {"title": "CDHT",
                                                                                     "on": "2026-12-02"}
    xht, _ = indicators.xht_share(me, u["province"], 2026)
    # three communes in force (the old one closed on 30/06/2025 by the re-homing): targets.denominator counts them
    assert (xht.numerator, xht.denominator, xht.value) == (2, 3, 66.7)
    assert xht.list_args == {"title": "XHT", "on": "2026-12-02"}
    dig, kids = indicators.digital_skills(me, u["province"], 2026)
    assert (dig.numerator, dig.denominator, dig.value) == (4, 7, 57.1)  # p1 (7), engine (9), p4 (10), p12 (7)
    assert dig.list_name == "digital" and dig.list_args == {"on": "2026-12-02"}
    assert {k.unit_id: (k.numerator, k.denominator) for k in kids} == {
        u["c0"].id: (2, 3), u["c1"].id: (1, 3), u["new"].id: (1, 1)}
    # a commune's XHT share: it holds or it does not, out of one
    own, kids = indicators.xht_share(me, u["c0"], 2026)
    assert (own.numerator, own.denominator, own.value, kids) == (1, 1, 100.0, [])


def test_the_threshold_is_data(scene, monkeypatch):
    """At threshold 6 the 6-point holders count too (p2 at its 2026 file, p7 at its 2025 one)."""
    w, u, _f, _other = scene
    me = actor_of(w.approver)
    from workflow import reports

    defs = reports.indicator_defs()
    defs["digital_skills"] = dict(defs["digital_skills"], threshold=6)
    monkeypatch.setattr(indicators, "indicator_defs", lambda: defs)
    dig, _ = indicators.digital_skills(me, u["province"], 2026)
    assert dig.numerator == 6
    _check(me, dig, 6)


def test_coverage_by_year_and_denominators(scene):
    w, u, _f, _other = scene
    me = actor_of(w.approver)
    from workflow.models import ReportDenominator

    db.session.add(ReportDenominator(unit_id=u["province"].id, year=2026, kind="adults", value=70, is_demo=True,
                                     source="Số liệu thử"))
    db.session.commit()
    figs = indicators.coverage_by_year(me, u["province"], [2025, 2026, 2027])
    assert [(f.year, f.numerator, f.denominator, f.value) for f in figs] == [
        (2025, 5, None, None), (2026, 7, 70, 10.0), (2027, 0, None, None)]
    assert "demo" in (figs[1].denominator_note or "")
    assert figs[0].list_args == {"title": "CDHT", "on": "2025-12-31"} and figs[2].list_name is None
    for fig in figs[:2]:
        _check(me, fig)


# ---------------------------------------------------------------- the queue shows the list

def test_the_queue_shows_exactly_the_list(scene, client):
    w, u, f, _other = scene
    login(client, w.approver)
    for code, fn in FIGURES:
        for level in ("province", "c0", "b10"):
            own, kids = fn(actor_of(w.approver), u[level], 2026)
            for fig in [own, *kids]:
                status, ids, html = page_ids(client, list=fig.list_name, unit=fig.unit_id, **fig.list_args)
                assert status == 200 and len(ids) == fig.numerator, (code, level, fig)
                assert f"{fig.numerator} " in re.search(r'<p class="count">(.*?)</p>', html).group(1)
    status, ids, html = page_ids(client, list="holders", title="CDHT", on="2026-12-02", unit=u["province"].id)
    assert set(ids) == {f.ids[t] for t in ("p1", "p2", "p4", "p7-2025", "p8", "p12", "engine")}
    banner = re.search(r'<p class="notice report-list".*?</p>', html, re.S).group(0)
    assert "Danh sách hồ sơ của số liệu «Tỷ lệ người dân từ 15 tuổi trở lên đạt danh hiệu Công dân học tập»" \
        in banner and "02/12/2026" in banner and "Bỏ bộ lọc này" in banner
    assert 'id="report-list-clear"' in html and 'id="mass-action"' not in html
    clear = re.search(r'href="([^"]*)" id="report-list-clear"', banner).group(1).replace("&amp;", "&")
    cleared = client.get(clear).get_data(as_text=True)
    assert "list=" not in clear and f"unit={u['province'].id}" in clear and 'id="report-list"' not in cleared
    # the queue's own filters still apply on top: one campaign, one state
    _s, ids, _h = page_ids(client, list="holders", title="CDHT", on="2026-12-02", campaign=w.cdht.id)
    assert set(ids) == {f.ids[t] for t in ("p1", "p2", "p8", "p12", "engine")}
    # the filter form keeps the list; the pager too (keyset: two per page)
    assert '<input type="hidden" name="list" value="holders">' in html
    response = client.get("/applications", query_string={"list": "digital", "on": "2026-12-02", "per_page": 2})
    html = response.get_data(as_text=True)
    older = re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "list=digital" in older and "on=2026-12-02" in older
    first = re.findall(r'name="ids" value="(\d+)"', html)
    second = re.findall(r'name="ids" value="(\d+)"', client.get(older).get_data(as_text=True))
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)


def test_bad_lists(scene, client):
    w, _u, _f, _other = scene
    login(client, w.approver)
    assert client.get("/applications?list=nothing").status_code == 404
    for query in ("list=holders&title=ABC&on=2026-12-02", "list=holders&title=CDHT&on=02/12/2026",
                  "list=holders&title=CDHT", "list=digital&on=2026-02-30", "list=digital&on=2026-W49-3"):
        response = client.get(f"/applications?{query}")
        assert response.status_code == 400, query
        assert "Tham số của danh sách không hợp lệ" in response.get_data(as_text=True), query
    page = client.get("/applications?list=digital&on=1999-12-31").get_data(as_text=True)
    assert "Phải từ 2000-01-01 đến 2100-12-31" in page
    page = client.get("/applications?list=digital&on=2026-02-30").get_data(as_text=True)
    assert "on: Phải là ngày dạng YYYY-MM-DD." in page


def test_outside_the_grants(scene, client):
    w, u, _f, other = scene
    me = actor_of(w.approver)
    with pytest.raises(NotFound):
        indicators.coverage(me, other.province, 2026)
    appraiser = actor_of(w.appraiser(0))  # commune 0 only
    with pytest.raises(NotFound):
        indicators.digital_skills(appraiser, u["c1"], 2026)
    own, kids = indicators.coverage(appraiser, u["province"], 2026)  # only what it may see
    assert own.numerator == 3 and [k.unit_id for k in kids] == [u["c0"].id]
    _check(appraiser, own, 3)
    login(client, w.appraiser(0))
    _s, ids, _h = page_ids(client, list="holders", title="CDHT", on="2026-12-02", unit=u["c1"].id)
    assert ids == []
    _s, ids, _h = page_ids(client, list="holders", title="CDHT", on="2026-12-02")
    assert len(ids) == 3
    # the other province's holder is in no list of this province's approver
    q_ids = set(db.session.scalars(select(Application.id).where(Application.campaign_id == other.cdht.id)))
    assert not q_ids & list_ids(me, holds_clause("CDHT", TODAY), u["province"])
    assert db.session.scalar(select(func.count()).select_from(Application).where(
        holds_clause("CDHT", TODAY))) == 8  # the rule itself is everyone's; the scope is the actor's


def test_no_campaign_no_holders(time_machine):
    time_machine.move_to("2026-12-02 10:00:00+07:00", tick=True)
    w = build_world()
    db.session.execute(Campaign.__table__.update().values(year=2020))
    db.session.commit()
    me = actor_of(make_user("provincial_approver", w.province))
    own, kids = indicators.coverage(me, w.province, 2026)
    assert own.numerator == 0 and own.value is None and [k.numerator for k in kids] == [0, 0]


def test_the_api_list_takes_the_same_list(scene, client):
    from web.api import auth

    w, u, f, _other = scene
    headers = {"Authorization": f"Bearer {auth.issue_token(w.approver)}"}
    got = client.get("/api/v1/applications", headers=headers, query_string={
        "list": "holders", "title": "XHT", "on": "2026-12-02", "per_page": 100}).get_json()
    assert got["total"] == 2 and {a["id"] for a in got["items"]} == {f.ids["x-c0"], f.ids["x-new"]}
    got = client.get("/api/v1/applications", headers=headers, query_string={
        "list": "digital", "on": "2026-12-02", "unit": u["c0"].id}).get_json()
    assert got["total"] == 2 and {a["id"] for a in got["items"]} == {f.ids["p1"], f.ids["engine"]}
    bad = client.get("/api/v1/applications", headers=headers, query_string={"list": "holders", "title": "ZZ"})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"title", "on"}
    bad = client.get("/api/v1/applications", headers=headers, query_string={"list": "nothing"})
    assert bad.status_code == 422 and "list" in bad.get_json()["error"]["fields"]


def test_one_scan_serves_coverage_and_digital_until_a_write(scene):
    """Coverage and digital skills of a unit share one grouped query per transaction; any write clears it."""
    from sqlalchemy import event

    w, u, f, _other = scene
    me = actor_of(w.approver)
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        if "GROUP BY applications.unit_id" in statement:
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert indicators.coverage(me, u["province"], 2026)[0].numerator == 7
        assert indicators.digital_skills(me, u["province"], 2026)[0].numerator == 4
        assert indicators.coverage_by_year(me, u["province"], [2026])[0].numerator == 7
        assert len(sent) == 1
        Files().add("late", w.cdht, u["b11"], "000000000077", "recognised", vn(2026, 12, 1), ict=8)  # Core
        assert indicators.digital_skills(me, u["province"], 2026)[0].numerator == 5
        assert len(sent) == 2
        app = db.session.get(Application, f.ids["p1"])
        engine.fire(app, "revoke", w.approver, reason="Thu hồi")  # ORM
        assert indicators.coverage(me, u["province"], 2026)[0].numerator == 7  # +1 late, -1 p1
        db.session.rollback()
        assert indicators.coverage(me, u["province"], 2026)[0].numerator == 7  # both undone
        assert len(sent) == 4
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
