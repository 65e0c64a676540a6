"""A believable demo: a two-tier province (Bắc Ninh after the 2025 merger), three real communes (one classed
disadvantaged), two association branches each, one user per role per unit, a CDHT campaign with applications in
every state and an XHT campaign, and one finished spreadsheet import of a branch's list with its rows in error. Every
state change goes through the engine, so the audit trail is real."""
from __future__ import annotations

import csv
import hashlib
import io
import random
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from . import audit, clock, engine, operations
from .db import db
from .loader import add_unit, load_communes_csv, load_reference_data, set_area_class
from .models import Campaign, RoleGrant, Unit, User
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
    _demo_import(cdht, *branches[0], rng)
    audit.seal_all()
    return counts



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
