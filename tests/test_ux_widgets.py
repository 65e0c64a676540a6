"""Issue 13, the browser's widgets, the evidence section and accessibility, through the pages (the browser's side:
tests/browser/test_ux_widgets.py). Dates are typed and shown as dd/mm/yyyy everywhere and read by one rule
(workflow.inputs.parse_date) for the page, the API and the declared inputs, the API still answering ISO; a date
that is no date is said beside its field in Vietnamese. The evidence section sends the files of every criterion
in one form, keeps the good ones and says beside each refused one why, and shows the result in the section; a
file is removed (with a confirmation) from its row after a return, audited. Row checkboxes and file inputs are
named for their row; the skip link leads to <main id="main">; the validation bubbles' texts are Vietnamese."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from workflow import engine, validity
from workflow.admin.inputs import InvalidInput, parse
from workflow.db import db
from workflow.declared import NominationInput
from workflow.inputs import parse_date
from workflow.models import Application, AuditEvent, Evidence
from workflow.rubrics import spec

from .factories import PDF, cdht_at
from .test_evidence_bulk import EXE
from .test_web_flow import login

API = "/api/v1"


def html(response) -> str:
    return response.get_data(as_text=True)


# One rule for a typed date -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "day"), [
    ("01/12/2026", date(2026, 12, 1)), ("1/12/2026", date(2026, 12, 1)), (" 01/12/2026 ", date(2026, 12, 1)),
    ("2026-12-01", date(2026, 12, 1)), ("29/02/2024", date(2024, 2, 29)),
    ("31/02/2026", None), ("12/01/26", None), ("2026-12-1", None), ("01.12.2026", None), ("01/12/2026x", None),
    ("０１/12/2026", None), ("", None), ("1764547200", None), (1764547200, None), (None, None),
])
def test_a_day_is_read_as_dd_mm_yyyy_or_iso_and_nothing_else(typed, day):
    assert parse_date(typed) == day


def test_the_declared_nomination_takes_dd_mm_yyyy_and_iso_alike_and_names_a_bad_day(world):
    ids = {"campaign": world.cdht.id, "unit": world.branch().id}
    assert parse(NominationInput, {**ids, "date_of_birth": "01/12/1990"}).date_of_birth == date(1990, 12, 1)
    assert parse(NominationInput, {**ids, "date_of_birth": "1990-12-01"}).date_of_birth == date(1990, 12, 1)
    with pytest.raises(InvalidInput) as refused:
        parse(NominationInput, {**ids, "date_of_birth": "31/02/1990"})
    assert refused.value.fields["date_of_birth"][0] == "day"
    assert "dd/mm/yyyy" in refused.value.field_messages("vi")["date_of_birth"]


def test_the_api_takes_a_dd_mm_yyyy_birth_date_and_answers_iso(client, world):
    from .test_api_support import bearer

    body = {"campaign": world.cdht.id, "unit": world.branch().id, "full_name": "Lê Thị Hoa",
            "date_of_birth": "01/12/1990", "citizen_id": "027190001111", "subject_group": "1"}
    response = client.post(f"{API}/applications", headers=bearer(world.officer()), json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["date_of_birth"] == "1990-12-01"
    assert db.session.scalar(select(Application.date_of_birth)) == date(1990, 12, 1)


def nominate(client, world, born: str):
    return client.post(f"/campaigns/{world.cdht.id}/applications/new", data={
        "unit_id": world.branch().id, "residence_id": world.branch().id, "full_name": "Nguyễn Văn An",
        "date_of_birth": born, "citizen_id": "027080001234", "subject_group": "1"})


def test_the_nomination_form_takes_dd_mm_yyyy_and_shows_it_back(client, world):
    login(client, world.officer())
    form = html(client.get(f"/campaigns/{world.cdht.id}/applications/new"))
    field = re.search(r'<input name="date_of_birth"[^>]*>', form).group(0)
    assert 'type="date"' not in field and 'placeholder="dd/mm/yyyy"' in field and 'inputmode="numeric"' in field
    response = nominate(client, world, "01/12/1990")
    assert response.status_code == 302
    application = db.session.scalars(select(Application)).one()
    assert application.date_of_birth == date(1990, 12, 1)
    assert "01/12/1990" in html(client.get(f"/applications/{application.id}"))


def test_a_birth_date_that_is_no_day_is_said_beside_its_field_and_kept_for_correcting(client, world):
    login(client, world.officer())
    response = nominate(client, world, "31/02/1990")
    assert response.status_code == 422
    page = html(response)
    beside = re.search(r'<input name="date_of_birth"[^>]*value="31/02/1990"[^>]*>\s*<span class="field-error">'
                       r'([^<]+)</span>', page)
    assert beside and beside.group(1) == "Nhập ngày sinh theo dạng dd/mm/yyyy, ví dụ 17/05/1980."
    assert "date_of_birth" not in re.sub(r'(name|id|for)="date_of_birth"', "", page)  # no field name in the text
    assert db.session.scalars(select(Application)).first() is None


def test_no_form_of_the_app_uses_the_browsers_date_picker(app):
    import pathlib

    templates = pathlib.Path(app.root_path) / "templates"
    offenders = [p.name for p in templates.glob("*.html") if re.search(r'type="(date|datetime-local)"', p.read_text())]
    assert offenders == []


def test_the_audit_log_filters_by_dd_mm_yyyy_days_and_says_a_bad_one_beside_it(client, world):
    application = world.new_cdht()
    db.session.commit()
    login(client, world.auditor)
    today = validity.vn_day(application.created_at)  # the log's days are Vietnam's
    shown = today.strftime("%d/%m/%Y")
    page = html(client.get("/audit/log", query_string={"from": shown, "to": shown}))
    assert re.search(rf'<input name="from" id="log-from" value="{shown}"', page)
    assert "Nguyễn Văn An" in page
    later = date(today.year + 1, 1, 1).strftime("%d/%m/%Y")
    assert "Nguyễn Văn An" not in html(client.get("/audit/log", query_string={"from": later}))
    bad = html(client.get("/audit/log", query_string={"from": "32/13/2026"}))
    assert re.search(r'value="32/13/2026"[^>]*>\s*<span class="field-error" id="error-from">Nhập ngày có thật', bad)
    assert "Nguyễn Văn An" in bad  # a bad day filters nothing out


# The evidence section: one form for every criterion ---------------------------------------------------------------

@pytest.fixture
def nominee(client, world):
    application = world.new_cdht()
    db.session.commit()
    login(client, world.officer())
    return application


def live_files(application_id: int) -> list[Evidence]:
    return list(db.session.scalars(select(Evidence).where(Evidence.application_id == application_id,
                                                          Evidence.removed_at.is_(None)).order_by(Evidence.id)))


def row_of(page: str, code: str) -> str:
    start = page.index(f'<tr id="criterion-{code}">')
    return page[start:page.index("</tr>", start)]


def test_every_criterion_row_belongs_to_the_one_upload_form_and_is_named_for_its_criterion(client, nominee):
    page = html(client.get(f"/applications/{nominee.id}"))
    assert page.count('id="several-form"') == 1 and f'action="/applications/{nominee.id}/evidence"' not in page
    for c in spec(nominee.rubric_id).criteria_for(1):
        field = re.search(r'<input type="file"[^>]*>', row_of(page, c.code)).group(0)
        assert f'name="evidence-{c.code}"' in field and 'form="several-form"' in field and "multiple" in field
        assert f'aria-label="Tệp minh chứng cho tiêu chí {c.code}: ' in field
    assert "Chọn tệp" in page and "Chưa chọn tệp" in page


def test_files_of_two_criteria_in_one_request_keep_the_good_one_and_say_beside_the_bad_one_why(client, nominee):
    response = client.post(f"/applications/{nominee.id}/evidence/several", content_type="multipart/form-data", data={
        "version": str(nominee.version), "evidence-1.1": (io.BytesIO(PDF), "giấy khen.pdf"),
        "evidence-1.2": (io.BytesIO(EXE), "ảnh lớp học.pdf")})
    assert response.status_code == 302 and response.headers["Location"].endswith("#evidence-result")
    assert [(e.criterion_code, e.original_name) for e in live_files(nominee.id)] == [("1.1", "giấy khen.pdf")]
    page = html(client.get(f"/applications/{nominee.id}"))
    result = page[page.index('id="evidence-result"'):page.index('id="evidence-table"')]
    assert "data-focus" in result and "Đã tải lên 1 tệp minh chứng." in result and "1 tệp chưa được tải lên" in result
    assert '<p class="row-result pass">Đã tải lên «giấy khen.pdf».</p>' in row_of(page, "1.1")
    bad = row_of(page, "1.2")
    assert 'class="row-result fail">«ảnh lớp học.pdf»: Tệp không được nhận' in bad
    assert "Chỉ nhận PDF, JPEG, PNG, DOCX hoặc XLSX" in bad
    again = html(client.get(f"/applications/{nominee.id}"))  # said once
    assert "row-result" not in again and "data-focus" not in again


def test_a_file_is_removed_from_its_row_after_a_return_with_a_confirmation_and_audited(client, world):
    application = cdht_at(world, "commune_appraisal")
    engine.fire(application, "return", world.appraiser(), reason="Giấy khen 1.1 bị mờ")
    db.session.commit()
    item = next(e for e in application.evidence if e.criterion_code == "1.1")
    login(client, world.officer())
    page = html(client.get(f"/applications/{application.id}"))
    row = row_of(page, "1.1")
    assert f'action="/evidence/{item.id}/remove"' in row and f'id="remove-confirm-{item.id}"' in row
    assert f'action="/evidence/{item.id}/replace"' in row
    version = str(db.session.get(Application, application.id).version)
    unconfirmed = client.post(f"/evidence/{item.id}/remove", data={"version": version})
    assert unconfirmed.status_code == 422 and db.session.get(Evidence, item.id).removed_at is None
    removed = client.post(f"/evidence/{item.id}/remove", data={"version": version, "confirm": "yes"})
    assert removed.status_code == 302 and removed.headers["Location"].endswith("#evidence-result")
    assert db.session.get(Evidence, item.id).removed_at is not None
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == application.id,
                                                           AuditEvent.action == "evidence_remove"))
    assert event.payload["evidence_id"] == item.id
    after = html(client.get(f"/applications/{application.id}"))
    assert f"Đã gỡ minh chứng «{item.original_name}»" in after[after.index('id="evidence-result"'):]
    assert f'id="evidence-{item.id}"' not in after


def test_no_remove_or_upload_once_the_file_left_the_branch(client, world):
    application = cdht_at(world, "commune_appraisal")
    login(client, world.officer())
    page = html(client.get(f"/applications/{application.id}"))
    assert "several-form" not in page and "/remove" not in page and 'type="file"' not in page


# Accessible names, skip link, the bubbles' words -----------------------------------------------------------------

def test_row_checkboxes_are_named_for_their_file(client, world):
    application = cdht_at(world, "commune_appraisal", full_name="Trần Thị Bình")
    login(client, world.appraiser())
    page = html(client.get("/applications"))
    box = re.search(rf'<input type="checkbox" name="ids" value="{application.id}"[^>]*>', page).group(0)
    assert 'aria-label="Chọn hồ sơ Trần Thị Bình"' in box


def test_the_skip_link_comes_first_and_leads_to_main(client, world):
    login(client, world.officer())
    page = html(client.get("/"))
    body = page[page.index("<body>"):]
    first = re.search(r"<(a|button|input|select|textarea|summary)\b[^>]*>", body).group(0)
    assert 'class="skip-link"' in first and 'href="#main"' in first
    assert "Bỏ qua đến nội dung chính" in body[:400]
    assert '<main id="main" tabindex="-1">' in page


def test_the_validation_texts_are_the_pages_language(client, world):
    login(client, world.officer())
    box = re.search(r'<div id="validation-messages" hidden([^>]*)>', html(client.get("/"))).group(1)
    assert 'data-required="Vui lòng điền vào ô này."' in box and 'data-required-file="Vui lòng chọn tệp."' in box
    assert 'data-date="Vui lòng nhập ngày có thật theo dạng dd/mm/yyyy' in box
    client.get("/lang/en")
    box = re.search(r'<div id="validation-messages" hidden([^>]*)>', html(client.get("/"))).group(1)
    assert 'data-required="Please fill in this field."' in box
