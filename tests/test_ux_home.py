"""Issue 13, the officer's home, inbox, auditors' pages, help and workflow diagrams (findings 8, 10, 14 and the
diagram part of 1), as the server renders them: SQLite and PostgreSQL. The browser tests are in
tests/browser/test_ux_home.py."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, text

from workflow import audit, clock, engine
from workflow.db import db
from workflow.models import AuditEvent, AuditSeal, Notification

from .factories import cdht_at, make_user, tamper
from .test_web_flow import login
from .test_web_flow import text as page_text


def notices(user, n: int, read: int = 0) -> None:
    for i in range(n):
        db.session.add(Notification(user_id=user.id, channel="inapp", kind="test", subject=f"Thông báo {i}",
                                    read_at=clock.now() if i < read else None))
    db.session.add(Notification(user_id=user.id, channel="email", kind="test", subject="thư"))  # not in the inbox
    db.session.commit()


# Finding 8: home and inbox -------------------------------------------------------------------------------------

def test_branch_home_offers_a_new_application_and_its_returns(client, world):
    officer = world.officer()
    returned = cdht_at(world, "commune_appraisal")
    engine.fire(returned, "return", world.appraiser(), reason="Thiếu ảnh minh chứng 1.3")
    db.session.commit()
    login(client, officer)
    html = client.get("/").get_data(as_text=True)
    button = re.search(r'<a class="button primary" href="([^"]+)" id="home-new-(\d+)">([^<]+)</a>', html)
    assert button and button.group(1) == f"/campaigns/{world.cdht.id}/applications/new"
    assert "Lập hồ sơ mới" in button.group(3)
    assert "Thiếu ảnh minh chứng 1.3" in page_text(client.get("/"))
    assert client.get(button.group(1)).status_code == 200


def test_no_new_application_button_once_nominations_close(client, world):
    world.cdht.submit_deadline = clock.today() - timedelta(days=1)
    db.session.commit()
    login(client, world.officer())
    assert 'id="home-new-' not in client.get("/").get_data(as_text=True)


def test_overseers_home_starts_with_their_own_work_not_the_communes_returns(client, world):
    returned = cdht_at(world, "commune_appraisal")
    engine.fire(returned, "return", world.appraiser(), reason="Thiếu minh chứng")
    db.session.commit()
    for user in (world.approver, world.auditor, world.admin):
        login(client, user)
        html = client.get("/").get_data(as_text=True)
        assert 'id="returned"' not in html and "Thiếu minh chứng" not in html
        assert 'id="home-new-' not in html
    login(client, world.approver)
    html = client.get("/").get_data(as_text=True)
    assert html.index('id="my-work"') < html.index('id="deadlines"')


def test_unread_count_in_the_nav_of_every_page_and_mark_all_read(client, world):
    officer = world.officer()
    notices(officer, 3, read=1)
    login(client, officer)
    for url in ("/", "/applications", "/campaigns", "/help", "/titles"):
        html = client.get(url).get_data(as_text=True)
        badge = re.search(r'id="nav-unread">(\d+)<', html)
        assert badge and badge.group(1) == "2", url
    inbox = client.get("/inbox").get_data(as_text=True)
    assert 'id="mark-all-read"' in inbox and "Đánh dấu tất cả là đã đọc" in inbox
    assert client.get("/inbox/read-all").status_code == 405  # a change: POST only
    done = client.post("/inbox/read-all", follow_redirects=True)
    assert "Đã đánh dấu 2 thông báo là đã đọc." in page_text(done)
    assert db.session.scalar(select(text("count(*)")).select_from(Notification).where(
        Notification.user_id == officer.id, Notification.channel == "inapp", Notification.read_at.is_(None))) == 0
    html = client.get("/").get_data(as_text=True)
    assert 'id="nav-unread"' not in html and 'id="mark-all-read"' not in client.get("/inbox").get_data(as_text=True)


def test_mark_all_read_touches_only_my_notices(client, world):
    me, other = world.officer(), world.officer(n=1)
    notices(me, 2)
    notices(other, 2)
    login(client, me)
    client.post("/inbox/read-all")
    db.session.expire_all()
    left = db.session.scalars(select(Notification.user_id).where(Notification.read_at.is_(None),
                                                                 Notification.channel == "inapp")).all()
    assert left == [other.id, other.id]


def test_the_nav_count_is_one_query_per_request(client, world, app):
    from sqlalchemy import event

    officer = world.officer()
    notices(officer, 2)
    login(client, officer)
    seen = []

    def count(conn, cursor, statement, *args):
        if "notifications" in statement and "count(" in statement.lower():
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/")  # the home page shows the count twice (the notice and the nav)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(seen) == 1


# Finding 10: auditors ------------------------------------------------------------------------------------------

def test_audit_log_searches_by_name_without_diacritics_and_by_cccd_prefix(client, world):
    hanh = world.new_cdht(full_name="Nguyễn Thị Hạnh", citizen_id="027185001234")
    other = world.new_cdht(full_name="Trần Văn Bình", citizen_id="031190009999")
    db.session.commit()
    login(client, world.auditor)

    def ids(url):
        html = client.get(url).get_data(as_text=True)
        body = re.search(r'<table class="list" id="log">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
        return {int(i) for i in re.findall(r'/applications/(\d+)/timeline', body)}

    assert ids("/audit/log?q=nguyen+thi+HANH") == {hanh.id}
    assert ids("/audit/log?q=0271850") == {hanh.id}
    assert ids("/audit/log?q=binh") == {other.id}
    assert ids("/audit/log?q=khong+co+ai") == set()
    assert ids("/audit/log") == {hanh.id, other.id}
    assert 'value="nguyen"' in client.get("/audit/log?q=nguyen").get_data(as_text=True)
    csv = client.get("/audit/log.csv?q=binh").get_data(as_text=True)
    assert "Trần Văn Bình" in csv and "Nguyễn Thị Hạnh" not in csv


def test_audit_log_search_stays_within_the_auditors_units(client, world):
    from .factories import build_other_province

    other = build_other_province()
    mine = world.new_cdht(full_name="Lê Thị Mai")
    theirs = other.new_cdht(full_name="Lê Thị Mai")
    db.session.commit()
    login(client, world.auditor)
    html = client.get("/audit/log?q=le+thi+mai").get_data(as_text=True)
    assert f"/applications/{mine.id}/timeline" in html and f"/applications/{theirs.id}/timeline" not in html


def test_queue_of_auditors_and_admins_opens_on_every_file_in_scope(client, world):
    a = world.new_cdht(full_name="Phạm Văn Một")
    b = cdht_at(world, "commune_appraisal", full_name="Phạm Văn Hai")
    db.session.commit()
    for user in (world.auditor, world.admin):
        login(client, user)
        html = client.get("/applications").get_data(as_text=True)
        assert f"/applications/{a.id}" in html and f"/applications/{b.id}" in html
        assert "2 hồ sơ" in page_text(client.get("/applications"))
        rows = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', html)]
        assert rows == [b.id, a.id]  # newest first
    login(client, world.appraiser())  # who acts somewhere still starts at "waiting for me"
    html = client.get("/applications").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'name="ids" value="(\d+)"', html)] == [b.id]


def test_timeline_checks_the_file_against_the_sealed_chain(client, world):
    app = cdht_at(world, "commune_appraisal")
    audit.seal_all()
    login(client, world.auditor)
    body = page_text(client.get(f"/applications/{app.id}/timeline"))
    assert "Nhật ký của hồ sơ này còn nguyên vẹn" in body
    n = db.session.scalar(select(text("count(*)")).select_from(AuditEvent).where(AuditEvent.application_id == app.id))
    assert f"{n} sự kiện khớp với chuỗi kiểm toán đã niêm phong" in body

    victim = db.session.scalars(select(AuditEvent.id).where(AuditEvent.application_id == app.id)
                                .order_by(AuditEvent.id)).all()[1]
    tamper(f"UPDATE audit_events SET reason = 'sửa lén' WHERE id = {victim}")
    db.session.expire_all()
    report = audit.verify_application(app.id)
    assert not report.ok and report.problem == "altered" and report.first_bad == victim
    body = page_text(client.get(f"/applications/{app.id}/timeline"))
    assert "nguyên vẹn" not in body and f"#{victim}" in body and "khác với bản đã niêm phong" in body


def test_file_check_finds_a_deleted_state_change_and_a_moved_seal(client, world):
    app = cdht_at(world, "commune_appraisal")
    audit.seal_all()
    changes = db.session.scalars(select(AuditEvent.id).where(AuditEvent.application_id == app.id,
                                                             AuditEvent.from_state != AuditEvent.to_state)
                                 .order_by(AuditEvent.id)).all()
    tamper(f"DELETE FROM audit_seals WHERE event_id = {changes[0]}",
           f"DELETE FROM outbox_messages WHERE event_id = {changes[0]}",
           f"DELETE FROM audit_events WHERE id = {changes[0]}")
    db.session.expire_all()
    assert audit.verify_application(app.id).problem == "gap"

    other = cdht_at(world, "branch_scoring")
    audit.seal_all()
    _, second = db.session.scalars(select(AuditSeal.seq).join(AuditEvent, AuditEvent.id == AuditSeal.event_id)
                                       .where(AuditEvent.application_id == other.id).order_by(AuditSeal.seq)).all()[:2]
    tamper(f"UPDATE audit_seals SET prev_hash = '{'0' * 64}' WHERE seq = {second}")
    db.session.expire_all()
    assert audit.verify_application(other.id).problem == "reordered"


def test_unsealed_events_are_said_to_wait(client, world):
    app = world.new_cdht()
    db.session.commit()
    login(client, world.auditor)
    body = page_text(client.get(f"/applications/{app.id}/timeline"))
    assert "chưa được niêm phong" in body and "bị phá vỡ" not in body


# Finding 14: help ----------------------------------------------------------------------------------------------

def test_each_criterion_shows_the_evidence_it_expects(client, world):
    app = world.new_cdht()
    db.session.commit()
    login(client, world.officer())
    html = client.get(f"/applications/{app.id}").get_data(as_text=True)
    hint = re.search(r'id="hint-1.2"><span class="hint-label">([^<]+)</span>([^<]+)<', html)
    assert hint and "Minh chứng cần có" in hint.group(1) and "kế hoạch học tập cá nhân" in hint.group(2)
    assert html.count('class="evidence-hint"') == 10
    client.get("/lang/en")
    assert "learning plan for the year" in client.get(f"/applications/{app.id}").get_data(as_text=True)


def test_the_scoring_sheet_shows_the_expected_evidence(client, world):
    app = cdht_at(world, "branch_scoring")
    login(client, world.officer())
    html = client.get(f"/applications/{app.id}/scores").get_data(as_text=True)
    assert 'id="hint-1.3"' in html and "trung tâm học tập cộng đồng" in html


def test_a_rubric_may_carry_its_own_evidence_wording(world):
    from workflow import guidance
    from workflow.models import Rubric

    row = db.session.get(Rubric, world.cdht.rubric_id)
    definition = dict(row.definition)
    definition["version"] = "TEST-EVIDENCE"
    groups = [dict(g, criteria=[dict(c) for c in g["criteria"]]) for g in definition["groups"]]
    groups[0]["criteria"][0]["evidence"] = {"vi": "Sổ tay đọc sách", "en": "A reading notebook"}
    definition["groups"] = groups
    from workflow.loader import load_rubric

    own = load_rubric(definition)
    assert guidance.hint(own.id, "1.1", "vi") == "Sổ tay đọc sách"
    assert "kế hoạch" in guidance.hint(own.id, "1.2", "vi")  # the rest from the guidance file (any version)


def test_deadline_warnings_on_home_and_the_file(client, world):
    today = clock.today()
    world.cdht.submit_deadline = today + timedelta(days=3)
    db.session.commit()
    app = world.new_cdht()
    db.session.commit()
    login(client, world.officer())
    when = (today + timedelta(days=3)).strftime("%d/%m/%Y")
    assert f"Còn 3 ngày đến hạn nộp hồ sơ ({when})" in page_text(client.get("/"))
    assert f"Còn 3 ngày đến hạn nộp hồ sơ ({when})" in page_text(client.get(f"/applications/{app.id}"))
    scoring = cdht_at(world, "commune_appraisal")
    world.cdht.submit_deadline = today - timedelta(days=5)
    world.cdht.appraisal_deadline = today - timedelta(days=2)
    db.session.commit()
    login(client, world.appraiser())
    html = client.get("/").get_data(as_text=True)
    late = (today - timedelta(days=2)).strftime("%d/%m/%Y")
    assert re.search(rf'<span class="due overdue fail">Quá hạn thẩm định 2 ngày \({late}\)</span>', html)
    assert scoring.id


def test_login_page_explains_a_forgotten_password_naming_the_administrators(client, world):
    client.post("/logout")
    html = client.get("/login").get_data(as_text=True)
    assert "Quên mật khẩu?" in html and "quản trị viên" in html
    assert world.admin.full_name in html and world.admin.username not in html and world.admin.email not in html


def test_help_page_names_the_units_admins_and_appraisers(client, world):
    officer = world.officer()
    phone_admin = make_user("admin", world.communes[0])
    phone_admin.phone = "0912345678"
    db.session.commit()
    login(client, officer)
    html = client.get("/help").get_data(as_text=True)
    admins = re.search(r'<ul id="help-admins">(.*?)</ul>', html, re.S).group(1)
    assert phone_admin.full_name in admins and world.admin.full_name in admins and "0912345678" in admins
    assert admins.index(phone_admin.full_name) < admins.index(world.admin.full_name)  # the nearest first
    appraisers = re.search(r'<ul id="help-appraisers">(.*?)</ul>', html, re.S).group(1)
    assert world.appraiser().full_name in appraisers and world.appraiser(1).full_name not in appraisers
    body = page_text(client.get("/help"))
    assert "Lập hồ sơ mới" in body and "quên mật khẩu" in body
    assert 'href="/help"' in client.get("/").get_data(as_text=True)  # linked from every page's footer


# Finding 1, the diagram ----------------------------------------------------------------------------------------

def test_workflow_page_draws_an_svg_from_the_machine(client, world):
    login(client, world.officer())
    html = client.get("/titles/CDHT/diagram").get_data(as_text=True)
    svg = re.search(r"<svg[^>]*>(.*?)</svg>", html, re.S)
    assert svg and 'role="img"' in html
    drawn = set(re.findall(r'data-state="([a-z_]+)"', svg.group(1)))
    assert drawn == {"evidence_collection", "branch_scoring", "commune_appraisal", "final_approval", "recognised",
                     "rejected", "withdrawn", "revoked"}
    words = re.sub(r"<[^>]+>", " ", svg.group(1))
    for label in ("Chi hội chấm điểm", "Trả lại", "Phê duyệt", "Từ chối"):
        assert label in re.sub(r"\s+", " ", words), label
    assert "stateDiagram" not in html and 'id="mermaid-source"' not in html
    assert 'id="transitions"' in html
    client.get("/lang/en")
    english = client.get("/titles/CDHT/diagram").get_data(as_text=True)
    assert "Branch scoring" in re.search(r"<svg.*?</svg>", english, re.S).group(0)


def test_diagram_downloads(client, world):
    login(client, world.officer())
    svg = client.get("/titles/XHT/diagram.svg")
    assert svg.mimetype == "image/svg+xml" and "attachment" in svg.headers["Content-Disposition"]
    assert "Tự đánh giá" in svg.get_data(as_text=True)
    mmd = client.get("/titles/XHT/diagram.mmd")
    assert "stateDiagram" in mmd.get_data(as_text=True) and "attachment" in mmd.headers["Content-Disposition"]
    assert client.get("/titles/NOPE/diagram.svg").status_code == 404


def test_the_layout_is_generic_over_any_machine():
    from web import flowchart

    states = ["a", "b", "c", "d", "done", "gone"]
    edges = [("a", "go", "b"), ("b", "go", "c"), ("c", "go", "d"), ("d", "go", "done"), ("a", "skip", "c"),
             ("d", "back", "a"), ("c", "drop", "gone"), ("b", "drop", "gone"), ("b", "go2", "c")]
    svg = flowchart.render(states, edges, state_label=str.upper, action_label=str.title, title="t", description="d")
    spine, back = flowchart.spine_of(states, edges, "a")
    assert spine == ["a", "b", "c", "d", "done"] and ("d", "a") in back
    assert "Go · Go2" in svg and "Skip" in svg and "Back" in svg and svg.count("<g class=\"wf-node\"") == 6
    assert re.search(r'viewBox="0 0 380 \d+"', svg)


def test_the_unread_count_can_use_its_partial_index(world):
    """PostgreSQL: the header's count reads ix_notifications_unread (the unread in-app notices only), not every
    notice the user ever had; SQLite has the same index (models and migration agree)."""
    if db.engine.dialect.name != "postgresql":
        names = {r[1] for r in db.session.execute(text("PRAGMA index_list('notifications')"))}
        assert "ix_notifications_unread" in names
        return
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = db.session.execute(text(
        "EXPLAIN SELECT count(*) FROM notifications WHERE user_id = 1 AND channel = 'inapp' AND read_at IS NULL"
    )).scalars().all()
    db.session.rollback()
    assert any("ix_notifications_unread" in line for line in plan), plan
