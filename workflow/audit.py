"""Tamper evidence for the audit trail.

Events are written append-only on the hot path with no global lock. A sealing step, run after commit, takes the
unsealed events in the order it finds them committed and appends one link each to audit_seals: seq, prev_hash and
hash = HMAC-SHA256(key, seq + prev_hash + canonical content). The key lives outside the database
(workflow.auditkey, app config AUDIT_KEY), so whoever can rewrite the tables still cannot recompute the links.
`verify` walks the chain and names the first event that was altered, removed or reordered. Tail truncation is only
detectable against a head kept elsewhere: audit_heads, and the head file (AUDIT_HEAD_FILE) that `verify_kept`
checks."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, text

from . import auditkey
from .db import db
from .models import AuditEvent, AuditSeal

GENESIS = "0" * 64
events = AuditEvent.__table__
seals = AuditSeal.__table__
_CONTENT = (events.c.id, events.c.application_id, events.c.actor_id, events.c.actor_name, events.c.action,
            events.c.from_state, events.c.to_state, events.c.reason, events.c.payload, events.c.created_at)


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Any) -> bytes:
    """The bytes a seal covers: every column of the event, in a form both databases give back identically."""
    (eid, app_id, actor_id, actor_name, action, from_state, to_state, reason, payload, created_at) = row
    return json.dumps([eid, app_id, actor_id, actor_name, action, from_state, to_state, reason, payload,
                       _utc_iso(created_at)], sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def current_key() -> bytes:
    """The app's chain key (config AUDIT_KEY, bytes; a string is parsed as auditkey.parse does)."""
    key = current_app.config.get("AUDIT_KEY")
    if not key:
        raise auditkey.AuditKeyError("AUDIT_KEY is not configured")
    return key if isinstance(key, bytes) else auditkey.parse(key)


def link(prev_hash: str, row: Any, seq: int, key: bytes | None = None) -> str:
    """One link: HMAC-SHA256 under the chain key, so it cannot be recomputed from the database alone."""
    message = f"{seq}:{prev_hash}:".encode() + canonical(row)
    return hmac.new(current_key() if key is None else key, message, hashlib.sha256).hexdigest()


def head() -> tuple[int, str]:
    last = db.session.execute(select(seals.c.seq, seals.c.hash).order_by(seals.c.seq.desc()).limit(1)).first()
    return (last[0], last[1]) if last else (0, GENESIS)


def seal(limit: int = 5000) -> int:
    """Chain up to `limit` unsealed events; commit; return how many were sealed. One sealer at a time: on
    PostgreSQL an advisory lock serialises concurrent sealers, on SQLite the write lock does."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7305012)"))
    seq, prev = head()
    unsealed = db.session.execute(
        select(*_CONTENT).outerjoin(seals, seals.c.event_id == events.c.id)
        .where(seals.c.event_id.is_(None)).order_by(events.c.id).limit(limit)).all()
    if not unsealed:
        db.session.commit()
        return 0
    links = []
    now = datetime.now(UTC)
    key = current_key()
    for row in unsealed:
        seq += 1
        h = link(prev, row, seq, key)
        links.append({"event_id": row[0], "seq": seq, "prev_hash": prev, "hash": h, "sealed_at": now})
        prev = h
    db.session.execute(insert(seals), links)
    db.session.commit()
    return len(links)


def seal_all() -> int:
    total = 0
    while n := seal():
        total += n
    return total


@dataclass
class Report:
    sealed: int = 0
    waiting: int = 0
    first_bad: int | None = None  # event id (or seq, when the event itself is gone)
    problem: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(batch: int = 20000, count_waiting: bool = True) -> Report:
    """Walk the chain in seq order, recomputing every hash; stop at the first break. `count_waiting=False` leaves
    `waiting` at 0 for a caller that counts it its own way (the auditor's pages: an exact anti-join over millions
    of events costs seconds; workflow.queries.audit_status)."""
    report = Report()
    prev, expected_seq = GENESIS, 1
    key = current_key()
    while True:
        rows = db.session.execute(
            select(seals.c.seq, seals.c.prev_hash, seals.c.hash, seals.c.event_id, *_CONTENT)
            .outerjoin(events, events.c.id == seals.c.event_id)
            .where(seals.c.seq >= expected_seq).order_by(seals.c.seq).limit(batch)).all()
        if not rows:
            break
        for seq, prev_hash, h, event_id, *content in rows:
            if seq != expected_seq:
                return _bad(report, event_id, "missing_link", f"seal {expected_seq} is missing (next is {seq})",
                            count_waiting)
            if content[0] is None:
                return _bad(report, event_id, "event_deleted", f"sealed event {event_id} no longer exists",
                            count_waiting)
            if prev_hash != prev:
                return _bad(report, event_id, "reordered", f"event {event_id} does not follow its predecessor",
                            count_waiting)
            if link(prev, content, seq, key) != h:
                return _bad(report, event_id, "altered", f"event {event_id} differs from what was sealed",
                            count_waiting)
            prev, expected_seq = h, seq + 1
            report.sealed += 1
    report.head_seq, report.head_hash = expected_seq - 1, prev
    report.waiting = waiting() if count_waiting else 0
    return report


def waiting() -> int:
    return db.session.scalar(
        select(func.count()).select_from(events.outerjoin(seals, seals.c.event_id == events.c.id))
        .where(seals.c.event_id.is_(None)))


def _bad(report: Report, event_id: int | None, problem: str, detail: str, count_waiting: bool = True) -> Report:
    report.first_bad, report.problem, report.details["detail"] = event_id, problem, detail
    report.waiting = waiting() if count_waiting else 0
    return report


def check_head(seq: int, head_hash: str) -> Report:
    """Verify the chain, then check it still holds a head kept outside the database (`flask audit head` prints
    one a day): a chain cut short after that head (tail truncation) verifies on its own but fails here."""
    report = verify()
    if not report.ok or (seq == 0 and head_hash == GENESIS):
        return report
    if seq > report.head_seq:
        return _bad(report, None, "truncated", f"the chain ends at seal {report.head_seq}, the kept head is {seq}")
    found = db.session.execute(select(seals.c.hash, seals.c.event_id).where(seals.c.seq == seq)).first()
    if found is None or found[0] != head_hash:
        return _bad(report, found[1] if found else None, "head_mismatch",
                    f"seal {seq} does not carry the kept head hash")
    return report


# The head file: one line per day, "<date> <seq> <hash>", appended by the daily head job and `flask audit head`.
# It is meant to leave the machine (sent to auditors); `verify_kept` checks the chain against its last line.

def head_file() -> str | None:
    """The configured head file (config AUDIT_HEAD_FILE); None keeps no file."""
    return current_app.config.get("AUDIT_HEAD_FILE")


def read_kept_heads(path: str) -> list[tuple[date, int, str]]:
    """Every head in the file, in file order; a malformed line raises ValueError naming it."""
    heads = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                day, seq, h = line.split()
                heads.append((date.fromisoformat(day), int(seq), h))
            except ValueError:
                raise ValueError(f"{path} line {n} is not '<date> <seq> <hash>'") from None
    return heads


def keep_head(day: date, seq: int, head_hash: str, path: str | None = None) -> bool:
    """Append the head of `day` to the head file unless that day is already there; True if a line was written.
    The line is flushed to disk before returning: it is the copy that survives a rewritten database."""
    path = path or head_file()
    if not path:
        return False
    if os.path.exists(path) and any(d == day for d, _, _ in read_kept_heads(path)):
        return False
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{day.isoformat()} {seq} {head_hash}\n")
        f.flush()
        os.fsync(f.fileno())
    return True


def verify_kept(path: str | None = None) -> Report:
    """`verify`, plus, when the head file exists, that the chain still holds the last head it records: a tail
    deleted after that head was kept verifies on its own but fails here."""
    path = path or head_file()
    if not path or not os.path.exists(path):
        return verify()
    try:
        heads = read_kept_heads(path)
    except (OSError, ValueError) as exc:
        report = verify()
        return report if not report.ok else _bad(report, None, "head_file", str(exc))
    if not heads:
        return verify()
    _, seq, head_hash = heads[-1]
    report = check_head(seq, head_hash)
    report.details["kept_head"] = seq
    return report


@dataclass
class FileReport:
    """One file's events checked against the sealed chain (verify_application)."""

    checked: int = 0  # events whose seal link was recomputed and matched
    waiting: int = 0  # events not sealed yet (the sealer runs after commit)
    first_bad: int | None = None  # the first event that fails
    problem: str | None = None  # "altered" | "reordered" | "gap"

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_application(application_id: int) -> FileReport:
    """Check one file's events without walking the whole chain: each sealed event's link is recomputed under the
    chain key from its stored content (an altered event fails), and it must join its neighbours in the chain (its
    prev_hash is the hash of the seal before it, and the seal after it starts from its hash: a seal replaced or
    moved fails). The file's state changes must also follow one another (an event's from-state is the previous
    change's to-state): a deleted change shows as a gap. A few index reads per event (the file's events, their
    seals and neighbours by seq), so a file's check costs the same in a trail of millions. Deleting a whole event
    of another kind is found by `verify`, the walk of the whole chain."""
    report = FileReport()
    key = current_key()
    rows = db.session.execute(
        select(*_CONTENT, seals.c.seq, seals.c.prev_hash, seals.c.hash)
        .outerjoin(seals, seals.c.event_id == events.c.id)
        .where(events.c.application_id == application_id).order_by(events.c.id)).all()
    sealed = [r for r in rows if r[-3] is not None]
    near = {seq - 1 for *_, seq, _, _ in sealed} | {seq + 1 for *_, seq, _, _ in sealed}
    links = {seq: (p, h) for seq, p, h in db.session.execute(
        select(seals.c.seq, seals.c.prev_hash, seals.c.hash).where(seals.c.seq.in_(near)))} if near else {}
    neighbours = {seq: p for seq, (p, _) in links.items()}
    hashes = {seq: h for seq, (_, h) in links.items()}
    last_to = None
    for row in rows:
        content, (seq, prev_hash, h) = row[:len(_CONTENT)], row[len(_CONTENT):]
        event_id, from_state, to_state = content[0], content[5], content[6]
        if from_state is not None and last_to is not None and from_state != last_to:
            return _file_bad(report, event_id, "gap")
        if to_state is not None:
            last_to = to_state
        if seq is None:
            report.waiting += 1
            continue
        if link(prev_hash, content, seq, key) != h:
            return _file_bad(report, event_id, "altered")
        before = GENESIS if seq == 1 else hashes.get(seq - 1)
        if before != prev_hash or (seq + 1 in neighbours and neighbours[seq + 1] != h):
            return _file_bad(report, event_id, "reordered")
        report.checked += 1
    return report


def _file_bad(report: FileReport, event_id: int, problem: str) -> FileReport:
    report.first_bad, report.problem = event_id, problem
    return report
