"""Invariant 6: each application pins the rubric version it was scored with; a new version next year never
rewrites history, and a loaded version is never silently replaced."""
import copy
import json
from datetime import date

import pytest

from workflow import engine, operations
from workflow.db import db
from workflow.definitions import DATA_DIR
from workflow.loader import DataError, load_rubric
from workflow.models import Campaign

from .factories import cdht_at, score_all, to_scoring


def stricter(version: str = "KHVN-2027") -> dict:
    definition = json.loads((DATA_DIR / "rubric_cdht_2022.json").read_text(encoding="utf-8"))
    new = copy.deepcopy(definition)
    new["version"] = version
    new["pass_rule"]["min_total"] = 90
    return new


def test_new_version_does_not_change_old_applications(world):
    old = cdht_at(world, "commune_appraisal")  # scored 9 x 10 = 90
    operations.set_scores(old, world.appraiser(), {"1.1": 5}, reason="điều chỉnh")  # 86
    db.session.commit()
    new_rubric = load_rubric(stricter())
    world.cdht.rubric_id = new_rubric.id  # even if an admin repoints the campaign
    db.session.commit()
    assert old.rubric_id != new_rubric.id
    assert engine.fire(old, "approve", world.appraiser()).to_state == "final_approval"  # judged by 80, its own

    year = world.cdht.year + 1
    next_year = Campaign(title_code="CDHT", year=year, province=world.province, rubric_id=new_rubric.id,
                         name="next", opens_on=date(year, 1, 1), submit_deadline=date(year, 11, 30),
                         decision_deadline=date(year, 12, 15))
    db.session.add(next_year)
    db.session.commit()
    app = operations.create_application(next_year, world.branch(), world.officer(), full_name="Lê Thị Hoa",
                                        date_of_birth=date(1990, 2, 2), citizen_id="027190004444", subject_group="2")
    to_scoring(app, world.officer())
    score_all(app, world.officer(), dict.fromkeys([c.code for c in _criteria(app)], 9) | {"1.1": 5})
    db.session.commit()
    with pytest.raises(Exception) as exc:
        engine.fire(app, "submit", world.officer())
    assert exc.value.code == "total_below_pass" and exc.value.params["required"] == 90


def _criteria(app):
    from workflow.rubrics import spec

    return spec(app.rubric_id).criteria


def test_same_version_with_other_content_is_refused(world):
    changed = stricter("KHVN-244-2022")
    with pytest.raises(DataError, match="new version"):
        load_rubric(changed)


def test_reloading_the_same_file_is_a_no_op(world):
    definition = json.loads((DATA_DIR / "rubric_cdht_2023.json").read_text(encoding="utf-8"))  # the default (QĐ 324)
    assert load_rubric(definition).id == world.cdht.rubric_id
