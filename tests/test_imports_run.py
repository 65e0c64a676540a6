"""Spreadsheet import of nominees, as a job: 10,000 rows in set-wise chunks (one creation event each, scores
stored), the preview that writes nothing, confirming it, re-import creating nothing twice, a run killed mid-way
leaving whole chunks only and completing on a re-run, the error workbook, the job's status and visibility, the CLI.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from workflow import imports, jobs
from workflow.db import db
from workflow.errors import GuardRefused, NotFound
from workflow.imports import store
from workflow.imports.template import columns
from workflow.models import Application, AuditEvent, Job, Score

from .test_imports_files import kill_second_chunk, person, run, start, xlsx


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def scored_file(world, n: int, bad_every: int = 0) -> tuple[bytes, int]:
    """n rows, every one fully scored (lands at scoring), every `bad_every`-th with a bad date."""
    headers = [c.header for c in columns(world.cdht)]
    k = len(headers) - 6
    rows, bad = [], 0
    for i in range(n):
        born = "17/05/1980"
        if bad_every and i % bad_every == 0:
            born, bad = "99/99/1980", bad + 1
        rows.append(person(i, cid=f"00108{i:07d}", born=born, branch="") + [8] * k)
    return xlsx(rows, header=headers), bad


def test_ten_thousand_rows(app, world):
    data, bad = scored_file(world, 10_000, bad_every=500)
    job = run(start(world, data))
    good = 10_000 - bad
    assert (job.status, job.total, job.done, job.created, job.duplicates, job.error_count) == \
        ("done", 10_000, 10_000, good, 0, bad)
    assert count(Application) == good
    assert count(Application, Application.state == "branch_scoring") == good
    events = db.session.scalars(select(AuditEvent)).all()
    assert len(events) == good and {e.action for e in events} == {"create"}
    assert {e.actor_id for e in events} == {world.officer(0, 0).id}
    assert sorted(e.payload["row"] for e in events)[:2] == [3, 4]  # sheet row 2 (i = 0) had the bad date
    criteria = len(columns(world.cdht)) - 6
    assert count(Score) == good * criteria
    totals = set(db.session.scalars(select(Application.score_total)))
    assert totals == {8 * criteria}
    s = jobs.status(job)
    assert (s["valid"], s["error_count"], len(s["errors"])) == (good, bad, bad)
    assert s["rows_per_second"] > 0 and not s["stalled"]


def test_preview_writes_nothing_then_confirm_imports(app, world):
    existing = world.new_cdht(citizen_id="001080000001")  # already in the campaign, typed by hand
    db.session.commit()
    rows = [person(i) for i in range(1, 6)] + [person(6, born="x")]
    preview = run(start(world, xlsx(rows), dry_run=True))
    assert (preview.status, preview.total, preview.created, preview.duplicates, preview.error_count) == \
        ("done", 6, 0, 1, 1)
    assert jobs.status(preview)["valid"] == 4
    assert count(Application) == 1 and count(AuditEvent) == 1
    job = imports.confirm(preview, world.officer(0, 0))
    db.session.commit()
    assert job.params["preview_of"] == preview.id and job.params["sha256"] == preview.params["sha256"]
    job = run(job)
    assert (job.created, job.duplicates, job.error_count) == (4, 1, 1)
    assert db.session.get(Application, existing.id).full_name == "Nguyễn Văn An"  # untouched
    with pytest.raises(GuardRefused) as info:
        imports.confirm(job, world.officer(0, 0))  # a real import is not a preview
    assert info.value.code == "nominees_not_preview"


def test_reimport_creates_nothing_twice(app, world):
    data = xlsx([person(i) for i in range(50)])
    first = run(start(world, data))
    second = run(start(world, data))
    assert (first.created, second.created, second.duplicates) == (50, 0, 50)
    assert count(Application) == 50 and count(AuditEvent) == 50
    # a withdrawn file does not block a new one (the partial unique index counts live files only)
    app_ = db.session.scalar(select(Application).where(Application.citizen_id == "001080000007"))
    from workflow import engine

    engine.fire(app_, "withdraw", world.officer(0, 0), reason="nhầm")
    db.session.commit()
    third = run(start(world, data))
    assert (third.created, third.duplicates) == (1, 49)


def test_killed_mid_way_leaves_whole_chunks_and_resumes(app, world, monkeypatch):
    data = xlsx([person(i) for i in range(250)])
    job = start(world, data)
    real = kill_second_chunk(monkeypatch)
    job = run(job, chunk=100)
    assert (job.status, job.done, job.created) == ("failed", 100, 100)
    assert "worker killed" in job.failure and job.finished_at is not None
    assert count(Application) == 100 and count(AuditEvent) == 100
    monkeypatch.setattr(store, "write_chunk", real)
    job = run(job, chunk=100)
    assert (job.status, job.done, job.created, job.duplicates) == ("done", 250, 250, 0)
    assert count(Application) == 250 and count(AuditEvent) == 250 and job.failure is None
    # a job run once more (a duplicate launch) does nothing; a done job stays done
    job = run(job)
    assert (job.status, job.created) == ("done", 250) and count(Application) == 250


def test_resume_after_progress_lost_is_safe(app, world):
    """A worker killed after a commit but before the next chunk's counters: re-running from an older `done`
    re-inserts nothing (duplicates), whatever the counters said."""
    data = xlsx([person(i) for i in range(30)])
    job = run(start(world, data), chunk=10)
    job.status, job.done, job.created, job.finished_at = "running", 10, 10, None
    db.session.commit()
    job = run(job, chunk=10)
    assert (job.done, job.created, job.duplicates) == (30, 10, 20)
    assert count(Application) == 30


def test_error_workbook(app, world):
    from openpyxl import load_workbook

    rows = [person(1), person(2, born="31/02/1980"), person(3), person(4, cid=8012345678, group="9")]
    job = run(start(world, xlsx(rows)))
    book = load_workbook(io.BytesIO(imports.error_workbook(job)))
    sheet = book.active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0][-1] == "Lỗi" and values[0][:6] == ["Họ và tên", "Ngày sinh", "Số CCCD", "Nhóm đối tượng",
                                                       "Nơi cư trú", "Chi hội"]
    assert [v[0] for v in values[1:]] == ["Nguyễn Văn 2", "Nguyễn Văn 4"]
    assert values[1][-1].startswith("Dòng 3, cột «Ngày sinh»: Ngày «31/02/1980» không hợp lệ")
    assert "cột «Số CCCD»" in values[2][-1] and "cột «Nhóm đối tượng»" in values[2][-1]
    english = load_workbook(io.BytesIO(imports.error_workbook(job, "en"))).active
    assert "is not valid" in english.cell(row=2, column=7).value
    # fixed and uploaded again, «Lỗi» column and all: the fixed rows import
    sheet.cell(row=2, column=2).value = "28/02/1980"
    sheet.cell(row=3, column=3).value = "008012345678"
    sheet.cell(row=3, column=4).value = "1"
    buffer = io.BytesIO()
    book.save(buffer)
    again = run(start(world, buffer.getvalue()))
    assert (again.created, again.error_count) == (2, 0)
    assert count(Application) == 4


def test_status_and_visibility(app, world):
    job = run(start(world, xlsx([person(1), person(2, born="x")]), name="danh sách.xlsx"))
    s = jobs.status(job, "en")
    assert {k: s[k] for k in ("kind", "status", "dry_run", "total", "done", "created", "duplicates", "valid",
                              "error_count", "file_name", "campaign_id", "unit_id")} == {
        "kind": "import", "status": "done", "dry_run": False, "total": 2, "done": 2, "created": 1,
        "duplicates": 0, "valid": 1, "error_count": 1, "file_name": "danh sách.xlsx", "campaign_id": world.cdht.id,
        "unit_id": world.branch(0, 0).id}
    assert s["errors"] == [{"row": 3, "column": "Ngày sinh", "code": "row_date",
                            "message": "The date «x» is not valid: write dd/mm/yyyy (for example 17/05/1980)."}]
    assert s["started_at"] and s["finished_at"] and s["stalled"] is False
    assert jobs.visible_job(job.id, world.officer(0, 0)) is job
    assert jobs.visible_job(job.id, world.appraiser(0)) is job  # the commune covers the branch
    for outsider in (world.officer(0, 1), world.appraiser(1)):
        with pytest.raises(NotFound):
            jobs.visible_job(job.id, outsider)
    with pytest.raises(NotFound):
        jobs.visible_job(job.id + 1000, world.officer(0, 0))


def test_stalled_when_the_heartbeat_stops(app, world, time_machine):
    from workflow import clock

    time_machine.move_to(clock.now(), tick=False)
    job = start(world, xlsx([person(1)]))

    job.status, job.started_at, job.heartbeat_at = "running", clock.now(), clock.now()
    db.session.commit()
    assert jobs.status(job)["stalled"] is False
    time_machine.shift(61)
    assert jobs.status(job)["stalled"] is True


def test_cli_import(app, world, runner, tmp_path):
    path = tmp_path / "ds.xlsx"
    path.write_bytes(xlsx([person(i) for i in range(5)] + [person(9, born="x")]))
    user = world.officer(0, 0).username
    code = world.branch(0, 0).code
    result = runner.invoke(args=["nominees", "import", str(path), "--campaign", str(world.cdht.id), "--unit", code,
                                 "--user", user, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Preview done: 6 rows, created 0, duplicates 0, valid 5, rows in error 1" in result.output
    assert count(Application) == 0
    result = runner.invoke(args=["nominees", "import", str(path), "--campaign", str(world.cdht.id), "--unit", code])
    assert result.exit_code == 0, result.output
    assert "6/6 rows" in result.output and "created 5" in result.output
    assert (tmp_path / "ds.loi.xlsx").exists()
    assert count(Application) == 5
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    result = runner.invoke(args=["nominees", "import", str(bad), "--campaign", str(world.cdht.id), "--unit", code])
    assert result.exit_code == 1 and "nominees_not_spreadsheet" in result.output
    last = db.session.scalar(select(func.max(Job.id)))
    result = runner.invoke(args=["nominees", "resume", str(last), "--errors", str(tmp_path / "again.xlsx")])
    assert result.exit_code == 0 and "created 5" in result.output
    assert (tmp_path / "again.xlsx").exists()
