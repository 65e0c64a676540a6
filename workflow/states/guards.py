"""Guards shared by stages. Each raises GuardRefused with its reason instead of returning False, so the refusal
says why (transitions would otherwise only report False)."""
from ..errors import GuardRefused
from . import Subject


def evidence_complete(s: Subject) -> None:
    have = s.evidence_codes or set()
    missing = [c.code for c in s.rubric.criteria_for(s.target_level) if c.evidence_required and c.code not in have]
    if missing:
        raise GuardRefused("evidence_missing", criteria=", ".join(missing))


def level_ready(s: Subject) -> None:
    """A level that requires a lower one (XHT level 2: level 1 at least 12 months before, titles.json "validity"
    "levels"): the engine reads the subject's history into `s.prerequisite` before the machine runs."""
    if s.prerequisite is not None:
        s.prerequisite.check(s.on)


def passes_rubric(s: Subject) -> None:
    """The pass rule over the scores, then each counted criterion over its figure as of the action's day (the
    engine counts them into `s.figures` before the machine runs; workflow.counting)."""
    s.rubric.judge(s.score_total, s.score_min, s.scored_count, level=s.target_level,
                   disadvantaged=s.disadvantaged)
    if s.figures:
        from ..counting import judge

        judge(s.figures, s.on)
