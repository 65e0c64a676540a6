"""What a person reads instead of what the program stores (issue 13, findings 1 and 12): labels for the codes in
the engine's refusals, people's full names for the usernames the audit trail keeps, file sizes in words, an audit
event's details as lines, a subject group's and a title's names. The labels themselves live in web/i18n.py (the
one place for each state's and action's wording); this module applies them."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, g, has_app_context
from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from workflow import errors
from workflow.db import db
from workflow.models import Decision, TitleType, Unit, User

from .i18n import ACTION_LABELS, ROLE_LABELS, STATE_LABELS, locale

# The fields a refusal may name ({field}), as the forms label them.
FIELD_LABELS = {
    "full_name": _l("Full name"), "date_of_birth": _l("Date of birth"), "citizen_id": _l("Citizen ID"),
    "subject_group": _l("Subject group"), "target_level": _l("Target level"),
    "residence_unit": _l("Place of residence"),
    "residence_id": _l("Place of residence"), "unit": _l("Unit"), "unit_id": _l("Unit"), "campaign": _l("Campaign"),
    "number": _l("Decision number"), "signer": _l("Signed by"), "signed_on": _l("Signed on"),
    "original_name": _l("File name"), "reason": _l("Reason"),
}
_PARAM_TABLES = {"action": ACTION_LABELS, "state": STATE_LABELS, "stage": STATE_LABELS, "from_state": STATE_LABELS,
                 "to_state": STATE_LABELS, "field": FIELD_LABELS, "role": ROLE_LABELS}


def _param_wording(name: str, value: object, lang: str) -> str | None:
    """A refusal's code parameter as its label, in the refusal's language (registered in workflow.errors)."""
    table = _PARAM_TABLES.get(name)
    if table is None or not isinstance(value, str) or value not in table or not has_app_context():
        return None
    with force_locale("en" if lang.startswith("en") else "vi"):
        return str(table[value])


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, _("this field")))


def filesize(size: int | None) -> str:
    """850 byte, 12,3 KB, 1,5 MB (Vietnamese); 850 bytes, 12.3 KB (English): never "Bytes"."""
    size = int(size or 0)
    if size < 1024:
        return _("%(num)s bytes", num=format_decimal(size))
    for unit in ("KB", "MB", "GB"):
        size_f = size / 1024
        if size_f < 1024 or unit == "GB":
            return f"{format_decimal(round(size_f, 1), format='#,##0.#')} {unit}"
        size = int(size_f)
    return ""  # unreachable


def person(actor_id: int | None, fallback: str | None = None) -> str:
    """A user's full name (the audit trail keeps the username, as it was hashed); cached for the request."""
    if actor_id is None:
        return fallback or _("the system")
    cache = g.setdefault("_people", {})
    if actor_id not in cache:
        cache[actor_id] = db.session.scalar(select(User.full_name).where(User.id == actor_id))
    return cache[actor_id] or fallback or _("the system")


def people(ids: Iterable[int | None]) -> None:
    """Load the full names of many actors at once (a list page), so `person` asks nothing more."""
    cache = g.setdefault("_people", {})
    wanted = {i for i in ids if i is not None and i not in cache}
    if wanted:
        cache.update(db.session.execute(select(User.id, User.full_name).where(User.id.in_(wanted))).all())


def _unit_name(unit_id: Any) -> str:
    cache = g.setdefault("_unit_names", {})
    if unit_id not in cache:
        try:
            cache[unit_id] = db.session.scalar(select(Unit.name).where(Unit.id == int(unit_id)))
        except (TypeError, ValueError):
            cache[unit_id] = None
    return cache[unit_id] or _("an earlier unit")


def title_name(code: str | None) -> str:
    """A title's name in the reader's language ("Công dân học tập"), never its code."""
    if not code:
        return ""
    cache = g.setdefault("_title_names", {})
    if code not in cache:
        cache[code] = db.session.execute(select(TitleType.name_vi, TitleType.name_en)
                                         .where(TitleType.code == code)).first()
    names = cache[code]
    if names is None:
        return code
    return (names[1] if locale().startswith("en") else names[0]) or names[0]


def subject_group_name(rubric, code: str | None) -> str:
    """The subject group's name from the rubric's frameworks ("Nông dân, lao động nông thôn"), never "1"."""
    if not code:
        return ""
    lang = "en" if locale().startswith("en") else "vi"
    for framework in (rubric.definition or {}).get("frameworks", []):
        if framework.get("code") == code:
            return framework.get("name", {}).get(lang) or framework.get("name", {}).get("vi") or code
    return code


def subject_kind_label(kind: str) -> str:
    """What a title's nominee is called on a form: "Hộ gia đình", "Dòng họ" ... (workflow/subjects.py)."""
    return str({"person": _("Citizen"), "commune": _("Commune"), "village": _("Village or residential group"),
                "household": _("Household"), "clan": _("Clan"),
                "organisation": _("Agency, school or enterprise")}.get(kind, kind))


def title_subject_kind(code: str) -> str:
    """Who a title's files are about (titles.json "subject_kind"): person, commune, household ..."""
    from workflow.subjects import kind_of

    return kind_of(code)


def counted_sentence(figure) -> str:
    """A counted criterion in words (workflow/counting.py): "12/20 hộ gia đình đạt Gia đình học tập (60%); mức
    cần đạt 50%: đạt"."""
    members = {"households": _("households"), "persons": _("members"), "organisations": _("organisations")}
    percent = format_decimal(figure.percent, format="#,##0.#")
    required = format_decimal(figure.required, format="#,##0.#")
    verdict = _("met") if figure.met else _("not yet met")
    return _("%(holders)s of %(members)s %(what)s hold %(title)s (%(percent)s%%); required %(required)s%%: "
             "%(verdict)s", holders=figure.holders, members=figure.members, what=members[figure.members_kind],
             title=title_name(figure.counts), percent=percent, required=required, verdict=verdict)


def _points(value: Any) -> str:
    return "—" if value is None else str(format_decimal(value))


def _criterion(code: Any) -> str:
    return _("criterion %(code)s", code=code)


def event_details(payload: dict[str, Any] | None) -> list[str]:
    """An audit event's payload as lines a person reads: labels, names, score changes "criterion 1.1: 8 → 9",
    the file's check code shortened; internal keys (versions, subject keys, paths) left out."""
    lines: list[str] = []
    data = dict(payload or {})
    for key in ("version", "subject_key", "unit_path", "subject", "subject_id", "evidence_id", "via", "before",
                "after", "renews_campaign"):
        data.pop(key, None)
    if "name" in data:
        lines.append(_("File: %(name)s", name=data.pop("name")))
    if "criterion" in data:
        lines.append(_("Criterion %(code)s", code=data.pop("criterion")))
    if "sha256" in data:
        lines.append(_("File check code: %(code)s", code=str(data.pop("sha256"))[:12] + "…"))
    if "unit_id" in data:
        lines.append(_("Unit: %(name)s", name=_unit_name(data.pop("unit_id"))))
    if "import_job" in data:
        row = data.pop("row", None)
        lines.append(_("Imported from a spreadsheet, row %(row)s", row=row) if row is not None
                     else _("Imported from a spreadsheet"))
    changes = data.pop("changes", None)
    if isinstance(changes, dict):
        for code, pair in sorted(changes.items()):
            old, new = (list(pair) + [None, None])[:2] if isinstance(pair, list | tuple) else (None, pair)
            lines.append(f"{_criterion(code)}: {_points(old)} → {_points(new)}")
    scores = data.pop("scores", None)
    if isinstance(scores, dict):
        lines.append(_("Scores entered: %(list)s", list=", ".join(
            f"{code}: {_points(v)}" for code, v in sorted(scores.items()))))
    for key in ("score_total", "total"):
        if key in data:
            lines.append(_("Total score: %(total)s", total=_points(data.pop(key))))
    if "decision_id" in data:
        decision_id = data.pop("decision_id")
        data.pop("number", None)
        number = db.session.scalar(select(Decision.number).where(Decision.id == decision_id))
        lines.append(_("Decision no. %(number)s", number=number) if number else _("Recognition decision"))
    if "renews_id" in data:
        data.pop("renews_id")
        lines.append(_("Renews an earlier recognition"))
    for value in data.values():  # anything else: its plain value, never a key or a Python repr
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            lines.append(str(value))
    return lines


def language_return() -> str:
    """Where the language switch leads back to: this page, or, for a page answering a form (a refusal, a
    conflict), the page the form was on (a POST address cannot be opened again)."""
    from urllib.parse import urlsplit

    from flask import request, url_for

    if request.method == "GET":
        return request.full_path
    came = urlsplit(request.referrer or "")
    if came.netloc == request.host and came.path.startswith("/"):
        return came.path + (f"?{came.query}" if came.query else "")
    return url_for("home.index")


def init_app(app: Flask) -> None:
    """Register the refusals' labels and the template helpers."""
    if _param_wording not in errors.PARAM_WORDING:
        errors.PARAM_WORDING.append(_param_wording)
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.globals.update(person=person, event_details=event_details, title_name=title_name,
                                 language_return=language_return,
                                 subject_group_name=subject_group_name, field_label=field_label,
                                 subject_kind_label=subject_kind_label, counted_sentence=counted_sentence,
                                 title_subject_kind=title_subject_kind)


# ---------------------------------------------------------------- a conflict, told as what happened (finding 12)

def _change_words(events: list) -> list[str]:
    words: list[str] = []
    for e in events:
        if e.from_state is not None and e.to_state is not None and e.from_state != e.to_state:
            words.append(_("moved it from «%(source)s» to «%(dest)s»", source=STATE_LABELS.get(e.from_state,
                                                                                               e.from_state),
                           dest=STATE_LABELS.get(e.to_state, e.to_state)))
        elif e.action == "score":
            words.append(_("changed the scores"))
        elif e.action.startswith("evidence"):
            words.append(_("changed the evidence"))
        else:
            words.append(f"«{ACTION_LABELS.get(e.action, e.action)}»")
    return list(dict.fromkeys(words))


def changes_since(application_id: int, expected: object, actual: object) -> list[list]:
    """The changes made to a file since the version a page showed, newest first, each a list of audit events
    written together (one person, one moment: a batch of evidence is one change). Every change bumps the version
    by one, so the newest `actual - expected` changes are the ones the page did not show."""
    from workflow.models import AuditEvent

    wanted = actual - expected if isinstance(actual, int) and isinstance(expected, int) and actual > expected else 1
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == application_id)
                              .order_by(AuditEvent.id.desc()).limit(max(20, 5 * wanted))).all()
    groups: list[list] = []
    for e in rows:
        key = (e.actor_id, e.created_at)
        if groups and (groups[-1][0].actor_id, groups[-1][0].created_at) == key:
            groups[-1].append(e)
        elif len(groups) < wanted:
            groups.append([e])
        else:
            break
    return groups


def conflict_message(application_id: int, expected: object, actual: object) -> Markup:
    """Who changed the file and when (hh:mm dd/mm/yyyy), what changed, and a "Reload" link: never a version."""
    from flask import request, url_for
    from flask_babel import format_datetime

    groups = changes_since(application_id, expected, actual)
    reload_url = (url_for("nominations.scores", application_id=application_id)
                  if request.endpoint == "nominations.scores"
                  else url_for("review.detail", application_id=application_id))
    link = Markup('<a class="button" href="{}" id="reload">{}</a>').format(reload_url, _("Reload"))
    if not groups:
        return Markup("{} {}").format(errors.Conflict("conflict").message(locale()), link)
    newest = groups[0][0]
    who = list(dict.fromkeys(person(g[0].actor_id, g[0].actor_name) for g in groups))
    what = _change_words([e for g in reversed(groups) for e in g])
    text = _("%(who)s changed this file at %(when)s, after you opened the page: %(what)s. Reload it to see the file "
             "as it is now, then try again.", who=", ".join(who),
             when=format_datetime(newest.created_at, "HH:mm dd/MM/yyyy"), what="; ".join(what))
    return Markup('<span id="conflict">{}</span> {}').format(text, link)


def explain(exc: errors.WorkflowError) -> str | Markup:
    """A refusal as a page shows it: a conflict on a file says who changed it, when and what (with "Reload");
    any other refusal its message in the reader's language, codes worded (PARAM_WORDING)."""
    from flask import request

    app_id = (request.view_args or {}).get("application_id")
    if isinstance(exc, errors.Conflict) and exc.code == "conflict" and isinstance(app_id, int):
        return conflict_message(app_id, exc.params.get("expected"), exc.params.get("actual"))
    return exc.message(locale())
