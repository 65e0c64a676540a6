"""Test data as factories: a province with its units, one user per role per unit, campaigns, and helpers that
move an application to a given stage through the engine (never by writing the state directly)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from workflow import clock, engine, operations
from workflow.db import db
from workflow.loader import add_unit, load_reference_data
from workflow.models import Application, Campaign, RoleGrant, Unit, User
from workflow.passwords import hash_password
from workflow.rubrics import spec

_ids = itertools.count(1)
PASSWORD = "secret-pw"


def make_user(role: str, unit: Unit, username: str | None = None) -> User:
    user = User(username=username or f"{role}-{unit.code}-{next(_ids)}", full_name=f"{role} {unit.name}",
                password_hash=hash_password(PASSWORD), email=f"u{next(_ids)}@example.test")
    db.session.add(user)
    db.session.add(RoleGrant(user=user, role=role, unit=unit))
    db.session.flush()
    return user


@dataclass
class World:
    province: Unit
    district: Unit | None
    communes: list[Unit]
    branches: dict[int, list[Unit]]
    officers: dict[int, User]  # by branch id
    appraisers: dict[int, User]  # by commune id
    approver: User  # district approver (three tiers) or provincial approver (two tiers)
    auditor: User
    admin: User
    cdht: Campaign
    xht: Campaign
    other_approver: User | None = None
    _cids: itertools.count = field(default_factory=lambda: itertools.count(100000000001))

    def branch(self, commune: int = 0, n: int = 0) -> Unit:
        return self.branches[self.communes[commune].id][n]

    def officer(self, commune: int = 0, n: int = 0) -> User:
        return self.officers[self.branch(commune, n).id]

    def appraiser(self, commune: int = 0) -> User:
        return self.appraisers[self.communes[commune].id]

    def new_cdht(self, commune: int = 0, n: int = 0, **kw) -> Application:
        values = dict(full_name="Nguyễn Văn An", date_of_birth=date(1980, 5, 17),
                      citizen_id=str(next(self._cids)), subject_group="1")
        values.update(kw)
        return operations.create_application(self.cdht, self.branch(commune, n), self.officer(commune, n), **values)

    def new_xht(self, commune: int = 0, level: int = 1) -> Application:
        return operations.create_application(self.xht, self.communes[commune], self.appraiser(commune),
                                             target_level=level)


def open_deadlines(year: int) -> dict[str, date]:
    """Campaign dates that stay open through any test's time travel (deadlines are enforced: workflow.deadlines):
    the nominations close at the end of the next year, so a world built today can nominate."""
    return {"opens_on": date(year, 1, 1), "submit_deadline": date(year + 1, 12, 31),
            "decision_deadline": date(year + 2, 6, 30)}


def build_world(tiers: int = 2) -> World:
    rubrics = load_reference_data()
    province = add_unit(f"P{tiers}", "Tỉnh Thử Nghiệm", "province")
    district = add_unit(f"D{tiers}", "Huyện Thử Nghiệm", "district", province) if tiers == 3 else None
    parent = district or province
    communes = [add_unit(f"C{tiers}{i}", name, "commune", parent, area_class=area)
                for i, (name, area) in enumerate([("Xã Đông Phong", "ordinary"), ("Xã Yên Lư", "disadvantaged")])]
    branches, officers, appraisers = {}, {}, {}
    for c in communes:
        appraisers[c.id] = make_user("commune_appraiser", c)
        branches[c.id] = [add_unit(f"{c.code}B{j}", f"Chi hội thôn {j}", "branch", c) for j in (1, 2)]
        for b in branches[c.id]:
            officers[b.id] = make_user("branch_officer", b)
    approver = make_user("district_approver" if district else "provincial_approver", parent)
    year = clock.today().year
    cdht = Campaign(title_code="CDHT", year=year, province=province, rubric_id=rubrics["CDHT"].id, name="CDHT",
                    **open_deadlines(year))
    xht = Campaign(title_code="XHT", year=year, province=province, rubric_id=rubrics["XHT"].id, name="XHT",
                   **open_deadlines(year))
    db.session.add_all([cdht, xht])
    w = World(province, district, communes, branches, officers, appraisers, approver,
              make_user("auditor", province), make_user("admin", province), cdht, xht)
    db.session.commit()
    return w


def add_all_evidence(app: Application, actor: User) -> None:
    for crit in spec(app.rubric_id).criteria_for(app.target_level):
        operations.add_evidence(app, actor, criterion_code=crit.code, original_name=f"minh chứng {crit.code}.pdf",
                                size=100, sha256="0" * 64, media_type="application/pdf")


def score_all(app: Application, actor: User, value: int | dict[str, int] = 9) -> None:
    codes = [c.code for c in spec(app.rubric_id).criteria_for(app.target_level)]
    values = value if isinstance(value, dict) else dict.fromkeys(codes, value)
    operations.set_scores(app, actor, values)


def to_scoring(app: Application, side: User) -> Application:
    add_all_evidence(app, side)
    engine.fire(app, "submit", side)
    return app


def to_appraisal(app: Application, side: User, value: int | dict[str, int] = 9) -> Application:
    """Evidence for every criterion, scored, submitted to the appraisal stage."""
    to_scoring(app, side)
    score_all(app, side, 1 if app.campaign.title_code == "XHT" and value == 9 else value)
    engine.fire(app, "submit", side)
    return app


def cdht_at(world: World, state: str, commune: int = 0, **kw) -> Application:
    """A committed CDHT application brought to `state` through the engine."""
    app = world.new_cdht(commune, **kw)
    officer = world.officer(commune)
    if state != "evidence_collection":
        to_scoring(app, officer)
    if state not in ("evidence_collection", "branch_scoring"):
        score_all(app, officer)
        engine.fire(app, "submit", officer)
    if state in ("final_approval", "recognised"):
        engine.fire(app, "approve", world.appraiser(commune))
    if state == "recognised":
        engine.fire(app, "approve", world.approver)
    db.session.commit()
    assert app.state == state
    return app


def bulk_at_appraisal(world: World, n: int, commune: int = 0, total: int = 90) -> list[int]:
    """n CDHT files already at commune appraisal with a passing score summary, inserted set-wise: setup for
    batch tests and benchmarks, where walking each file through every step would only cost time."""
    from sqlalchemy import insert

    base = next(world._cids) * 10_000
    now = clock.now()
    rows = [{"campaign_id": world.cdht.id, "rubric_id": world.cdht.rubric_id, "unit_id": world.branch(commune).id,
             "state": "commune_appraisal", "version": 3, "subject_key": str(base + i)[-12:],
             "citizen_id": str(base + i)[-12:], "full_name": f"Người thứ {i}", "full_name_folded": f"nguoi thu {i}",
             "subject_group": "1", "target_level": 1, "score_total": total, "score_min": total // 10,
             "scored_count": 10, "created_at": now, "state_changed_at": now} for i in range(n)]
    ids = db.session.scalars(insert(Application.__table__).returning(Application.__table__.c.id,
                                                                     sort_by_parameter_order=True), rows).all()
    db.session.commit()
    return list(ids)


_owner_engines: dict[str, object] = {}


def owner_engine():
    """An engine with the owner's rights: DATABASE_OWNER_URL on PostgreSQL when set, else the app's own engine (one
    role owns everything: SQLite, or PostgreSQL as a single role)."""
    from sqlalchemy import create_engine

    from workflow import dbroles

    url = dbroles.owner_url()
    if url is None or db.engine.dialect.name != "postgresql":
        return db.engine
    if url not in _owner_engines:
        _owner_engines[url] = create_engine(url, pool_size=2)
    return _owner_engines[url]


def tamper(*statements: str) -> None:
    """What someone with database access could do: switch the append-only triggers off, then write. With two roles
    that is the owner (the runtime role may not): it switches the triggers off and drops the seals' foreign key for
    one transaction, then puts the key back unvalidated (the next wipe validates it again)."""
    from sqlalchemy import text

    owner = owner_engine()
    if owner is not db.engine:
        db.session.commit()  # hold no lock the owner's ALTER TABLE would wait for
        fk = "fk_audit_seals_event_id_audit_events"
        with owner.begin() as conn:
            for table in ("audit_events", "audit_seals"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            conn.execute(text(f"ALTER TABLE audit_seals DROP CONSTRAINT {fk}"))
            for stmt in statements:
                conn.execute(text(stmt))
            conn.execute(text(f"ALTER TABLE audit_seals ADD CONSTRAINT {fk} FOREIGN KEY (event_id) "
                              "REFERENCES audit_events (id) NOT VALID"))
            for table in ("audit_events", "audit_seals"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for table in ("audit_events", "audit_seals"):
            for verb in ("update", "delete"):
                db.session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        db.session.execute(text("PRAGMA foreign_keys = OFF"))
    for stmt in statements:
        db.session.execute(text(stmt))
    db.session.commit()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def docx() -> bytes:
    """The smallest zip the upload check takes for a Word document ([Content_Types].xml + word/document.xml)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def build_other_province(tag: str = "Q") -> World:
    """A second two-tier province beside `build_world`'s, with its own units, users and campaigns (codes prefixed
    by `tag`): for tests that one province's users never see, or act on, the other's."""
    rubrics = load_reference_data()
    province = add_unit(f"{tag}P", "Tỉnh Bên Cạnh", "province")
    communes = [add_unit(f"{tag}C{i}", name, "commune", province, area_class="ordinary")
                for i, name in enumerate(["Xã Bắc Sơn", "Xã Nam Hà"])]
    branches, officers, appraisers = {}, {}, {}
    for c in communes:
        appraisers[c.id] = make_user("commune_appraiser", c)
        branches[c.id] = [add_unit(f"{c.code}B{j}", f"Chi hội xóm {j}", "branch", c) for j in (1, 2)]
        for b in branches[c.id]:
            officers[b.id] = make_user("branch_officer", b)
    year = clock.today().year
    campaigns = [Campaign(title_code=code, year=year, province=province, rubric_id=rubrics[code].id, name=code,
                          **open_deadlines(year)) for code in ("CDHT", "XHT")]
    db.session.add_all(campaigns)
    w = World(province, None, communes, branches, officers, appraisers, make_user("provincial_approver", province),
              make_user("auditor", province), make_user("admin", province), *campaigns)
    db.session.commit()
    return w


def xht_level1_history(world: World, commune: int = 0, recognised_on: date | None = None) -> Application:
    """Issue 12 (part G): a commune's level-1 XHT recognition in an earlier campaign (two years back by default),
    the history a level-2 file requires (workflow.validity, titles.json "validity" "levels"). Written as the
    row a past year's engine left, since the engine judges as of today."""
    from datetime import datetime, time

    on = recognised_on or date(clock.today().year - 2, 12, 10)
    unit = world.communes[commune]
    year = min(on.year, world.xht.year - 1)  # an earlier campaign (its decision may fall in the next year)
    past = db.session.query(Campaign).filter_by(title_code="XHT", year=year, province_id=world.province.id).first()
    if past is None:
        past = Campaign(title_code="XHT", year=year, province=world.province, rubric_id=world.xht.rubric_id,
                        name=f"XHT {year}", **open_deadlines(year))
        db.session.add(past)
    at = datetime.combine(on, time(10, 0), tzinfo=clock.VN)
    app = Application(campaign=past, rubric_id=past.rubric_id, unit=unit, state="recognised",
                      subject_key=f"unit:{unit.id}", full_name=unit.name, full_name_folded=unit.name.lower(),
                      target_level=1, created_by_id=world.admin.id, created_at=at, state_changed_at=at,
                      recognised_at=at)
    db.session.add(app)
    db.session.commit()
    return app
