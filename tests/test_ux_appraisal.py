"""Issue 13, findings 9 and 11 without a browser: the rubric's one rule for a typed score (max, whole points, step),
the scoring sheet's refusals beside each field, the branch's original scores and the adjustments, "next file" after
an action taken from the queue, the preview route (PDF/JPEG/PNG inline under a sandbox; anything else, an HTML or
SVG file in disguise included, only as an attachment), and the decision form's refusal with nothing selected."""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow import engine, operations
from workflow.db import db
from workflow.errors import GuardRefused
from workflow.models import Decision, Evidence, Score
from workflow.rubrics import parse, spec
from workflow.score_trail import score_trail

from .factories import PASSWORD, cdht_at

RUBRIC = Path(__file__).resolve().parents[1] / "workflow" / "data" / "rubric_cdht_2022.json"
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def login(client, user) -> None:
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def cdht_rubric(step: int | None = None):
    data = json.loads(RUBRIC.read_text(encoding="utf-8"))
    if step is not None:
        data["groups"][0]["criteria"][0]["step"] = step
    return parse(data)


# The rule -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "value"), [("7", 7), (" 10 ", 10), ("0", 0), ("0010", 10)])
def test_read_value_takes_whole_points_within_the_maximum(typed, value):
    assert cdht_rubric().read_value("1.1", typed) == value


@pytest.mark.parametrize(("typed", "code"), [("15", "score_out_of_range"), ("11", "score_out_of_range"),
                                              ("7.5", "score_whole"), ("7,5", "score_whole"),
                                              ("abc", "score_not_number"), ("-1", "score_not_number"),
                                              ("１０", "score_not_number"), ("1e3", "score_not_number")])
def test_read_value_refuses_with_the_reason(typed, code):
    with pytest.raises(GuardRefused) as refused:
        cdht_rubric().read_value("1.1", typed)
    assert refused.value.code == code
    assert "1.1" in refused.value.message("vi") and "1.1" in refused.value.message("en")


def test_a_step_in_the_rubric_data_is_judged_by_the_api_and_the_sheet_alike():
    rubric = cdht_rubric(step=2)
    assert rubric.criterion("1.1").step == 2 and rubric.criterion("1.2").step == 1
    assert rubric.read_value("1.1", "8") == 8
    for attempt in (lambda: rubric.check_value("1.1", 7), lambda: rubric.read_value("1.1", "7")):
        with pytest.raises(GuardRefused) as refused:
            attempt()
        assert refused.value.code == "score_step" and "2" in refused.value.message("vi")
    with pytest.raises(ValueError):
        cdht_rubric(step=0)


# The scoring sheet --------------------------------------------------------------------------------------------------

def test_the_sheet_refuses_out_of_range_values_beside_their_fields(client, world):
    application = cdht_at(world, "branch_scoring")
    login(client, world.officer())
    form = {f"score-{c.code}": "9" for c in spec(application.rubric_id).criteria_for(1)}
    form |= {"score-1.1": "15", "score-1.2": "7,5", "version": str(application.version)}
    response = client.post(f"/applications/{application.id}/scores", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    first = re.search(r'<input[^>]*id="score-1\.1"[^>]*>', html).group(0)
    second = re.search(r'<input[^>]*id="score-1\.2"[^>]*>', html).group(0)
    third = re.search(r'<input[^>]*id="score-1\.3"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in first and 'value="15"' in first  # what was typed stays, marked
    assert 'aria-invalid="true"' in second and 'value="7,5"' in second
    assert "aria-invalid" not in third and 'data-max="10"' in third and 'data-step="1"' in third
    assert re.search(r'id="score-1\.1-error"[^>]*>Điểm tiêu chí 1\.1 phải từ 0 đến 10 \(đã nhập 15\)\.<', html)
    assert re.search(r'id="score-1\.2-error"[^>]*>Điểm tiêu chí 1\.2 là số nguyên \(đã nhập 7,5\)\.<', html)
    assert "Vui lòng kiểm tra các điểm được đánh dấu bên dưới." in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0


def test_the_appraiser_sees_the_branchs_scores_beside_the_adjusted_ones(client, world):
    application = cdht_at(world, "commune_appraisal")  # the branch scored 9 everywhere
    login(client, world.appraiser())
    sheet = client.get(f"/applications/{application.id}/scores").get_data(as_text=True)
    assert "Điểm chi hội chấm" in sheet and 'id="no-adjustments"' in sheet
    assert re.search(r'id="original-1\.1">9<', sheet) and re.search(r'id="original-total">90<', sheet)
    form = {"score-1.1": "6", "score-2.1": "10", "version": str(application.version),
            "reason": "Minh chứng 1.1 chưa đủ"}
    assert client.post(f"/applications/{application.id}/scores", data=form).status_code == 302
    sheet = client.get(f"/applications/{application.id}/scores").get_data(as_text=True)
    assert re.search(r'id="original-1\.1">9<', sheet) and re.search(r'id="diff-1\.1">-3<', sheet)
    assert re.search(r'id="diff-2\.1">\+1<', sheet) and re.search(r'id="diff-1\.2">0<', sheet)
    history = text_of(client.get(f"/applications/{application.id}/scores"))
    assert "Các lần điều chỉnh điểm" in history and "tiêu chí 1.1 9 → 6" in history
    assert "tiêu chí 2.1 9 → 10" in history and "Minh chứng 1.1 chưa đủ" in history
    trail = score_trail(db.session.get(type(application), application.id))
    assert trail.original["1.1"] == 9 and len(trail.adjustments) == 1
    assert trail.adjustments[0].changes == {"1.1": (9, 6), "2.1": (9, 10)}
    assert trail.adjustments[0].by == world.appraiser().full_name  # a person's name, not the username


def test_the_branch_sheet_has_no_comparison(client, world):
    application = cdht_at(world, "branch_scoring")
    login(client, world.officer())
    sheet = client.get(f"/applications/{application.id}/scores").get_data(as_text=True)
    assert "Điểm chi hội chấm" not in sheet and 'id="adjustments"' not in sheet


# Next file ----------------------------------------------------------------------------------------------------------

def test_after_approving_from_the_queue_the_next_waiting_file_is_offered(client, world):
    first = cdht_at(world, "commune_appraisal", full_name="Người Thứ Nhất")
    cdht_at(world, "branch_scoring", full_name="Người Chưa Tới")  # not waiting for the appraiser
    last = cdht_at(world, "commune_appraisal", full_name="Người Thứ Ba")
    login(client, world.appraiser())
    queue = client.get("/applications?state=commune_appraisal").get_data(as_text=True)
    link = re.search(rf'href="(/applications/{last.id}\?from=[^"]+)"', queue).group(1).replace("&amp;", "&")
    detail = client.get(link).get_data(as_text=True)
    assert re.search(rf'id="next-file" href="/applications/{first.id}\?from=state%3Dcommune_appraisal"', detail)
    done = client.post(f"/applications/{last.id}/actions/approve",
                       data={"version": last.version, "confirm": "yes", "from": "state=commune_appraisal"})
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/applications/{last.id}?from=state%3Dcommune_appraisal")
    after = client.get(done.headers["Location"])
    assert "Hồ sơ tiếp theo: Người Thứ Nhất" in text_of(after) and "Người Chưa Tới" not in text_of(after)
    assert '<a href="/applications?state=commune_appraisal" id="back-to-queue">' in after.get_data(as_text=True)
    client.post(f"/applications/{first.id}/actions/approve",
                data={"version": first.version, "confirm": "yes", "from": "state=commune_appraisal"})
    end = client.get(f"/applications/{first.id}?from=state%3Dcommune_appraisal")
    assert 'id="no-next-file"' in end.get_data(as_text=True)
    assert "Không còn hồ sơ nào khác đang chờ trong danh sách này." in text_of(end)


def test_a_detail_opened_elsewhere_or_with_a_bad_filter_has_no_queue_links(client, world):
    application = cdht_at(world, "commune_appraisal")
    login(client, world.appraiser())
    for url in (f"/applications/{application.id}", f"/applications/{application.id}?from=list%3Dnope",
                f"/applications/{application.id}?from=" + "x" * 3000):
        response = client.get(url)
        assert response.status_code == 200 and 'id="queue-nav"' not in response.get_data(as_text=True), url


# Evidence previews --------------------------------------------------------------------------------------------------

def _evidence(app_, world, data: bytes, name: str, media_type: str) -> int:
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(app_.config["UPLOAD_DIR"], digest[:2], digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Path(path).write_bytes(data)
    application = cdht_at(world, "evidence_collection")
    item = operations.add_evidence(application, world.officer(), criterion_code="1.1", original_name=name,
                                   size=len(data), sha256=digest, media_type=media_type)
    db.session.commit()
    return item.id


def test_a_pdf_previews_inline_under_a_sandbox_and_the_download_stays_an_attachment(app, client, world):
    from .test_evidence_bulk import one_page_pdf

    item = _evidence(app, world, one_page_pdf(), "giấy khen.pdf", "application/pdf")
    login(client, world.officer())
    preview = client.get(f"/evidence/{item}/inline")
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "application/pdf"
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    policy = preview.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    download = client.get(f"/evidence/{item}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    page = client.get(f"/applications/{db.session.get(Evidence, item).application_id}").get_data(as_text=True)
    assert f'id="open-evidence-{item}"' in page and f'href="/evidence/{item}/inline" target="_blank"' in page
    assert f'id="download-evidence-{item}"' in page


@pytest.mark.parametrize(("data", "media_type"), [(HTML, "application/pdf"), (SVG, "image/png"),
                                                  (HTML, "text/html"), (SVG, "image/svg+xml")])
def test_html_or_svg_in_disguise_is_never_previewed(app, client, world, data, media_type):
    item = _evidence(app, world, data, "giả.pdf", media_type)
    login(client, world.officer())
    response = client.get(f"/evidence/{item}/inline")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "html" not in response.headers["Content-Type"] or "sandbox" in response.headers["Content-Security-Policy"]


def test_the_preview_is_scoped_like_the_download(app, client, world):
    from .test_evidence_bulk import one_page_pdf

    item = _evidence(app, world, one_page_pdf(), "giấy khen.pdf", "application/pdf")
    login(client, world.officer(commune=1))  # another commune's branch
    assert client.get(f"/evidence/{item}/inline").status_code == 404
    assert client.get(f"/evidence/{item}").status_code == 404


# The decision form --------------------------------------------------------------------------------------------------

def test_the_decision_form_lists_birth_dates_and_communes_and_refuses_nothing_selected(client, world):
    chosen = cdht_at(world, "final_approval", full_name="Phạm Thị Chờ")
    login(client, world.approver)
    page = client.get(f"/decisions/new?campaign={world.cdht.id}")
    html = page.get_data(as_text=True)
    row = re.search(rf'<tr id="candidate-{chosen.id}">.*?</tr>', html, re.S).group(0)
    assert "17/05/1980" in row and chosen.citizen_id in row and "Xã Đông Phong" in row and "Chi hội thôn 1" in row
    assert re.search(r'<button type="submit" id="issue"\s+aria-describedby', html)  # enabled: something to decide
    refused = client.post(f"/decisions/new?campaign={world.cdht.id}",
                          data={"number": "12/QĐ-UBND", "signed_on": "2026-12-01", "signer": "Chủ tịch"})
    assert refused.status_code == 422
    assert "Chưa chọn hồ sơ nào: hãy đánh dấu các hồ sơ được công nhận theo quyết định này" in text_of(refused)
    assert 'value="12/QĐ-UBND"' in refused.get_data(as_text=True)  # what was typed stays
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0


def test_the_issue_button_is_disabled_when_nothing_awaits_a_decision(client, world):
    login(client, world.approver)
    html = client.get(f"/decisions/new?campaign={world.cdht.id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" id="issue" disabled', html)
    assert "Không có hồ sơ nào chờ quyết định: chưa có gì để ban hành." in html


def test_a_branchs_score_event_before_a_return_counts_as_the_original(world):
    application = cdht_at(world, "commune_appraisal")
    appraiser, officer = world.appraiser(), world.officer()
    operations.set_scores(application, appraiser, {"1.1": 7}, reason="Thiếu giấy khen")
    engine.fire(application, "return", appraiser, reason="Bổ sung giấy khen")
    operations.set_scores(application, officer, {"1.1": 8})
    db.session.commit()
    trail = score_trail(application)
    assert trail.original["1.1"] == 8 and trail.difference("1.1", 8) == 0
    assert [a.changes for a in trail.adjustments] == [{"1.1": (9, 7)}]
