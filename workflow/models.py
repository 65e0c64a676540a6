"""The data model. CHECK constraints tie each state to the columns it needs, so the database refuses what the
engine would never write; state and role vocabularies live in workflow.vocabulary."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import db
from .vocabulary import AREA_CLASSES, COLLECTIVE_KINDS, LEVELS, ORGANISATION_TYPES, ROLES, STATES, SUBJECT_KINDS

Json = JSON().with_variant(JSONB(), "postgresql")
BigIntegerId = BigInteger().with_variant(Integer, "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid


class UTCDateTime(TypeDecorator):
    """A moment, stored in UTC on both databases. PostgreSQL's timestamptz does this itself; SQLite keeps text
    without a zone, so an aware value (a Vietnamese midnight bounding a day's filter) is turned to UTC before it is
    written or compared, and a value read back is UTC-aware as on PostgreSQL."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if dialect.name == "sqlite" and isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_literal_param(self, value, dialect):
        return self.process_bind_param(value, dialect)

    def process_result_value(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


TZDateTime = UTCDateTime()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Unit(db.Model):
    """A node of the administrative/association tree; `path` ("/1/4/9/") makes subtree checks a prefix test."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(_in("level", LEVELS), name="level"),
        CheckConstraint(_in("area_class", AREA_CLASSES), name="area_class"),
        CheckConstraint("(level = 'province') = (parent_id IS NULL)", name="root_is_province"),
        CheckConstraint("population IS NULL OR population >= 0", name="population"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    population: Mapped[int | None] = mapped_column(Integer)
    area_class: Mapped[str] = mapped_column(String(16), default="ordinary", server_default="ordinary")
    # Administration: units (workflow/admin/units.py). kind: xã / phường / đặc khu for a commune, thôn / tổ dân
    # phố for a village; the unit exists from valid_from (new units of the 2025 lists: 1/7/2025) to valid_to.
    kind: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def covers(self, other: Unit) -> bool:
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.level} {self.name}>"


class UnitPredecessor(db.Model):
    """A former unit a post-merger unit absorbed, as its official list names it ("xã Đồng Tiến (huyện Yên
    Thế)"): kind, name, the parenthetical qualifier, whether only part of it came over. predecessor_id links the
    old unit once the mergers' matching has found it (workflow/admin/mergers.py)."""

    __tablename__ = "unit_predecessors"

    id: Mapped[int] = mapped_column(primary_key=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    former_kind: Mapped[str | None] = mapped_column(String(32))
    former_name: Mapped[str] = mapped_column(String(200))
    qualifier: Mapped[str | None] = mapped_column(String(200))
    partial: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)

    successor: Mapped[Unit] = relationship(foreign_keys=[successor_id])
    predecessor: Mapped[Unit | None] = relationship(foreign_keys=[predecessor_id])


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))  # officers (workflow/admin/officers.py)
    locale: Mapped[str] = mapped_column(String(8), default="vi", server_default="vi")
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # Carried by every session and API token; bumping it (logout, password change, deactivation, a revoked
    # grant) ends them all at once (workflow/accounts.py).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", lazy="selectin",
                                                   cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class RoleGrant(db.Model):
    """A user's role at one unit; it covers that unit's whole subtree."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "unit_id", name="uq_role_grants_user_role_unit"),
        CheckConstraint(_in("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)

    user: Mapped[User] = relationship(back_populates="grants")
    unit: Mapped[Unit] = relationship(lazy="joined")


class TitleType(db.Model):
    __tablename__ = "title_types"
    __table_args__ = (CheckConstraint(_in("subject_kind", SUBJECT_KINDS), name="subject_kind"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(16))


class Rubric(db.Model):
    """One immutable version of a criteria set; its content is the data file, hashed so it is never rewritten."""

    __tablename__ = "rubrics"
    __table_args__ = (
        UniqueConstraint("title_code", "version", name="uq_rubrics_title_version"),
        CheckConstraint("kind IN ('points', 'met')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title_code: Mapped[str] = mapped_column(ForeignKey("title_types.code"))
    version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class ApprovalChain(db.Model):
    """Which role at which unit level acts at each stage, valid for a period; province_id NULL is the default."""

    __tablename__ = "approval_chains"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
        UniqueConstraint("code", name="uq_approval_chains_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    title_code: Mapped[str] = mapped_column(ForeignKey("title_types.code"))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    stages: Mapped[dict[str, Any]] = mapped_column(Json)
    source: Mapped[str] = mapped_column(Text, default="")


# Campaigns and deadlines: opens <= nominations <= branch scoring <= appraisal <= decision, where set.
DEADLINES_IN_ORDER = (
    "opens_on <= submit_deadline AND submit_deadline <= decision_deadline"
    " AND (scoring_deadline IS NULL OR (submit_deadline <= scoring_deadline AND scoring_deadline <= decision_deadline))"
    " AND (appraisal_deadline IS NULL OR (submit_deadline <= appraisal_deadline"
    " AND appraisal_deadline <= decision_deadline))"
    " AND (scoring_deadline IS NULL OR appraisal_deadline IS NULL OR scoring_deadline <= appraisal_deadline)")


class Campaign(db.Model):
    """Đợt đánh giá: one title type, one year, one province, one rubric version, with its deadlines."""

    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("title_code", "year", "province_id", name="uq_campaigns_title_year_province"),
        CheckConstraint("stage_limit_days > 0 AND escalate_after_days >= stage_limit_days", name="limits"),
        CheckConstraint(DEADLINES_IN_ORDER, name="deadlines"),  # campaigns and deadlines (issue 8, section 4)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title_code: Mapped[str] = mapped_column(ForeignKey("title_types.code"))
    year: Mapped[int] = mapped_column(Integer)
    province_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    name: Mapped[str] = mapped_column(String(255))
    opens_on: Mapped[date] = mapped_column(Date)
    submit_deadline: Mapped[date] = mapped_column(Date)
    decision_deadline: Mapped[date] = mapped_column(Date)
    stage_limit_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    escalate_after_days: Mapped[int] = mapped_column(Integer, default=28, server_default="28")
    # Campaigns and deadlines (workflow/admin/campaigns.py, workflow/deadlines.py): a stage without its own
    # deadline answers to the next one set; a closed campaign takes no more nominations.
    scoring_deadline: Mapped[date | None] = mapped_column(Date)
    appraisal_deadline: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Issue 14 §3: the title definition version its new files take (NULL: the title's first version); a province
    # adopts a newer one with the migration of its files in flight (workflow/admin/definitions.py).
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("title_definitions.id"))

    rubric: Mapped[Rubric] = relationship(lazy="joined")
    province: Mapped[Unit] = relationship()


class Decision(db.Model):
    """Quyết định công nhận: groups the applications recognised together."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("campaign_id", "number", name="uq_decisions_campaign_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    number: Mapped[str] = mapped_column(String(64))
    signed_on: Mapped[date] = mapped_column(Date)
    signer: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Collective(db.Model):
    """A household (hộ gia đình), a clan branch (dòng họ) or an organisation (cơ quan, trường học, doanh nghiệp):
    the subject of GDHT, DHHT and DVHT files (subject key "collective:<id>"). `unit_id` is where it is: a village
    for a household, a commune for a clan or an organisation (workflow/subjects.py)."""

    __tablename__ = "collectives"
    __table_args__ = (
        CheckConstraint(_in("kind", COLLECTIVE_KINDS), name="kind"),
        CheckConstraint(f"org_type IS NULL OR (kind = 'organisation' AND {_in('org_type', ORGANISATION_TYPES)})",
                        name="org_type"),
        CheckConstraint("head_citizen_id IS NULL OR length(head_citizen_id) = 12", name="head_citizen_id"),
        Index("ix_collectives_unit_kind", "unit_id", "kind", "name_folded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    head_citizen_id: Mapped[str | None] = mapped_column(String(12))
    org_type: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


class Membership(db.Model):
    """A member of a collective over a period: a person (by citizen ID) in a household or an organisation, a
    household in a clan. A household's village is its own unit (Collective.unit_id), not a membership. The counted
    shares (workflow/counting.py) read the memberships in force on the action's day."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("(member_citizen_id IS NULL) <> (member_collective_id IS NULL)", name="one_member"),
        CheckConstraint("member_citizen_id IS NULL OR length(member_citizen_id) = 12", name="member_citizen_id"),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="period"),
        CheckConstraint("member_collective_id IS NULL OR member_collective_id <> collective_id", name="not_self"),
        Index("ix_memberships_collective", "collective_id", "joined_on"),
        Index("ix_memberships_member_collective", "member_collective_id"),
        Index("ix_memberships_member_citizen", "member_citizen_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id"))
    member_citizen_id: Mapped[str | None] = mapped_column(String(12))
    member_name: Mapped[str | None] = mapped_column(String(200))
    member_collective_id: Mapped[int | None] = mapped_column(ForeignKey("collectives.id"))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class TitleDefinition(db.Model):
    """One immutable version of a title's definition (stages, validity; workflow/data/titles.json), hashed like a
    rubric. A file keeps the version it was created under (Application.definition_id); a migration to a newer
    version is explicit and audited (workflow/admin/definitions.py)."""

    __tablename__ = "title_definitions"
    __table_args__ = (UniqueConstraint("title_code", "version", name="uq_title_definitions_title_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title_code: Mapped[str] = mapped_column(ForeignKey("title_types.code"))
    version: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(Json)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


# Built by migration 0012 on PostgreSQL only (a GIN trigram index, a pattern-ops index): migrations/env.py leaves
# them out of the model comparison.
POSTGRESQL_ONLY_INDEXES = ("ix_applications_name_trgm", "ix_applications_citizen_prefix")


class Application(db.Model):
    """Hồ sơ of one nominee. `subject_key` (citizen ID, or the commune) is unique per campaign among live files;
    score_* summarise the scores table so guards need no extra query."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("citizen_id IS NULL OR length(citizen_id) = 12", name="citizen_id"),
        CheckConstraint("state NOT IN ('rejected', 'revoked') OR closed_reason IS NOT NULL", name="reason"),
        CheckConstraint("state NOT IN ('recognised', 'revoked') OR recognised_at IS NOT NULL", name="recognised"),
        CheckConstraint("full_name IS NOT NULL OR citizen_id IS NULL", name="person"),
        Index("uq_applications_live_subject", "campaign_id", "subject_key", unique=True,
              postgresql_where=text("state <> 'withdrawn'"), sqlite_where=text("state <> 'withdrawn'")),
        Index("ix_applications_campaign_state", "campaign_id", "state"),
        Index("ix_applications_unit_state_campaign", "unit_id", "state", "campaign_id", "id"),
        Index("ix_applications_unit_name", "unit_id", "full_name_folded", "id"),
        Index("ix_applications_returned", "id", sqlite_where=text("last_action = 'return'"),
              postgresql_where=text("last_action = 'return'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    state: Mapped[str] = mapped_column(String(32), default="evidence_collection")
    version: Mapped[int] = mapped_column(Integer, default=1)
    subject_key: Mapped[str] = mapped_column(String(32))
    full_name: Mapped[str | None] = mapped_column(String(200))
    full_name_folded: Mapped[str] = mapped_column(String(200), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    citizen_id: Mapped[str | None] = mapped_column(String(12))
    subject_group: Mapped[str | None] = mapped_column(String(16))
    residence_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    target_level: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    score_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    score_min: Mapped[int | None] = mapped_column(Integer)
    scored_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_reason: Mapped[str | None] = mapped_column(Text)
    recognised_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # Administration: mergers (workflow/admin/mergers.py). The pre-2025 commune this file belonged to before the
    # re-homing moved it (or its branch) under the successor; NULL for files never moved.
    former_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # The action of the latest state change (workflow/writes.py): "return" feeds "returned to me" on the home page.
    last_action: Mapped[str | None] = mapped_column(String(16))
    # Issue 14: the other subjects (a household, clan or organisation; a village) and the definition version the
    # file started under (NULL: the title's first version, as for every file created before versions existed).
    collective_id: Mapped[int | None] = mapped_column(ForeignKey("collectives.id"), index=True)
    subject_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("title_definitions.id"))

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    rubric: Mapped[Rubric] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    residence_unit: Mapped[Unit | None] = relationship(foreign_keys=[residence_unit_id])
    collective: Mapped[Collective | None] = relationship()
    subject_unit: Mapped[Unit | None] = relationship(foreign_keys=[subject_unit_id])
    scores: Mapped[list[Score]] = relationship(back_populates="application", order_by="Score.criterion_code")
    # Evidence in bulk (workflow/evidence.py): the dossier's evidence leaves out files removed or replaced while
    # with the branch; `all_evidence` (read-only) still holds them for the trail.
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="application", order_by="Evidence.id",
        primaryjoin="and_(Application.id == Evidence.application_id, Evidence.removed_at.is_(None))")
    all_evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.state} v{self.version}>"


# Citizens across years and places (workflow/citizens.py): a CCCD's history and the cross-province flag look files
# up by citizen ID across campaigns and provinces.
Index("ix_applications_citizen_id", Application.citizen_id)


class Evidence(db.Model):
    """Minh chứng: stored under a content hash; the original (Vietnamese) file name is kept here."""

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint("size > 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    criterion_code: Mapped[str] = mapped_column(String(32))
    original_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # Evidence in bulk (workflow/evidence.py): removed (or replaced) while with the branch; the row and the stored
    # bytes stay for the trail, only the dossier forgets the file. replaced_by_id names the file that took its place.
    removed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))

    application: Mapped[Application] = relationship(back_populates="evidence")


class Score(db.Model):
    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("application_id", "criterion_code", name="uq_scores_application_criterion"),
        CheckConstraint("value >= 0", name="value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    criterion_code: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(Integer)
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scored_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="scores")


class AuditEvent(db.Model):
    """Append-only (a trigger refuses UPDATE/DELETE); the hash chain lives in audit_seals, written after commit."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_application", "application_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, index=True)


class AuditSeal(db.Model):
    """One link of the hash chain: seq orders the chain, hash covers the event's content and prev_hash."""

    __tablename__ = "audit_seals"

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class AuditHead(db.Model):
    """A chain head recorded daily, for an auditor to keep outside the database (detects tail truncation)."""

    __tablename__ = "audit_heads"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """Written in the transition's transaction; handed to the queue only after commit (transactional outbox)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_pending", "id", postgresql_where=text("handed_at IS NULL"),
              sqlite_where=text("handed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    handed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set by the delivery job once every notice owed for the row exists (notifications/); the abandoned-job sweep
    # re-hands rows handed long ago and still undelivered.
    delivered_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class Notification(db.Model):
    """One notice to one person on one channel; the unique key makes redelivery a no-op."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("outbox_id", "user_id", "channel", name="uq_notifications_outbox_user_channel"),
        CheckConstraint("channel IN ('inapp', 'email')", name="channel"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        # The header's unread count on every page (issue 13): only the unread in-app notices are in it.
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL AND channel = 'inapp'"),
              sqlite_where=text("read_at IS NULL AND channel = 'inapp'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    read_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # E-mail only: a short lease taken just before the SMTP conversation, so two jobs for the same message never
    # send it at once; a sender killed mid-conversation loses the lease when it expires.
    attempted_at: Mapped[datetime | None] = mapped_column(TZDateTime)


# Notifications (issue 4): the abandoned-job sweep reads handed but undelivered outbox rows through this index.
Index("ix_outbox_messages_undelivered", OutboxMessage.handed_at,
      postgresql_where=text("delivered_at IS NULL AND handed_at IS NOT NULL"),
      sqlite_where=text("delivered_at IS NULL AND handed_at IS NOT NULL"))


class Digest(db.Model):
    """One reminder digest per person per day: the unique key keeps a second run of the daily job from flooding."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_digests_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class StageAlert(db.Model):
    """A reminder (to the people acting at the stage) or an escalation (to the level above) owed for one stay of an
    application at one stage; unique per stay and person, gathered into that person's next daily digest."""

    __tablename__ = "stage_alerts"
    __table_args__ = (
        UniqueConstraint("application_id", "user_id", "kind", "stage_since", name="uq_stage_alerts_stay"),
        CheckConstraint("kind IN ('reminder', 'escalation')", name="kind"),
        Index("ix_stage_alerts_pending", "user_id", postgresql_where=text("digest_id IS NULL"),
              sqlite_where=text("digest_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    stage_since: Mapped[datetime] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"))


# Spreadsheet import of nominees (issue 9, section 1; workflow/jobs.py, workflow/imports/): long work as a row the
# page polls, plus an RQ job. The counters move in the same transaction as each chunk of work, so a reload or a
# restarted worker sees exactly what is done; finished_at is set exactly when the job has ended.
JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """One unit of long work (kind "import"): who asked, where, how far it got and what went wrong."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("(finished_at IS NOT NULL) = (status IN ('done', 'failed'))", name="finished"),
        CheckConstraint("total >= 0 AND done >= 0 AND created >= 0 AND duplicates >= 0 AND error_count >= 0",
                        name="counters"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    dry_run: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors: Mapped[list[Any]] = mapped_column(Json, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    failure: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[User] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class StateCount(db.Model):
    """How many applications of a campaign sit in a state at a unit (the unit itself, not its subtree): what the
    home page, the queue's count and the reports read instead of counting millions of rows. Kept by database
    triggers on applications (migration 0011) through StateCountDelta, so that every writer, the engine, an
    import, a re-homing or a hand-written UPDATE, keeps it in the same transaction; workflow/summary.py reads it."""

    __tablename__ = "state_counts"
    __table_args__ = (CheckConstraint("n >= 0", name="n"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class StateCountDelta(db.Model):
    """A change to StateCount not yet folded in: triggers only ever INSERT here (no row is shared between
    transactions, so counting never makes two officers wait on each other or deadlock), and
    workflow.summary.fold moves the sums into state_counts."""

    __tablename__ = "state_count_deltas"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32))
    n: Mapped[int] = mapped_column(Integer)


# Mass actions as jobs (issue 10, section 3; workflow/mass_actions.py): a job of kind "mass_action" fixes its set of
# files when it starts (one MassActionItem per file, with the state it was in then), and records one
# MassActionOutcome per file in the same transaction as the file's state change. The job row's counters are read as
# done, ok (Job.created), refused (Job.error_count) and already moved (Job.duplicates, a part of refused).
from sqlalchemy import ForeignKeyConstraint as _ForeignKeyConstraint  # noqa: E402


class MassActionItem(db.Model):
    """One file of a mass action's set, fixed when the job started: the count confirmed is the count acted on.
    `application_id` is what was asked (a list of ids may name files outside the caller's units or none at all,
    reported "not found" as a batch does), so it carries no foreign key; `snap_state` is NULL for such ids."""

    __tablename__ = "mass_action_items"
    __table_args__ = (CheckConstraint(f"snap_state IS NULL OR {_in('snap_state', STATES)}", name="snap_state"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    application_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    snap_state: Mapped[str | None] = mapped_column(String(32))


class MassActionOutcome(db.Model):
    """What the job did with one file of its set: moved (ok, with the states and the audit event) or refused (the
    engine's code and parameters; `already_moved` when someone else had moved the file since the job started).
    At most one per item (the primary key), so a chunk run twice cannot record, or move, a file twice."""

    __tablename__ = "mass_action_outcomes"
    __table_args__ = (
        _ForeignKeyConstraint(["job_id", "application_id"],
                              ["mass_action_items.job_id", "mass_action_items.application_id"], ondelete="CASCADE"),
        CheckConstraint("(ok AND to_state IS NOT NULL AND event_id IS NOT NULL AND error_code IS NULL "
                        "AND NOT already_moved) OR (NOT ok AND error_code IS NOT NULL AND to_state IS NULL "
                        "AND event_id IS NULL)", name="ok"),
        CheckConstraint("NOT already_moved OR error_code IN ('already_moved', 'conflict')", name="already_moved"),
    )

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    application_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ok: Mapped[bool] = mapped_column()
    already_moved: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    acted_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class CrossProvinceCitizen(db.Model):
    """A CCCD that has, or once had, live files in campaigns of one title and year in two provinces (issue 10):
    the flagged-citizens list starts from these few instead of testing every file for a twin. A superset kept by
    triggers in the writer's transaction (migrations/versions/0015_audit_scale.py), never pruned: the list applies
    the exact rule (workflow.citizens.flagged_clause) to the files of these CCCDs."""

    __tablename__ = "cross_province_citizens"

    citizen_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    noted_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, server_default=text("CURRENT_TIMESTAMP"))


# The audit log's actor and action filters, newest first, and its list of actors (0015_audit_scale).
Index("ix_audit_events_actor_name_id", AuditEvent.actor_name, AuditEvent.id)
Index("ix_audit_events_action_id", AuditEvent.action, AuditEvent.id)

# Recognition decisions without the 1,000-row cap (0014_decisions, workflow/decisions.py): the candidates of a
# decision (awaiting final approval, or recognised without a decision) per campaign and unit, counted and paged
# without reading the table; a decision's files in the order of its printed list (folded name, id).
_UNDECIDED = "decision_id IS NULL AND state IN ('final_approval', 'recognised')"
Index("ix_applications_undecided", Application.campaign_id, Application.unit_id, Application.state, Application.id,
      postgresql_where=text(_UNDECIDED), sqlite_where=text(_UNDECIDED))
Index("ix_applications_decision", Application.decision_id, Application.full_name_folded, Application.id,
      postgresql_where=text("decision_id IS NOT NULL"), sqlite_where=text("decision_id IS NOT NULL"))


# Part D of issue 11 (the annual report, workflow/reports/annual.py and closing.py): a commune's closing of a year's
# figures, with the values it reports for the indicators the system does not compute and a snapshot of the computed
# ones as they stood; and the December reminders to communes that have not closed (notifications/closing.py), one
# per officer, commune, year and day.
class ReportClosure(db.Model):
    """A commune's year: closed (closed_at, closed_by) with what it reported, or reopened by the province (the last
    reopening's who, when and why stay here; every closing and reopening is also an audit event)."""

    __tablename__ = "report_closures"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", name="uq_report_closures_unit_year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("(closed_at IS NULL) = (closed_by_id IS NULL)", name="closed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    snapshot: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    reopened_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    reopened_by: Mapped[User | None] = relationship(foreign_keys=[reopened_by_id])


class ClosingReminder(db.Model):
    """One reminder to close a year, per officer, commune, year and day: the unique key makes the daily job safe
    to run again the same day; the notice itself travels as an outbox row (kind "closing_reminder")."""

    __tablename__ = "closing_reminders"
    __table_args__ = (
        UniqueConstraint("user_id", "unit_id", "year", "day", name="uq_closing_reminders_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


# Part B2 of issue 11 (the campaign's flow, workflow/reports/flow.py): files that reached, passed, were returned or
# were rejected at each stage, a file counted once per (stage, outcome) however often it happened, kept like
# StateCount by triggers (on audit_events INSERT, and on applications when a file is re-homed; migration
# 0018_transition_counts); and the index of the weekly progress's files nominated per week.
class TransitionCount(db.Model):
    """How many files of a campaign at a unit (the unit itself, not its subtree) reached / passed / were returned
    / were rejected at a stage (`outcome`), each file once per (stage, outcome): what the pass and return rates
    read instead of reading the audit trail. Folded from TransitionCountDelta (workflow/reports/transitions.py)."""

    __tablename__ = "transition_counts"
    __table_args__ = (CheckConstraint("n >= 0", name="n"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class TransitionCountDelta(db.Model):
    """A change to TransitionCount not yet folded in; triggers only ever INSERT here (as StateCountDelta)."""

    __tablename__ = "transition_count_deltas"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer)


# (The recognised side of the weekly progress and of lateness reads B1's ix_applications_holders.)
Index("ix_applications_campaign_unit_created", Application.campaign_id, Application.unit_id, Application.created_at)
# The list behind a pass/return figure ("the files returned at S") starts from the trail's facts, newest file first:
# returns and rejections (from_state, action, application_id): the files of a rare outcome at a stage (0018).
_SETBACKS = "action IN ('return', 'reject') AND from_state <> to_state"
Index("ix_audit_events_setbacks", AuditEvent.from_state, AuditEvent.action, AuditEvent.application_id,
      postgresql_where=text(_SETBACKS), sqlite_where=text(_SETBACKS))


# Reports: plans, targets, denominators (issue 11, A; workflow/reports/targets.py, workflow/data/targets.json). A
# plan (kế hoạch, quyết định) cites its text and covers years; it is national (province_id NULL) or a province's.
# Its targets are percents per indicator and year, the plan's own (unit_id NULL) or a commune's (unit_id set); a
# NULL value is a row the plan leaves empty (editable). Indicator codes are checked in code against
# workflow/data/indicators.json (data, so a new indicator needs no migration). NULL unit_id in a unique key: two
# partial unique indexes, one per case, the same on SQLite and PostgreSQL.
class ReportPlan(db.Model):
    """A plan that sets targets: its citation, who issued it and when, national or a province's, the years it
    covers, how sure the figures are (C confirmed, P partly, ? not confirmed) and whether it is history (the plan
    of a former province, kept for the record: shown, never applied)."""

    __tablename__ = "report_plans"
    __table_args__ = (
        CheckConstraint("status IN ('C', 'P', '?')", name="status"),
        CheckConstraint("first_year BETWEEN 2000 AND 2100 AND last_year BETWEEN first_year AND 2100", name="years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    citation: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date | None] = mapped_column(Date)
    province_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(1), default="C", server_default="C")
    is_history: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)

    province: Mapped[Unit | None] = relationship()


class ReportTarget(db.Model):
    """One target of a plan: indicator, year, percent (NULL: left empty), for the plan's scope or one unit."""

    __tablename__ = "report_targets"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("value IS NULL OR (value >= 0 AND value <= 100)", name="value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("report_plans.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Numeric(5, 2, asdecimal=False))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(TZDateTime)

    plan: Mapped[ReportPlan] = relationship()
    unit: Mapped[Unit | None] = relationship()


Index("uq_report_targets_plan", ReportTarget.plan_id, ReportTarget.indicator, ReportTarget.year, unique=True,
      postgresql_where=text("unit_id IS NULL"), sqlite_where=text("unit_id IS NULL"))
Index("uq_report_targets_plan_unit", ReportTarget.plan_id, ReportTarget.unit_id, ReportTarget.indicator,
      ReportTarget.year, unique=True, postgresql_where=text("unit_id IS NOT NULL"),
      sqlite_where=text("unit_id IS NOT NULL"))


class ReportDenominator(db.Model):
    """What a figure is divided by, per unit and year: adults aged 15 and over ("adults"), communes and wards
    ("communes"), staff of learning units ("unit_staff"); imported by an admin or seeded as demo figures."""

    __tablename__ = "report_denominators"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "kind", name="uq_report_denominators_unit_year_kind"),
        CheckConstraint("kind IN ('adults', 'communes', 'unit_staff')", name="kind"),
        CheckConstraint("value >= 0", name="value"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_demo: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()


# Part B1 of issue 11 (who holds a title on a date, workflow/reports/indicators.py; migration 0017_report_holders):
# the holders of a title counted per unit from the index alone (campaign, unit, then the recognition date's range;
# subject_key and id for "no later recognition of the same person"), and the ICT score of digital skills found by
# criterion and threshold without reading the scores table.
_HOLDING = "state = 'recognised'"
Index("ix_applications_holders", Application.campaign_id, Application.unit_id, Application.recognised_at,
      Application.subject_key, Application.id, postgresql_where=text(_HOLDING), sqlite_where=text(_HOLDING))
# "No later recognition of the same person" probed person by person (a commune's or a branch's count).
Index("ix_applications_holder_subject", Application.subject_key, Application.campaign_id, Application.recognised_at,
      Application.id, postgresql_where=text(_HOLDING), sqlite_where=text(_HOLDING))
Index("ix_scores_criterion_value", Score.criterion_code, Score.value, Score.application_id)


# Part G of issue 12 (validity and renewal, workflow/validity.py; migration 0022_validity): a renewal links the new
# file to the recognition it renews (a row per renewing file: the hot applications table keeps its columns), and the
# reminders that a commune's XHT expires in 90 days (titles.json "validity" "remind_days_before"), one per
# recognition and officer, so the daily job may run any number of times.
class Renewal(db.Model):
    """File `application_id` is the renewal (Đề nghị công nhận lại) of the recognition `renews_id`."""

    __tablename__ = "renewals"
    __table_args__ = (Index("ix_renewals_renews", "renews_id"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    renews_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class ValidityReminder(db.Model):
    """One reminder that a recognition expires soon, per recognition and officer (the notice is an outbox row of
    kind "validity_reminder")."""

    __tablename__ = "validity_reminders"
    __table_args__ = (UniqueConstraint("application_id", "user_id", name="uq_validity_reminders_application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


# Part F1 of issue 12 (the decision as an official document, workflow/papers/decision.py; migration
# 0021_decision_papers): which rendered PDF belongs to which decision, for which state of its list.
class DecisionPaper(db.Model):
    """The stored PDF of a decision (UPLOAD_DIR/papers/<file_name>): `fingerprint` is the list it was rendered
    from (count, id sum, version sum of the decision's files); another fingerprint now means render again."""

    __tablename__ = "decision_papers"

    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer)
    names: Mapped[int] = mapped_column(Integer)
    rendered_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))


# Part F2 of issue 12 (certificates with a public check, workflow/papers/certificates.py; migration
# 0020_certificates): a certificate per recognised file, its serial counted per province and year, its public code
# unguessable (the verify page's key, never the id).
class Certificate(db.Model):
    """Giấy chứng nhận: one per recognised file (its decision's), serial "<province>-<year>-<seq:06>" with `seq`
    allocated from CertificateCounter; `code` is secrets.token_urlsafe(24) (192 bits)."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("province_id", "year", "seq", name="uq_certificates_province_year_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(40))  # printed; unique with its province and year (seq)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class CertificateCounter(db.Model):
    """The last serial number given per (province, year): an UPDATE ... RETURNING of this row allocates a block,
    and the row lock (PostgreSQL) or the database's write lock (SQLite) serialises concurrent decisions."""

    __tablename__ = "certificate_counters"

    province_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
