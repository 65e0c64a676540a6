"""A believable demo: a two-tier province (Bắc Ninh after the 2025 merger), three real communes (one classed
disadvantaged), two association branches each, one user per role per unit, a CDHT campaign with applications in
every state and an XHT campaign, and one finished spreadsheet import of a branch's list with its rows in error. Every
state change goes through the engine, so the audit trail is real."""
from __future__ import annotations

import csv
import hashlib
import io
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from . import audit, clock, engine, operations
from .db import db
from .loader import add_unit, load_communes_csv, load_reference_data, set_area_class
from .models import Application, Campaign, RoleGrant, Unit, User
from .passwords import hash_password
from .rubrics import spec

PROVINCE_CODE = "24"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bac_ninh_communes_2025.csv"
FALLBACK_COMMUNES = [("07210", "Phường Bắc Giang"), ("07228", "Phường Đa Mai"), ("07246", "Xã Xuân Lương")]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang", "Ngọc", "Hữu", "Thanh", "Xuân"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Long", "Mai", "Nam",
         "Ngân", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến", "Đạt"]
# (final state, how the branch scores it): the walk below drives each file through the engine to that state.
PLAN = ["evidence_collection", "branch_scoring", "returned", "commune_appraisal", "final_approval",
        "recognised", "rejected", "withdrawn", "revoked", "recognised"]


def demo_pdf(label: str) -> bytes:
    text = label.encode("ascii", "replace")
    return b"%PDF-1.4\n1 0 obj<<>>endobj\n% " + text + b"\ntrailer<<>>\n%%EOF\n"


def store_bytes(upload_dir: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    target = Path(upload_dir) / digest[:2] / digest
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(data)
    return digest


def already_seeded() -> bool:
    return db.session.scalar(select(Unit).filter_by(code=PROVINCE_CODE)) is not None


def _user(username: str, full_name: str, password_hash: str, role: str, unit: Unit) -> User:
    user = User(username=username, full_name=full_name, password_hash=password_hash,
                email=f"{username}@demo.hoctap.local")
    db.session.add(user)
    db.session.add(RoleGrant(user=user, role=role, unit=unit))
    return user


def relative_deadlines(today: date, nominate_days: int) -> dict[str, date]:
    """Opened 30 days ago; nominations close `nominate_days` from today, then scoring, appraisal and the decision
    ten days apart each."""
    return {"opens_on": today - timedelta(days=30), "submit_deadline": today + timedelta(days=nominate_days),
            "scoring_deadline": today + timedelta(days=nominate_days + 10),
            "appraisal_deadline": today + timedelta(days=nominate_days + 20),
            "decision_deadline": today + timedelta(days=nominate_days + 30)}


def seed(password: str, upload_dir: str, csv_path: Path = SHARED_DATA) -> dict[str, int]:
    rng = random.Random(2026)
    rubrics = load_reference_data()
    province = add_unit(PROVINCE_CODE, "Tỉnh Bắc Ninh", "province", population=3_619_433)
    if csv_path.exists():
        communes = load_communes_csv(csv_path, province, limit=3)
    else:
        communes = [add_unit(code, name, "commune", province) for code, name in FALLBACK_COMMUNES]
    set_area_class(communes[2], "disadvantaged")
    for c, pop in zip(communes, (48_000, 36_500, 15_200), strict=True):
        c.population = pop  # demo figures: the resolution publishes none
    _demo_targets(communes)
    pw = hash_password(password)
    approver = _user("tinh.pheduyet", "Sở GDĐT Bắc Ninh", pw, "provincial_approver", province)
    _user("tinh.kiemtoan", "Kiểm toán viên tỉnh", pw, "auditor", province)
    _user("tinh.quantri", "Quản trị hệ thống", pw, "admin", province)
    branches: list[tuple[Unit, User]] = []
    appraisers = {}
    for i, commune in enumerate(communes, 1):
        appraisers[commune.id] = _user(f"xa{i}.thamdinh", f"Cán bộ thẩm định {commune.name}", pw,
                                       "commune_appraiser", commune)
        for j in (1, 2):
            branch = add_unit(f"{commune.code}-CH{j}", f"Chi hội khuyến học thôn {j}, {commune.name}", "branch",
                              commune, population=1200 + 150 * j)
            branches.append((branch, _user(f"xa{i}.chihoi{j}", f"Chi hội trưởng thôn {j}, {commune.name}", pw,
                                           "branch_officer", branch)))
    db.session.flush()
    today = clock.today()
    year = today.year
    # Deadlines relative to the day of seeding, so that a new user can nominate at once (workflow.deadlines).
    cdht = Campaign(title_code="CDHT", year=year, province=province, rubric_id=rubrics["CDHT"].id,
                    name=f"Đánh giá, công nhận Công dân học tập năm {year}", **relative_deadlines(today, 30))
    xht = Campaign(title_code="XHT", year=year, province=province, rubric_id=rubrics["XHT"].id,
                   name=f"Công nhận Xã học tập năm {year}", **relative_deadlines(today, 60))
    db.session.add_all([cdht, xht])
    db.session.flush()
    counts: dict[str, int] = {}
    for k, (branch, officer) in enumerate(branches):
        commune = branch.parent
        for n, target in enumerate(PLAN):
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            app = operations.create_application(
                cdht, branch, officer, full_name=name, date_of_birth=date(rng.randint(1960, 2004),
                                                                          rng.randint(1, 12), rng.randint(1, 28)),
                citizen_id=f"027{rng.randint(0, 3)}{rng.randint(60, 99):02d}{k:02d}{n:02d}{rng.randint(0, 99):02d}",
                subject_group=rng.choice(["1", "2", "3"]), residence_unit=branch)
            _walk_cdht(app, target, officer, appraisers[commune.id], approver, upload_dir, rng)
            counts[app.state] = counts.get(app.state, 0) + 1
    for i, commune in enumerate(communes):
        app = operations.create_application(xht, commune, appraisers[commune.id], target_level=1)
        _walk_xht(app, ["self_assessment", "upper_appraisal", "recognised"][i], appraisers[commune.id],
                  approver, upload_dir)
    db.session.commit()
    _other_titles(province, communes[0], branches[:2], appraisers[communes[0].id], approver, cdht, upload_dir, rng)
    db.session.commit()
    _demo_import(cdht, *branches[0], rng)
    _history(province, communes, branches, appraisers, approver, rubrics, random.Random(2024))  # issue 11 (C)
    from . import certificates

    certificates.backfill()  # issue 12 §2 (F2): every demo decision's files have their certificates
    db.session.commit()
    _demo_closures(communes, appraisers, year)  # issue 11 (D): the annual report's closings
    db.session.commit()
    audit.seal_all()
    return counts



# --- The other learning titles (issue 14): households, a clan, a village and a school of the first commune -------
HOUSEHOLDS = [("Hộ ông Nguyễn Văn Hùng", 0), ("Hộ bà Trần Thị Lan", 0), ("Hộ ông Lê Đức Nam", 0),
              ("Hộ ông Nguyễn Văn Sơn", 0), ("Hộ bà Phạm Thị Hạnh", 1), ("Hộ ông Nguyễn Hữu Tâm", 1),
              ("Hộ ông Vũ Minh Tuấn", 1), ("Hộ ông Nguyễn Quang Long", 1), ("Hộ bà Đỗ Thị Mai", 0)]
RECOGNISED_FAMILIES = 6  # the first six become Gia đình học tập through the engine


def _other_titles(province: Unit, commune: Unit, branches: list[tuple[Unit, User]], appraiser: User,
                  approver: User, cdht: Campaign, upload_dir: str, rng: random.Random) -> None:
    """Two villages of the commune with nine households (six recognised Gia đình học tập by the engine), a clan of
    five of them (four learning families: 80%, its file waiting for the commune's decision), the first village's
    community file in self-assessment, and a primary school whose staff are the commune's learning citizens (its
    file with the province): each counted criterion shows its figure and its list to the appraiser."""
    from . import subjects
    from .models import Application
    from .validity import titles

    today = clock.today()
    campaigns = {code: Campaign(title_code=code, year=today.year, province=province, rubric_id=rid,
                                name=f"Công nhận {titles()[code]['name_vi']} năm {today.year}",
                                **relative_deadlines(today, 45))
                 for code, rid in _default_rubrics().items()}
    db.session.add_all(campaigns.values())
    villages = [add_unit(f"{commune.code}-T{i}", f"Thôn {i}, {commune.name}", "village", commune, kind="thôn")
                for i in (1, 2)]
    officer = branches[0][1]
    homes = []
    for name, v in HOUSEHOLDS:
        home = subjects.create_collective(officer, subjects.CollectiveInput(kind="household", name=name,
                                                                            unit_id=villages[v].id))
        for n in range(2):
            subjects.add_member(officer, subjects.MembershipInput(
                collective_id=home.id, member_citizen_id=f"02719{home.id:03d}{n:04d}", joined_on=date(2020, 1, 1),
                member_name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"))
        homes.append(home)
    for home in homes[:RECOGNISED_FAMILIES + 1]:
        app = operations.create_application(campaigns["GDHT"], branches[0][0], officer, collective=home)
        operations.set_scores(app, officer, {c.code: rng.randint(8, 10) for c in spec(app.rubric_id).scored_for(1)})
        engine.fire(app, "submit", officer)
        if home is homes[RECOGNISED_FAMILIES]:
            continue  # one family still with the branch
        engine.fire(app, "submit", officer)
        engine.fire(app, "approve", appraiser)
    clan = subjects.create_collective(appraiser, subjects.CollectiveInput(kind="clan", name="Dòng họ Nguyễn Văn",
                                                                          unit_id=commune.id))
    for home in (homes[0], homes[1], homes[3], homes[5], homes[7]):
        subjects.add_member(appraiser, subjects.MembershipInput(collective_id=clan.id, member_collective_id=home.id,
                                                                joined_on=date(2018, 1, 1)))
    _filed(campaigns["DHHT"], commune, appraiser, upload_dir, ("submit", "submit"), collective=clan)
    _filed(campaigns["CDHT_THON"], commune, appraiser, upload_dir, ("submit",), subject_unit=villages[0])
    school = subjects.create_collective(appraiser, subjects.CollectiveInput(
        kind="organisation", name=f"Trường Tiểu học {commune.name.removeprefix('Phường ').removeprefix('Xã ')}",
        unit_id=commune.id, org_type="education"))
    people = db.session.scalars(select(Application.citizen_id).where(
        Application.campaign_id == cdht.id, Application.state == "recognised",
        Application.unit_id.in_([b.id for b, _ in branches]))).all()
    for cid in people:  # its staff: the commune's learning citizens (TT 24/2023 asks 95% of an education's)
        subjects.add_member(appraiser, subjects.MembershipInput(collective_id=school.id, member_citizen_id=cid,
                                                                joined_on=date(2021, 9, 1)))
    _filed(campaigns["DVHT"], commune, appraiser, upload_dir, ("submit", "submit"), collective=school)


def _default_rubrics() -> dict[str, int]:
    """The default criteria version (titles.json "rubric") of each of the other titles."""
    from .models import Rubric
    from .validity import titles

    return {t: db.session.scalar(select(Rubric.id).filter_by(title_code=t, version=titles()[t]["rubric"]))
            for t in ("GDHT", "DHHT", "CDHT_THON", "DVHT")}


def _filed(campaign: Campaign, unit: Unit, actor: User, upload_dir: str, actions: tuple[str, ...], **subject):
    """A file of one of the other titles, its evidence and self-assessment done, sent on by `actions`."""
    app = operations.create_application(campaign, unit, actor, **subject)
    _evidence_and_scores(app, actor, upload_dir, lambda c: 1)
    operations.set_scores(app, actor, {c.code: 1 for c in spec(app.rubric_id).criteria_for(1)})
    for action in actions:
        engine.fire(app, action, actor)
    return app


def _demo_targets(communes: list[Unit]) -> None:
    """The plans of workflow/data/targets.json now that the province exists (issue 11), and demo denominators:
    adults aged 15 and over of each demo commune for last year and this one, flagged as demo figures."""
    from .reports import denominators, targets

    targets.load_plans()
    year = clock.today().year
    denominators.seed_demo(communes, [year - 1, year])


def _demo_import(campaign: Campaign, branch: Unit, officer: User, rng: random.Random) -> None:
    """One finished spreadsheet import, as a branch officer would have done it: 24 nominees filed, three rows sent
    back in the error file (a date that does not exist, a CCCD Excel turned into a number, an unknown village)."""
    from . import imports, jobs
    from .imports.template import columns

    headers = [c.header for c in columns(campaign)]
    scores = len(headers) - 6
    lines = [headers]
    for n in range(24):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        born = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1960, 2004)}"
        points = [str(rng.randint(7, 10)) for _ in range(scores)] if n % 3 == 0 else [""] * scores
        lines.append([name, born, f"0271{n:02d}{rng.randint(0, 999999):06d}", rng.choice(["1", "2", "3"]), "", "",
                      *points])
    lines.append(["Trần Văn Sai Ngày", "31/02/1980", "027180000901", "1", "", "", *[""] * scores])
    lines.append(["Lê Thị Số Hóa", "12/03/1975", "2.7175E+10", "2", "", "", *[""] * scores])
    lines.append(["Phạm Văn Thôn Lạ", "05/06/1990", "027190000903", "3", "Thôn Không Có", "", *[""] * scores])
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    data = "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    job = imports.start(campaign, branch, officer, file_name="danh-sach-de-nghi-thon-1.csv", data=data,
                        dry_run=False)
    db.session.commit()
    jobs.run(job.id)


def _evidence_and_scores(app, officer, upload_dir: str, points) -> None:
    rubric = spec(app.rubric_id)
    for crit in rubric.criteria_for(app.target_level):
        data = demo_pdf(f"{app.id}-{crit.code}")
        digest = store_bytes(upload_dir, data)
        operations.add_evidence(app, officer, criterion_code=crit.code, original_name=f"minh chứng {crit.code}.pdf",
                                size=len(data), sha256=digest, media_type="application/pdf")
    return {c.code: points(c) for c in rubric.criteria_for(app.target_level)}


def _walk_cdht(app, target: str, officer: User, appraiser: User, approver: User, upload_dir: str, rng) -> None:
    if target == "evidence_collection":
        return
    scores = _evidence_and_scores(app, officer, upload_dir, lambda c: rng.randint(8, 10))
    engine.fire(app, "submit", officer)
    operations.set_scores(app, officer, scores)
    if target == "branch_scoring":
        return
    if target == "withdrawn":
        engine.fire(app, "withdraw", officer, reason="Người được đề cử chuyển nơi cư trú")
        return
    engine.fire(app, "submit", officer)
    if target == "returned":
        engine.fire(app, "return", appraiser, reason="Bổ sung minh chứng tiêu chí 2.1 (chứng chỉ tin học)")
        return
    if target == "commune_appraisal":
        return
    if target == "rejected":
        engine.fire(app, "reject", appraiser, reason="Minh chứng tiêu chí 1.3 không xác thực")
        return
    engine.fire(app, "approve", appraiser)
    if target == "final_approval":
        return
    engine.fire(app, "approve", approver)
    if target == "revoked":
        engine.fire(app, "revoke", approver, reason="Phát hiện khai báo không trung thực sau công nhận")


def _walk_xht(app, target: str, appraiser: User, approver: User, upload_dir: str) -> None:
    marks = _evidence_and_scores(app, appraiser, upload_dir, lambda c: 1)
    engine.fire(app, "submit", appraiser)
    operations.set_scores(app, appraiser, marks)
    if target == "self_assessment":
        return
    engine.fire(app, "submit", appraiser)
    if target == "upper_appraisal":
        return
    engine.fire(app, "approve", approver)
    engine.fire(app, "approve", approver)


def demo_users() -> list[dict[str, str]]:
    rows = db.session.execute(select(User.username, RoleGrant.role, Unit.name, Unit.code)
                              .join(RoleGrant, RoleGrant.user_id == User.id).join(Unit, Unit.id == RoleGrant.unit_id)
                              .order_by(Unit.path, User.username)).all()
    return [{"username": u, "role": r, "unit": n, "unit_code": c} for u, r, n, c in rows]


# --- Demo history (issue 11, part C): the two previous years' campaigns, so the coverage-by-year chart has a trend --
# (files per branch, share whose ICT score (criterion 2.1) reaches 7): more nominees and more digital skills each year.
HISTORY = {2: (150, 0.55), 1: (280, 0.68)}
HISTORY_OUTCOMES = (("recognised", 0.86), ("rejected", 0.06), ("withdrawn", 0.04), ("revoked", 0.02),
                    ("returned_then_recognised", 0.02))


def _history(province: Unit, communes: list[Unit], branches: list[tuple[Unit, User]], appraisers: dict[int, User],
             approver: User, rubrics, rng: random.Random) -> int:
    """Closed CDHT and XHT campaigns of the two previous years, bulk-inserted through SQLAlchemy Core (so the
    per-state summary and transition triggers run): applications, scores, their decision and the audit events of
    the steps each file went through (create, submit, approve, some returned, rejected, withdrawn or revoked).
    Decisions fall in December, so last year's holders still hold today (CDHT validity one year, titles.json).
    A citizen recognised two years ago is often nominated again the next year. Returns the files written."""
    from sqlalchemy import insert

    from .models import AuditEvent, Decision, Score
    from .reports import denominators
    from .text import fold

    year = clock.today().year
    denominators.seed_demo(communes, [year - max(HISTORY), *range(year - max(HISTORY) + 1, year + 1)])  # rows kept
    _province_adults_before_merger(province, communes, [year - back for back in HISTORY])
    apps_t, scores_t, events_t = Application.__table__, Score.__table__, AuditEvent.__table__
    cdht_codes = [c.code for c in spec(rubrics["CDHT"].id).criteria_for(1)]
    xht_codes = [c.code for c in spec(rubrics["XHT"].id).criteria_for(1)]
    people: dict[tuple[int, int], tuple[str, date, str, str]] = {}  # (branch index, n) -> a person, kept a year on
    written = 0
    for back, (per_branch, digital) in sorted(HISTORY.items(), reverse=True):
        y = year - back
        dates = {"opens_on": date(y, 3, 1), "submit_deadline": date(y, 6, 30), "scoring_deadline": date(y, 8, 31),
                 "appraisal_deadline": date(y, 10, 31), "decision_deadline": date(y, 12, 31)}
        # Signed from 10/12; last year's no earlier than this day a year ago (plus a few days), so that they still
        # hold today whenever the demo is seeded (a one-year validity), also in the days before the 15/12 report.
        today = clock.today()
        first_day = max(date(y, 12, 10), date(y, today.month, min(today.day, 28)) + timedelta(days=3)) \
            if back == 1 else date(y, 12, 10)
        first_day = min(first_day, date(y, 12, 26))
        closed = datetime(y, 12, 28, 3, 0, tzinfo=UTC)
        cdht = Campaign(title_code="CDHT", year=y, province=province, rubric_id=rubrics["CDHT"].id,
                        name=f"Đánh giá, công nhận Công dân học tập năm {y}", closed_at=closed, **dates)
        xht = Campaign(title_code="XHT", year=y, province=province, rubric_id=rubrics["XHT"].id,
                       name=f"Công nhận Xã học tập năm {y}", closed_at=closed, **dates)
        db.session.add_all([cdht, xht])
        db.session.flush()
        decisions = {}
        for i, commune in enumerate(communes):
            decisions[commune.id] = Decision(campaign_id=cdht.id, unit_id=commune.id, number=f"{150 + i}/QĐ-UBND",
                                             signed_on=first_day + timedelta(days=i),
                                             signer="Chủ tịch UBND " + commune.name,
                                             created_by_id=appraisers[commune.id].id)
        xht_decision = Decision(campaign_id=xht.id, unit_id=province.id, number=f"{2100 + back}/QĐ-UBND",
                                signed_on=first_day + timedelta(days=4), signer="Chủ tịch UBND tỉnh Bắc Ninh",
                                created_by_id=approver.id)
        db.session.add_all([*decisions.values(), xht_decision])
        db.session.flush()
        rows, plans = [], []
        for k, (branch, officer) in enumerate(branches):
            commune = branch.parent
            for n in range(per_branch + rng.randint(-per_branch // 5, per_branch // 5)):
                again = people.get((k, n)) if rng.random() < 0.5 else None
                if again is None:
                    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                    born = date(rng.randint(1955, y - 16), rng.randint(1, 12), rng.randint(1, 28))
                    again = (name, born, f"027{6 + back}{k:02d}{n:06d}", rng.choice(["1", "2", "3"]))
                people[(k, n)] = again
                name, born, cid, group = again
                outcome = rng.choices([o for o, _w in HISTORY_OUTCOMES], [w for _o, w in HISTORY_OUTCOMES])[0]
                created = datetime(y, 3, 2, 2, tzinfo=UTC) + timedelta(days=rng.randint(0, 110),
                                                                              minutes=rng.randint(0, 600))
                decided = datetime.combine(decisions[commune.id].signed_on, datetime.min.time(),
                                           UTC) + timedelta(hours=3)
                points = {c: rng.randint(8, 10) for c in cdht_codes}
                points["2.1"] = rng.randint(7, 10) if rng.random() < digital else rng.randint(5, 6)
                final = {"returned_then_recognised": "recognised"}.get(outcome, outcome)
                revoked = decided + timedelta(days=rng.randint(20, 120)) if final == "revoked" else None
                if revoked is not None and revoked > clock.now():
                    final, revoked = "recognised", None
                recognised = final in ("recognised", "revoked")
                rows.append({
                    "campaign_id": cdht.id, "rubric_id": cdht.rubric_id, "unit_id": branch.id, "state": final,
                    "version": 5, "subject_key": cid, "full_name": name, "full_name_folded": fold(name),
                    "date_of_birth": born, "citizen_id": cid, "subject_group": group,
                    "residence_unit_id": branch.id, "target_level": 1, "score_total": sum(points.values()),
                    "score_min": min(points.values()), "scored_count": len(points),
                    "closed_reason": {"rejected": "Minh chứng tiêu chí 1.3 không xác thực",
                                      "withdrawn": "Người được đề cử chuyển nơi cư trú",
                                      "revoked": "Phát hiện khai báo không trung thực sau công nhận"}.get(final),
                    "recognised_at": decided if recognised else None,
                    "decision_id": decisions[commune.id].id if recognised else None,
                    "created_by_id": officer.id, "created_at": created,
                    "state_changed_at": revoked or (decided if final != "withdrawn" else created + timedelta(days=9)),
                    "last_action": {"recognised": "approve", "revoked": "revoke", "rejected": "reject",
                                    "withdrawn": "withdraw"}[final]})
                plans.append((outcome, points, created, decided, revoked, officer, appraisers[commune.id]))
        for i, commune in enumerate(communes):
            if i != 2 - back:  # two years ago the first commune (recognised), last year the second (not recognised)
                continue
            won = back == 2
            decided = datetime.combine(xht_decision.signed_on, datetime.min.time(), UTC) + timedelta(hours=3)
            rows.append({
                "campaign_id": xht.id, "rubric_id": xht.rubric_id, "unit_id": commune.id,
                "state": "recognised" if won else "rejected", "version": 5, "subject_key": f"unit:{commune.id}",
                "full_name": commune.name, "full_name_folded": fold(commune.name), "target_level": 1,
                "score_total": len(xht_codes), "score_min": 1, "scored_count": len(xht_codes),
                "recognised_at": decided if won else None, "decision_id": xht_decision.id if won else None,
                "closed_reason": None if won else "Chưa đạt tiêu chí 3.2 (tỷ lệ Công dân học tập của xã)",
                "created_by_id": appraisers[commune.id].id, "created_at": datetime(y, 4, 1, 2, tzinfo=UTC),
                "state_changed_at": decided, "last_action": "approve" if won else "reject"})
            plans.append(("xht" if won else "xht_rejected", {c: 1 for c in xht_codes}, rows[-1]["created_at"],
                          decided, None, appraisers[commune.id], approver))
        keys = set().union(*rows)  # one statement for all: every row names every column (XHT rows lack a person's)
        rows = [{k: r.get(k) for k in keys} for r in rows]
        ids = list(db.session.scalars(insert(apps_t).returning(apps_t.c.id, sort_by_parameter_order=True), rows))
        scores, events = [], []
        for app_id, row, (outcome, points, created, decided, revoked, first, second) in zip(ids, rows, plans,
                                                                                           strict=True):
            scored_at = created + timedelta(days=5)
            scores += [{"application_id": app_id, "criterion_code": c, "value": v, "scored_by_id": first.id,
                        "scored_at": scored_at} for c, v in points.items()]
            events += _history_events(app_id, row, outcome, first, second, approver, created, decided, revoked)
        db.session.execute(insert(scores_t), scores)
        # RETURNING makes SQLAlchemy send multi-row INSERTs (insertmanyvalues, 1,000 rows a statement) rather
        # than one statement per row: the transition-count trigger (0018) is per statement, so it runs ~15 times,
        # not ~15,000 (on PostgreSQL that is 0.5 s against 17 s).
        db.session.execute(insert(events_t).returning(events_t.c.id), events)
        written += len(ids)
    return written


def _province_adults_before_merger(province: Unit, communes: list[Unit], years: list[int]) -> None:
    """The demo's communes are the merged ones (in force from 1/7/2025): for a year before them the province's
    adults cannot be summed from its communes, so the province's own (demo) figure is recorded, as a province
    reports it, the sum of the same communes' demo rows."""
    from .models import ReportDenominator
    from .reports import targets

    for y in years:
        if targets.active_communes(province, y) or db.session.scalar(select(ReportDenominator.id).filter_by(
                unit_id=province.id, year=y, kind="adults")):
            continue
        total = sum(db.session.scalars(select(ReportDenominator.value).where(
            ReportDenominator.unit_id.in_([c.id for c in communes]), ReportDenominator.year == y,
            ReportDenominator.kind == "adults")))
        if total:
            db.session.add(ReportDenominator(unit_id=province.id, year=y, kind="adults", value=total,
                                             source=targets.DEMO_SOURCE, is_demo=True))
    db.session.flush()


def _history_events(app_id: int, row: dict, outcome: str, first: User, second: User, approver: User,
                    created: datetime, decided: datetime, revoked: datetime | None) -> list[dict]:
    """The audit events of the steps one history file went through, each at a plausible moment."""
    xht = outcome in ("xht", "xht_rejected")
    stages = ["evidence_collection", "self_assessment", "upper_appraisal", "final_approval"] if xht else \
        ["evidence_collection", "branch_scoring", "commune_appraisal", "final_approval"]
    out = []

    def ev(when: datetime, who: User, action: str, src: str | None, dst: str, reason: str | None = None,
           payload: dict | None = None) -> None:
        out.append({"application_id": app_id, "actor_id": who.id, "actor_name": who.username, "action": action,
                    "from_state": src, "to_state": dst, "reason": reason, "payload": payload or {},
                    "created_at": when})

    ev(created, first, "create", None, stages[0], payload={"subject_key": row["subject_key"],
                                                          "unit_id": row["unit_id"]})
    ev(created + timedelta(days=3), first, "submit", stages[0], stages[1])
    if outcome == "withdrawn":
        ev(created + timedelta(days=9), first, "withdraw", stages[1], "withdrawn", reason=row["closed_reason"])
        return out
    if xht:  # (as workflow.demo._walk_xht: submit, submit, approve, approve)
        ev(created + timedelta(days=20), first, "submit", stages[1], stages[2])
        ev(created + timedelta(days=60), approver, "approve", stages[2], stages[3])
        if outcome == "xht_rejected":
            ev(decided - timedelta(days=1), approver, "reject", stages[3], "rejected", reason=row["closed_reason"])
        else:
            ev(decided - timedelta(days=1), approver, "approve", stages[3], "recognised")
        return out
    ev(created + timedelta(days=10), first, "submit", "branch_scoring", "commune_appraisal")
    if outcome == "returned_then_recognised":
        ev(created + timedelta(days=30), second, "return", "commune_appraisal", "branch_scoring",
           reason="Bổ sung minh chứng tiêu chí 2.1 (chứng chỉ tin học)")
        ev(created + timedelta(days=40), first, "submit", "branch_scoring", "commune_appraisal")
    if outcome == "rejected":
        ev(created + timedelta(days=60), second, "reject", "commune_appraisal", "rejected", reason=row["closed_reason"])
        return out
    ev(created + timedelta(days=120), second, "approve", "commune_appraisal", "final_approval")
    ev(decided, approver, "approve", "final_approval", "recognised", payload={"decision_id": row["decision_id"]})
    if revoked is not None:
        ev(revoked, approver, "revoke", "recognised", "revoked", reason=row["closed_reason"])
    return out


def _demo_closures(communes: list[Unit], appraisers: dict[int, User], year: int) -> None:
    """Issue 11 (D): every commune closed last year's figures; this year only the first has closed so far, so the
    province's annual report lists communes closed and not closed (and the December reminders have someone to
    remind)."""
    from .reports import closing

    for i, commune in enumerate(communes):
        for y in (year - 1, year) if i == 0 else (year - 1,):
            data = closing.parse_form({"year": str(y), "cdht_trained_numerator": str(1800 + 150 * i),
                                       "cdht_trained_denominator": "2400", "cdht_unit_staff_numerator": "45",
                                       "cdht_unit_staff_denominator": "60"})
            closing.close_year(appraisers[commune.id], commune, data)
