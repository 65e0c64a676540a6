"""The words of every notice, Vietnamese by default and English for users whose locale is "en"."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date


def stage_label(state: str, locale: str | None) -> str:
    """A state's label as the pages word it (workflow/labels.py), so a notice and a page never name a stage
    differently."""
    from workflow.labels import stage_label as label

    return label(state, lang(locale))


def title_label(code: str, locale: str | None) -> str:
    """A title's name in the reader's language ("Công dân học tập"), never its code."""
    from workflow import validity

    title = validity.titles().get(code) or {}
    return title.get("name_en" if lang(locale) == "en" else "name_vi") or title.get("name_vi") or code


# (audience, event) -> subject template; event is the action, or "recognised" for the final approval.
SUBJECTS = {
    "vi": {
        ("owner", "return"): "Hồ sơ {name} ({title}) bị trả lại để bổ sung",
        ("owner", "approve"): "Hồ sơ {name} ({title}) đã được thông qua, chuyển sang bước «{stage}»",
        ("owner", "recognised"): "Hồ sơ {name} ({title}) đã được công nhận",
        ("owner", "reject"): "Hồ sơ {name} ({title}) không được công nhận",
        ("owner", "revoke"): "Danh hiệu của {name} ({title}) đã bị thu hồi",
        ("next", "work"): "Hồ sơ {name} ({title}) đang chờ bạn: {stage}",
    },
    "en": {
        ("owner", "return"): "Application {name} ({title}) was returned for more evidence",
        ("owner", "approve"): "Application {name} ({title}) was approved and moved to «{stage}»",
        ("owner", "recognised"): "Application {name} ({title}) was recognised",
        ("owner", "reject"): "Application {name} ({title}) was rejected",
        ("owner", "revoke"): "The title of {name} ({title}) was revoked",
        ("next", "work"): "Application {name} ({title}) is waiting for you: {stage}",
    },
}

BODY = {
    "vi": "{name} — {title}.\nTừ bước «{from_stage}» sang «{stage}», người thực hiện: {actor}.\n{reason}",
    "en": "{name} — {title}.\nFrom «{from_stage}» to «{stage}», by {actor}.\n{reason}",
}
REASON = {"vi": "Lý do: {reason}\n", "en": "Reason: {reason}\n"}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def lang(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "vi"


@dataclass(frozen=True, slots=True)
class Transition:
    """What a transition notice says, independent of who reads it."""

    application_id: int
    name: str
    title: str
    action: str
    source: str
    dest: str
    actor: str
    reason: str | None


def transition_notice(t: Transition, audience: str, locale: str | None) -> tuple[str, str]:
    """(subject, body) for one reader: `audience` is "owner" (the applicant's side) or "next" (work arrives)."""
    lg = lang(locale)
    event = "work" if audience == "next" else ("recognised" if t.dest == "recognised" else t.action)
    values = {"name": t.name, "title": title_label(t.title, lg), "id": t.application_id,
              "stage": stage_label(t.dest, lg),
              "from_stage": stage_label(t.source, lg), "actor": t.actor}
    subject = SUBJECTS[lg][(audience, event)].format(**values)
    reason = REASON[lg].format(reason=t.reason) if t.reason else ""
    body = BODY[lg].format(reason=reason, **values)
    return _nfc(subject[:255]), _nfc(body)


@dataclass(frozen=True, slots=True)
class DigestLine:
    application_id: int
    name: str
    title: str
    kind: str  # reminder | escalation
    state: str
    days: int
    unit: str = ""  # the file's unit, so two nominees of one name are told apart

    def who(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit and self.unit != self.name else self.name


def digest_notice(day: date, lines: list[DigestLine], locale: str | None) -> tuple[str, str]:
    """One message a day per person: every application that waits too long at a stage they answer for."""
    lg = lang(locale)
    reminders = sum(1 for x in lines if x.kind == "reminder")
    escalations = len(lines) - reminders
    when = day.strftime("%d/%m/%Y")
    if lg == "vi":
        parts = ([f"{reminders} hồ sơ quá hạn"] if reminders else []) + (
            [f"{escalations} hồ sơ chuyển lên cấp trên"] if escalations else [])
        subject = f"Nhắc việc ngày {when}: " + ", ".join(parts)
        kinds = {"reminder": "quá hạn", "escalation": "chuyển lên cấp trên"}
        rows = [f"- {x.who()} — {title_label(x.title, lg)}: chờ ở bước «{stage_label(x.state, lg)}» "
                f"{x.days} ngày, {kinds[x.kind]}" for x in lines]
        body = "Các hồ sơ sau đã chờ quá thời hạn của đợt đánh giá:\n" + "\n".join(rows) + "\n"
    else:
        parts = ([f"{reminders} overdue"] if reminders else []) + (
            [f"{escalations} escalated to you"] if escalations else [])
        subject = f"Reminders for {when}: " + ", ".join(parts)
        kinds = {"reminder": "overdue", "escalation": "escalated"}
        rows = [f"- {x.who()} — {title_label(x.title, lg)}: waiting at "
                f"«{stage_label(x.state, lg)}» for {x.days} days, {kinds[x.kind]}" for x in lines]
        body = "These applications have waited longer than the campaign allows:\n" + "\n".join(rows) + "\n"
    return _nfc(subject[:255]), _nfc(body)


# The set-password e-mail (kind "set_password", workflow/admin/officers.py). The stored body holds LINK_MARK where
# the link goes; the link itself is minted only when the e-mail is sent, so it never reaches the database.
LINK_MARK = "[[set-password-link]]"


def set_password_notice(full_name: str, username: str, hours: int, locale: str | None) -> tuple[str, str]:
    """(subject, body with LINK_MARK) inviting a new or reset user to choose their password."""
    if lang(locale) == "en":
        subject = "Set your password for the learning-society system"
        body = (f"Hello {full_name},\nYour account «{username}» is ready. Choose your password with this link "
                f"(valid for {hours} hours, once):\n{LINK_MARK}\nIf you did not expect this, ignore this e-mail.\n")
    else:
        subject = "Đặt mật khẩu cho tài khoản hệ thống xã hội học tập"
        body = (f"Xin chào {full_name},\nTài khoản «{username}» của bạn đã sẵn sàng. Mở liên kết sau để đặt mật "
                f"khẩu (dùng được một lần, trong {hours} giờ):\n{LINK_MARK}\n"
                "Nếu bạn không đề nghị việc này, hãy bỏ qua e-mail.\n")
    return _nfc(subject), _nfc(body)


def with_link(body: str, link: str) -> str:
    head, mark, tail = body.rpartition(LINK_MARK)
    return head + link + tail if mark else body + "\n" + link + "\n"
