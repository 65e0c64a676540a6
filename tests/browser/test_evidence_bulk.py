"""Evidence in bulk in headless Chromium: a branch officer selects three files at once, picks a criterion for each
in the rows the script adds, and sends them in ONE page load; all three appear under their criteria. Then the
commune's appraiser sees the image as a thumbnail and the PDF as an embedded preview, without downloading.
Screenshots go to test-artifacts/."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from workflow import engine
from workflow.db import db
from workflow.models import Application, Evidence

from ..factories import PDF, add_all_evidence, score_all
from ..test_evidence_bulk import one_page_pdf, png
from .test_chain import log_in


def test_officer_sends_three_files_in_one_load_and_the_appraiser_previews_them(live, new_page, world, artifacts):
    application = world.new_cdht(full_name="Trần Thị Bình")
    db.session.commit()
    app_id, officer, appraiser = application.id, world.officer().username, world.appraiser().username
    db.session.remove()

    page = new_page()
    log_in(page, live, officer)
    page.goto(f"{live}/applications/{app_id}")
    page.locator("#evidence-files").set_input_files([
        {"name": "giấy khen.pdf", "mimeType": "application/pdf", "buffer": one_page_pdf()},
        {"name": "1.2 ảnh lớp học.png", "mimeType": "image/png", "buffer": png(160, 100)},
        {"name": "chứng chỉ.pdf", "mimeType": "application/pdf", "buffer": PDF + b"% 2"},
    ])
    rows = page.locator("#several-rows tr.js-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1).locator("select")).to_have_value("1.2")  # guessed from the name
    rows.nth(0).locator("select").select_option("1.1")
    rows.nth(2).locator("select").select_option("2.1")
    page.screenshot(path=artifacts / "evidence-01-three-files-chosen.png", full_page=True)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.click("#several-submit")
    expect(page.locator(".flash.success")).to_contain_text("Đã tải lên 3 tệp minh chứng.")
    # one request for all three, answered by a redirect to the detail (counting "load" events raced the lazy
    # thumbnail that the result, scrolled into view since issue 13, brings on screen)
    assert posts == [f"{live}/applications/{app_id}/evidence/several"]
    expect(page.locator("[id='criterion-1.1'] .evidence-item")).to_contain_text("giấy khen.pdf")
    expect(page.locator("[id='criterion-1.2'] .evidence-item")).to_contain_text("1.2 ảnh lớp học.png")
    expect(page.locator("[id='criterion-2.1'] .evidence-item")).to_contain_text("chứng chỉ.pdf")
    page.screenshot(path=artifacts / "evidence-02-three-files-uploaded.png", full_page=True)

    # The rest of the evidence, scores and submissions through the engine; then the appraiser looks.
    app = db.session.get(Application, app_id)
    officer_user = world.officer()
    add_all_evidence(app, officer_user)
    engine.fire(app, "submit", officer_user)
    score_all(app, officer_user)
    engine.fire(app, "submit", officer_user)
    db.session.commit()
    image = db.session.scalar(select(Evidence).where(Evidence.application_id == app_id,
                                                     Evidence.media_type == "image/png"))
    image_id = image.id
    pdf_id = db.session.scalar(select(Evidence.id).where(Evidence.application_id == app_id,
                                                         Evidence.original_name == "giấy khen.pdf"))
    db.session.remove()

    review = new_page()
    log_in(review, live, appraiser)
    review.goto(f"{live}/applications/{app_id}")
    expect(review.locator("#several-form")).to_have_count(0)  # the appraiser does not upload
    thumb = review.locator(f"#evidence-{image_id} img.evidence-thumb")
    thumb.scroll_into_view_if_needed()
    expect(thumb).to_have_attribute("loading", "lazy")
    review.wait_for_function("(img) => img.complete && img.naturalWidth === 160", arg=thumb.element_handle())
    preview = review.locator(f"#evidence-{pdf_id} details.evidence-preview")
    frame = preview.locator("iframe.evidence-pdf")
    expect(frame).to_have_attribute("src", f"/evidence/{pdf_id}/inline")
    expect(frame).to_have_attribute("loading", "lazy")
    with review.expect_response(lambda r: r.url.endswith(f"/evidence/{pdf_id}/inline")) as answered:
        preview.locator("summary").click()  # a closed preview loads nothing; opening it fetches the PDF
        frame.scroll_into_view_if_needed()
    response = answered.value
    assert response.status == 200 and response.headers["content-disposition"].startswith("inline")
    # Drawn by the browser's PDF viewer inside the page (the sandboxing policy does not block it).
    for _ in range(50):
        if any(f.url.startswith("chrome-extension://") for f in review.frames):
            break
        review.wait_for_timeout(100)
    assert any(f.url.startswith("chrome-extension://") for f in review.frames)
    review.screenshot(path=artifacts / "evidence-03-appraiser-previews.png", full_page=True)
