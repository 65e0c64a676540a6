"""Issue 13, findings 1 and 12 (the text): no page of any role shows an internal code, in either language.

The demo is seeded through the engine (workflow.demo.seed); tests/page_catalog.py lists every page each demo user
can open; each is fetched with Flask's test client in Vietnamese and in English and its visible text (tags, scripts,
styles and attributes stripped, but the attributes a person reads kept: title, placeholder, alt, aria-label, a
button's value) is searched for what must never show. The forbidden lists come from the data: the states, actions
and roles of workflow.vocabulary, the title codes of the titles table, the field names of every declared pydantic
input (snake_case ones: "reason" or "number" are English words), plus "None", "Bytes", Python reprs and ISO dates."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import current_app
from sqlalchemy import func, select

from workflow import demo, vocabulary
from workflow.admin.inputs import Input
from workflow.db import db
from workflow.models import Notification, OutboxMessage, TitleType

from . import page_catalog

READ_ATTRS = {"title", "placeholder", "alt", "aria-label"}
# <code> marks text a person must type or find literally in a file (an import's column names, a JSON file's keys):
# the one place a code may show, on purpose.
SKIP_TAGS = {"script", "style", "template", "code"}


class _Visible(HTMLParser):
    """The text a person reads: element text outside script/style, and the attributes read aloud or shown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self._skip += 1
            return
        values = dict(attrs)
        for name in READ_ATTRS & values.keys():
            self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def _subclasses(cls) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def forbidden_codes() -> dict[str, set[str]]:
    """What never shows, by kind. "all": in both languages; "vi": codes that are English words (approve, returned,
    reason, None) are fine in English prose, so they are looked for in Vietnamese pages only."""
    title_codes = set(db.session.scalars(select(TitleType.code)))
    fields = {name for model in _subclasses(Input) for name, info in model.model_fields.items()
              for name in (name, info.alias) if name and "_" in name}
    states, actions, roles = set(vocabulary.STATES), set(vocabulary.ACTIONS), set(vocabulary.ROLES)
    codes = states | actions | roles | fields
    snake = {c for c in codes if "_" in c}
    # "None" is an English word too ("None of the files..."); a leaked None shows in Vietnamese just the same (the
    # templates are shared), so it is looked for there.
    return {"all": snake | title_codes | {"Bytes"}, "vi": (codes - snake) | {"None"}}


REPRS = re.compile(r"\{'|\['|': |<[A-Z][a-zA-Z]+ [^>]*>|datetime\.|Decimal\(")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
APP_PATH = re.compile(r"/applications/\d+")
# A file called by its number or its version, a subject group by its code (finding 1: "Hồ sơ số 10",
# "Nhóm đối tượng: 1"; finding 12: "Phiên bản N").
NUMBERED = re.compile(r"\b(Hồ sơ số|Application no\.) \d+|\b(Phiên bản|Version) \d+\b|"
                      r"\b(Nhóm đối tượng|Subject group):? \d+\b")


def leaks(text: str, forbidden: dict[str, set[str]], lang: str) -> list[str]:
    """Every forbidden thing in `text` (whole words; the language decides which lists apply)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    found = sorted(words & forbidden["all"])
    if lang == "vi":
        found += sorted(words & forbidden["vi"])
    found += [f"repr {m.group(0)!r}" for m in REPRS.finditer(text)]
    found += [f"ISO date {m.group(0)}" for m in ISO_DATE.finditer(text)]
    found += [f"path {m.group(0)}" for m in APP_PATH.finditer(text)]
    found += [f"numbered {m.group(0)}" for m in NUMBERED.finditer(text)]
    return found


def username_leaks(text: str, path: str, me: str, usernames: set[str]) -> list[str]:
    """Usernames where people's names belong: only the header may name the account one is logged in as (once);
    the administration's account pages show usernames by design."""
    if path.startswith("/admin/"):
        return []
    found = []
    for name in usernames:
        count = len(re.findall(rf"(?<![\w.]){re.escape(name)}(?![\w@])", text))
        if count > (1 if name == me else 0):
            found.append(f"username {name}")
    return found


def _context(text: str, needle: str, width: int = 60) -> str:
    token = needle.split(" ", 1)[-1].strip("'")
    at = text.find(token)
    return text[max(0, at - width): at + len(token) + width] if at >= 0 else ""


def test_every_get_rule_is_in_the_catalog_or_skipped_with_a_reason(app):
    assert page_catalog.unlisted_rules(app) == []
    assert all(reason.strip() for reason in page_catalog.SKIPPED.values())


def test_visible_text_ignores_markup_and_field_names():
    html = ('<form><input name="date_of_birth" value="2026-01-01"><script>var x = {"a": None}</script>'
            '<button title="Tải lại">Gửi</button><input type="submit" value="evidence_collection"></form>')
    text = visible_text(html)
    assert "date_of_birth" not in text and "None" not in text
    assert "Tải lại" in text and "evidence_collection" in text


def test_the_check_finds_what_it_must():
    forbidden = {"all": {"evidence_collection", "CDHT"}, "vi": {"approve", "None"}}
    text = "Tạo hồ sơ: None → evidence_collection, «approve», {'1.1': 5}, 2026-12-01, /applications/10"
    found = leaks(text, forbidden, "vi")
    assert {"None", "evidence_collection", "approve", "ISO date 2026-12-01", "path /applications/10"} <= set(found)
    assert any(f.startswith("repr") for f in found)
    assert "approve" not in leaks("Approve or approve the file", forbidden, "en")


def seed_with_notices() -> None:
    """The demo, with the in-app notices its steps owe delivered (as the one-command run does in process), so
    every inbox has something to read."""
    from notifications import delivery

    demo.seed(page_catalog.DEMO_PASSWORD, current_app.config["UPLOAD_DIR"])
    ids = list(db.session.scalars(select(OutboxMessage.id)))
    try:
        delivery.deliver(ids)
    except delivery.DeliveryFailed:
        pass  # no SMTP server in the tests: the e-mails wait, the in-app notices are in
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.channel == "inapp"))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_page_of_any_role_shows_an_internal_code(app, lang):
    seed_with_notices()
    forbidden = forbidden_codes()
    assert {"evidence_collection", "approve", "date_of_birth", "CDHT"} <= forbidden["all"] | forbidden["vi"]
    catalog = page_catalog.pages_by_role(app)
    usernames = set(catalog)
    assert len(catalog) >= 12 and all(catalog.values())
    problems: list[str] = []
    seen = 0
    for username, paths in catalog.items():
        client = app.test_client()
        page_catalog.log_in(client, username)
        client.get(f"/lang/{lang}")
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (username, path, response.status_code)
            text = visible_text(response.get_data(as_text=True))
            seen += 1
            for leak in leaks(text, forbidden, lang) + username_leaks(text, path, username, usernames):
                problems.append(f"{username} {path}: {leak} … {_context(text, leak)}")
        db.session.remove()
    for path in page_catalog.public_pages():
        client = app.test_client()
        client.get(f"/lang/{lang}")
        text = visible_text(client.get(path).get_data(as_text=True))
        problems += [f"(visitor) {path}: {leak} … {_context(text, leak)}" for leak in leaks(text, forbidden, lang)]
    assert seen > 300
    assert not problems, f"{len(problems)} leaks:\n" + "\n".join(dict.fromkeys(problems))


def test_refusals_word_their_codes_in_both_languages(app):
    from flask_babel import force_locale

    from workflow.errors import GuardRefused, NotAuthorized

    refused = NotAuthorized("wrong_role", action="approve", state="evidence_collection")
    with app.test_request_context():
        assert refused.message("vi") == ("Vai trò của bạn không được thực hiện thao tác «Phê duyệt» ở bước "
                                         "«Thu thập minh chứng».")
        assert refused.message("en") == "Your role may not perform «Approve» at stage «Collecting evidence»."
        field = GuardRefused("invalid_field", field="date_of_birth", detail="2999-12-01")
        assert field.message("vi") == "Trường «Ngày sinh» không hợp lệ: 01/12/2999."
        with force_locale("en"):
            assert field.message("en") == "Field «Date of birth» is invalid: 01/12/2999."
    assert refused.params == {"action": "approve", "state": "evidence_collection"}  # the API keeps the codes


def test_one_wording_for_each_state_in_pages_and_notices(app):
    """Finding 12: a notice names a stage exactly as the pages do (web/i18n.py is the one place)."""
    from flask_babel import force_locale

    from notifications import messages
    from web.i18n import STATE_LABELS

    with app.app_context():
        for lang in ("vi", "en"):
            with force_locale(lang):
                pages = {s: str(STATE_LABELS[s]) for s in vocabulary.STATES}
            assert {s: messages.stage_label(s, lang) for s in vocabulary.STATES} == pages
    with app.app_context(), force_locale("vi"):
        assert str(STATE_LABELS["branch_scoring"]) == "Chi hội chấm điểm"


def test_the_audit_csv_is_in_the_readers_language(client, world):
    import csv
    import io

    from tests.factories import cdht_at
    from workflow import engine

    from .test_web_flow import login

    application = cdht_at(world, "commune_appraisal", full_name="Lê Thị Thu")
    engine.fire(application.id, "return", world.appraiser(), reason="Bổ sung minh chứng")
    db.session.commit()
    login(client, world.auditor)

    def rows() -> list[list[str]]:
        body = client.get("/audit/log.csv", query_string={"action": "return"}).get_data(as_text=True)
        return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))

    vi = rows()
    assert vi[0] == ["Số sự kiện", "Thời gian", "Người thực hiện", "Tài khoản", "Thao tác", "Từ bước", "Sang bước",
                     "Mã hồ sơ", "Tên", "Đơn vị", "Lý do"]
    line = vi[1]
    assert line[2] == world.appraiser().full_name and line[3] == world.appraiser().username
    assert line[4:7] == ["Trả lại để bổ sung", "Xã thẩm định", "Chi hội chấm điểm"]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", line[1])
    assert line[8:] == ["Lê Thị Thu", world.branch().name, "Bổ sung minh chứng"]
    client.get("/lang/en")
    en = rows()
    assert en[0][:5] == ["Event no.", "Time", "Person", "Account", "Action"]
    assert en[1][4:7] == ["Return for completion", "Commune appraisal", "Branch scoring"]
    text = "\n".join(",".join(r) for r in vi + en)
    assert not set(re.findall(r"[a-z]+_[a-z_]+", text)) & (set(vocabulary.STATES) | set(vocabulary.ACTIONS))
