"""Finding 3, second half: the chain cannot be recomputed from the database alone. Links are HMAC-SHA256 under a
key kept outside the database, so an event rewritten with database access alone (triggers bypassed), with its seals
recomputed by plain sha256 or under a wrong key, fails `audit verify`; recomputed under the right key it passes,
which shows the key is what protects the chain. The daily head is also appended to a file outside the database,
and `audit verify` checks the chain still holds its last head (a deleted tail fails). SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from notifications import sealing
from workflow import audit, auditkey
from workflow.db import db

from .conftest import TEST_AUDIT_KEY
from .factories import cdht_at, tamper

REASON = 7  # index of `reason` in audit._CONTENT


def plain_sha256(prev: str, row, seq: int) -> str:
    """The link as it was before the key: anyone with the database could recompute it."""
    return hashlib.sha256(f"{seq}:{prev}:".encode() + audit.canonical(row)).hexdigest()


def keyed(key: bytes):
    return lambda prev, row, seq: audit.link(prev, row, seq, key)


def rewrite(event_id: int, reason: str, link_fn) -> None:
    """Change one event's reason and recompute its seal and every later one with `link_fn`, as someone holding
    the database (owner or superuser, triggers off) but perhaps not the key would."""
    rows = db.session.execute(
        select(audit.seals.c.seq, audit.seals.c.prev_hash, *audit._CONTENT)
        .join(audit.events, audit.events.c.id == audit.seals.c.event_id).order_by(audit.seals.c.seq)).all()
    stmts = [f"UPDATE audit_events SET reason = '{reason}' WHERE id = {event_id}"]
    prev = None
    for seq, prev_hash, *content in rows:
        if content[0] == event_id:
            prev = prev_hash
            content[REASON] = reason
        if prev is None:
            continue
        h = link_fn(prev, content, seq)
        stmts.append(f"UPDATE audit_seals SET prev_hash = '{prev}', hash = '{h}' WHERE seq = {seq}")
        prev = h
    assert prev is not None, f"event {event_id} is not sealed"
    tamper(*stmts)


def verify(runner) -> tuple[int, dict]:
    result = runner.invoke(args=["audit", "verify", "--json"])
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def chain(world) -> list[int]:
    """A sealed chain of a dozen or more events; returns the event ids in seal order."""
    cdht_at(world, "final_approval")
    db.session.commit()
    assert audit.seal_all() > 10
    return db.session.scalars(select(audit.seals.c.event_id).order_by(audit.seals.c.seq)).all()


def test_the_key_in_use_is_the_configured_one(app):
    assert app.config["AUDIT_KEY"] == bytes.fromhex(TEST_AUDIT_KEY) == audit.current_key()


def test_an_untouched_chain_verifies(chain, runner):
    code, report = verify(runner)
    assert code == 0 and report["ok"] and report["sealed"] == len(chain) and report["waiting"] == 0


@pytest.mark.parametrize("recompute", [plain_sha256, keyed(b"not the deployment's key")],
                         ids=["plain-sha256", "wrong-key"])
def test_a_rewrite_recomputed_without_the_key_fails(chain, runner, recompute):
    victim = chain[5]
    rewrite(victim, "sửa lén", recompute)
    assert db.session.scalar(text(f"SELECT reason FROM audit_events WHERE id = {victim}")) == "sửa lén"
    code, report = verify(runner)
    assert code == 1 and report["first_bad"] == victim and report["problem"] == "altered"
    plain = runner.invoke(args=["audit", "verify"])
    assert plain.exit_code == 1 and f"BROKEN at event {victim}: altered" in plain.output


def test_the_same_rewrite_under_the_right_key_passes(chain, runner):
    """Not a weakness but the proof: with the key, the rewrite is undetectable, so the key is what protects it."""
    victim = chain[5]
    rewrite(victim, "sửa lén", keyed(bytes.fromhex(TEST_AUDIT_KEY)))
    code, report = verify(runner)
    assert code == 0 and report["ok"] and report["sealed"] == len(chain)


def test_a_tail_deleted_after_a_kept_head_fails_verify(chain, runner, app):
    day, seq, head_hash = sealing.record_head(date(2025, 12, 1))
    assert seq == len(chain)
    with open(app.config["AUDIT_HEAD_FILE"], encoding="utf-8") as f:
        assert f.read() == f"2025-12-01 {seq} {head_hash}\n"
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and f"holds kept head {seq}" in ok.output

    tail = ", ".join(map(str, chain[-3:]))
    tamper(f"DELETE FROM outbox_messages WHERE event_id IN ({tail})",
           f"DELETE FROM audit_seals WHERE event_id IN ({tail})",
           f"DELETE FROM audit_events WHERE id IN ({tail})")
    assert audit.verify().ok  # the database alone cannot tell...
    code, report = verify(runner)  # ...the head kept in the file can
    assert code == 1 and report["problem"] == "truncated" and report["kept_head"] == seq
    plain = runner.invoke(args=["audit", "verify"])
    assert plain.exit_code == 1 and "truncated" in plain.output and f"the kept head is {seq}" in plain.output

    os.remove(app.config["AUDIT_HEAD_FILE"])  # without the file there is nothing to check against
    assert verify(runner)[0] == 0


def test_the_head_file_gets_one_line_per_day(chain, runner, app):
    sealing.record_head(date(2025, 12, 1))
    sealing.record_head(date(2025, 12, 1))  # the job ran twice: still one line
    result = runner.invoke(args=["audit", "head"])  # yesterday's head, from the CLI
    assert result.exit_code == 0
    day, seq, h = result.output.split()
    heads = audit.read_kept_heads(app.config["AUDIT_HEAD_FILE"])
    assert [(d.isoformat(), s) for d, s, _ in heads] == [("2025-12-01", len(chain)), (day, int(seq))]
    assert heads[-1][2] == h
    assert verify(runner)[0] == 0


def test_a_malformed_head_file_is_named(chain, runner, app):
    with open(app.config["AUDIT_HEAD_FILE"], "w", encoding="utf-8") as f:
        f.write("not a head\n")
    code, report = verify(runner)
    assert code == 1 and report["problem"] == "head_file"


def test_key_sources(tmp_path):
    assert auditkey.parse("00" * 16) == bytes(16)
    assert auditkey.parse("a passphrase, not hex") == b"a passphrase, not hex"
    assert auditkey.load(str(tmp_path), {"AUDIT_KEY": "ab" * 32}) == bytes.fromhex("ab" * 32)
    key_file = tmp_path / "k"
    key_file.write_text("cd" * 32 + "\n")
    assert auditkey.load(str(tmp_path), {"AUDIT_KEY_FILE": str(key_file)}) == bytes.fromhex("cd" * 32)
    with pytest.raises(auditkey.AuditKeyError):
        auditkey.load(str(tmp_path), {"AUDIT_KEY_FILE": str(tmp_path / "missing")})
    with pytest.raises(auditkey.AuditKeyError):
        auditkey.parse("  ")


def test_the_instance_key_is_made_once_private_and_shared(tmp_path):
    instance = str(tmp_path / "instance")
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(auditkey.load(instance, {}))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    path = os.path.join(instance, auditkey.KEY_FILE_NAME)
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(instance) == [auditkey.KEY_FILE_NAME]  # no temporary file left behind
    assert auditkey.load(instance, {}) == keys[0]  # the next process reads the same key
