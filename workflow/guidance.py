"""What evidence each criterion expects: the hint shown beside a criterion where evidence is gathered and scored.

A rubric file may give a criterion its own `"evidence": {"vi": ..., "en": ...}` (it is then pinned with the
version, as every word of a rubric is); otherwise workflow/data/evidence_guidance.json holds the project's
suggestion per title, rubric version ("*": any) and criterion. That file is kept apart from the rubric files
because a loaded rubric version is never rewritten (invariant 6), and its wording is not official (status "?")."""
from __future__ import annotations

from functools import cache

from .db import db
from .definitions import data_file


@cache
def _guidance() -> dict:
    return data_file("evidence_guidance.json")["titles"]


@cache
def hints(rubric_id: int) -> dict[str, dict[str, str]]:
    """{criterion code: {"vi": ..., "en": ...}} for a rubric version: the rubric's own words first, then the
    guidance file's for its title and version, then its title's "*". Cached per id: a loaded rubric version
    never changes."""
    from .models import Rubric

    row = db.session.get(Rubric, rubric_id)
    if row is None:
        return {}
    by_title = _guidance().get(row.title_code, {})
    out: dict[str, dict[str, str]] = {**by_title.get("*", {}), **by_title.get(row.version, {})}
    for group in row.definition.get("groups", []):
        for criterion in group.get("criteria", []):
            if isinstance(criterion.get("evidence"), dict):
                out[criterion["code"]] = criterion["evidence"]
    return out


def hint(rubric_id: int, code: str, locale: str = "vi") -> str | None:
    """The evidence a criterion expects, in `locale` (Vietnamese when the English is missing); None if unknown."""
    found = hints(rubric_id).get(code)
    if not found:
        return None
    return found.get(locale) or found.get("vi")
