"""Official papers (issue 12): the decision as a document (decision.py) and the certificates (certificates.py),
printed from HTML templates by WeasyPrint with fonts that carry every Vietnamese diacritic (Debian's
fonts-noto-core: Noto Serif, Noto Sans; .ci/run installs them). The templates are workflow/papers/templates/
paper_*.html, rendered without Flask so that a job prints them too; the words of the papers are data
(workflow/data/decision_papers.json), so a province's own wording is an edit, not a code change."""
from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
PDF = "application/pdf"


@cache
def environment() -> Environment:
    """Jinja for the papers alone (no Flask request, so a job renders them too)."""
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


def render_html(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def date_words(day: date) -> str:
    """"ngày 02 tháng 12 năm 2026", as Nghị định 30/2020/NĐ-CP writes a document's date: a day below 10 and the
    months 1 and 2 take a leading zero ("ngày 05 tháng 02", but "tháng 3")."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"
