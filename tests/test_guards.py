"""Each guard refuses with its own reason, in Vietnamese and English, and writes nothing."""
from datetime import date

import pytest

from workflow import engine, operations
from workflow.db import db
from workflow.errors import GuardRefused, NotAuthorized, NotFound
from workflow.models import Application, Score

from .factories import add_all_evidence, cdht_at, score_all, to_scoring
from .test_engine_flow import refused

TEN = [f"{g}.{i}" for g, n in ((1, 4), (2, 4), (3, 2)) for i in range(1, n + 1)]


def scored(world, values, commune=0):
    """A CDHT file at branch_scoring with the given scores (all ten criteria)."""
    app = world.new_cdht(commune)
    to_scoring(app, world.officer(commune))
    score_all(app, world.officer(commune), values)
    db.session.commit()
    return app


def test_missing_evidence_names_the_criteria(world):
    app = world.new_cdht()
    officer = world.officer()
    operations.add_evidence(app, officer, criterion_code="1.1", original_name="a.pdf", size=3, sha256="0" * 64,
                            media_type="application/pdf")
    db.session.commit()
    err = refused(app, "submit", officer, GuardRefused)
    assert err.code == "evidence_missing" and "1.2" in err.params["criteria"] and "1.1" not in err.params["criteria"]
    assert "Thiếu minh chứng" in err.message("vi") and "Evidence missing" in err.message("en")


@pytest.mark.parametrize("value", [11, -1, 2.5, True])
def test_score_out_of_bounds_is_refused_and_nothing_stored(world, value):
    app = world.new_cdht()
    to_scoring(app, world.officer())
    db.session.commit()
    version = app.version
    with pytest.raises(GuardRefused) as exc:
        operations.set_scores(app, world.officer(), {"1.1": value})
    db.session.rollback()
    assert exc.value.code == "score_out_of_range"
    assert Score.query.filter_by(application_id=app.id).count() == 0
    assert db.session.get(Application, app.id).version == version


def test_unknown_criterion_refused(world):
    app = world.new_cdht()
    to_scoring(app, world.officer())
    with pytest.raises(GuardRefused) as exc:
        operations.set_scores(app, world.officer(), {"9.9": 5})
    assert exc.value.code == "unknown_criterion"


def test_total_under_80_refused(world):
    app = scored(world, dict.fromkeys(TEN, 7))  # 70
    err = refused(app, "submit", world.officer(), GuardRefused)
    assert err.code == "total_below_pass" and err.params == {"total": 70, "required": 80}


def test_total_85_with_one_indicator_at_4_refused(world):
    values = dict.fromkeys(TEN, 9) | {"3.2": 4}  # 9*9 + 4 = 85
    app = scored(world, values)
    assert app.score_total == 85
    err = refused(app, "submit", world.officer(), GuardRefused)
    assert err.code == "indicator_below_min" and err.params["lowest"] == 4


def test_total_72_passes_only_in_a_disadvantaged_area(world):
    values = dict.fromkeys(TEN, 7) | {"1.1": 9}  # 72
    ordinary = scored(world, values, commune=0)
    err = refused(ordinary, "submit", world.officer(0), GuardRefused)
    assert err.code == "total_below_pass" and err.params["required"] == 80
    hard = scored(world, values, commune=1)  # Xã Yên Lư is classed disadvantaged
    assert hard.unit.area_class == "disadvantaged"  # the branch inherits its commune's class
    outcome = engine.fire(hard, "submit", world.officer(1))
    assert outcome.to_state == "commune_appraisal"


def test_reclassifying_a_commune_carries_to_its_branches(world):
    from workflow.loader import set_area_class

    values = dict.fromkeys(TEN, 7) | {"1.1": 9}  # 72
    app = scored(world, values, commune=0)
    set_area_class(world.communes[0], "disadvantaged")
    db.session.commit()
    db.session.refresh(app)
    assert engine.fire(app, "submit", world.officer(0)).to_state == "commune_appraisal"


def test_incomplete_scores_refused(world):
    app = scored(world, dict.fromkeys(TEN[:9], 10))
    err = refused(app, "submit", world.officer(), GuardRefused)
    assert err.code == "scores_incomplete" and err.params == {"scored": 9, "required": 10}


def test_second_application_for_same_citizen_from_another_commune(world):
    world.new_cdht(0, citizen_id="027190001234")
    db.session.commit()
    with pytest.raises(GuardRefused) as exc:
        world.new_cdht(1, citizen_id="027190001234")
    assert exc.value.code == "duplicate_subject"
    assert "027190001234" in exc.value.message("vi")
    db.session.rollback()
    assert Application.query.filter_by(citizen_id="027190001234").count() == 1


def test_withdrawn_application_frees_the_citizen_id(world):
    first = world.new_cdht(0, citizen_id="027190005555")
    db.session.commit()
    engine.fire(first, "withdraw", world.officer(0), reason="Trùng hồ sơ")
    db.session.commit()
    second = world.new_cdht(1, citizen_id="027190005555")
    db.session.commit()
    assert second.state == "evidence_collection"


def test_database_refuses_a_duplicate_the_check_missed(world):
    """The partial unique index is the last line: a racing twin is refused by the database itself."""
    world.new_cdht(0, citizen_id="027190007777")
    db.session.commit()
    twin = Application(campaign_id=world.cdht.id, rubric_id=world.cdht.rubric_id, unit_id=world.branch(1).id,
                       subject_key="027190007777", full_name="X", citizen_id="027190007777")
    db.session.add(twin)
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("action", ["return", "reject"])
def test_return_and_reject_need_a_reason(world, action):
    app = cdht_at(world, "commune_appraisal")
    for blank in (None, "", "   "):
        err = refused(app, action, world.appraiser(), GuardRefused, reason=blank)
        assert err.code == "reason_required"


def test_revoke_needs_a_reason(world):
    app = cdht_at(world, "recognised")
    assert refused(app, "revoke", world.approver, GuardRefused).code == "reason_required"


def test_actor_outside_the_subtree_gets_not_found(world):
    app = cdht_at(world, "commune_appraisal", commune=0)
    err = refused(app, "approve", world.appraiser(1), NotFound)
    assert err.status == 404
    err = refused(app, "submit", world.officer(1), NotFound)  # a branch of the other commune


def test_wrong_role_for_the_stage(world):
    app = cdht_at(world, "commune_appraisal")
    for actor in (world.officer(), world.approver, world.auditor, world.admin):
        err = refused(app, "approve", actor, NotAuthorized)
        assert err.code == "wrong_role" and err.status == 403


def test_sibling_branch_cannot_act(world):
    app = world.new_cdht(0, 0)
    add_all_evidence(app, world.officer(0, 0))
    db.session.commit()
    refused(app, "submit", world.officer(0, 1), NotFound)


@pytest.mark.parametrize("field,kw", [
    ("citizen_id", {"citizen_id": "12345"}),
    ("citizen_id", {"citizen_id": "02719000123a"}),
    ("date_of_birth", {"date_of_birth": date(2100, 1, 1)}),
    ("full_name", {"full_name": "   "}),
    ("subject_group", {"subject_group": "9"}),
])
def test_bad_person_fields_refused_and_nothing_stored(world, field, kw):
    with pytest.raises(GuardRefused) as exc:
        world.new_cdht(**kw)
    db.session.rollback()
    assert exc.value.code == "invalid_field" and exc.value.params["field"] == field
    assert Application.query.count() == 0


def test_names_are_stored_nfc_and_folded(world):
    decomposed = "Nguye\u0302\u0303n Văn Đức"  # NFD input, as some keyboards send it
    app = world.new_cdht(full_name=decomposed)
    db.session.commit()
    assert app.full_name == "Nguyễn Văn Đức" and app.full_name_folded == "nguyen van duc"


def test_branch_officer_cannot_create_in_another_commune(world):
    with pytest.raises(NotAuthorized) as exc:
        operations.create_application(world.cdht, world.branch(1), world.officer(0), full_name="A",
                                      date_of_birth=date(1990, 1, 1), citizen_id="027190009999",
                                      subject_group="1")
    assert exc.value.code == "outside_scope"


def test_appraiser_adjusts_a_score_only_with_a_reason(world):
    app = cdht_at(world, "commune_appraisal")
    with pytest.raises(GuardRefused):
        operations.set_scores(app, world.appraiser(), {"1.1": 5})
    operations.set_scores(app, world.appraiser(), {"1.1": 5}, reason="Minh chứng 1.1 chỉ một phần")
    db.session.commit()
    assert app.score_total == 9 * 9 + 5
    with pytest.raises(NotFound):
        operations.set_scores(app, world.appraiser(1), {"1.1": 6}, reason="x")


def test_xht_level_one_refuses_level_two_indicators(world):
    app = world.new_xht(level=1)
    with pytest.raises(GuardRefused) as exc:
        operations.add_evidence(app, world.appraiser(), criterion_code="4.1b", original_name="x.pdf", size=1,
                                sha256="0" * 64, media_type="application/pdf")
    assert exc.value.code == "unknown_criterion"
    from .factories import xht_level1_history

    xht_level1_history(world, commune=1)  # level 2 requires level 1 at least 12 months before (issue 12)
    level2 = world.new_xht(commune=1, level=2)
    operations.add_evidence(level2, world.appraiser(1), criterion_code="4.1b", original_name="x.pdf", size=1,
                            sha256="0" * 64, media_type="application/pdf")


def test_a_unit_of_another_province_cannot_file_into_the_campaign(world):
    from workflow.loader import add_unit

    from .factories import make_user

    other = add_unit("P9", "Tỉnh Khác", "province")
    commune = add_unit("P9C", "Xã Khác", "commune", other)
    branch = add_unit("P9B", "Chi hội khác", "branch", commune)
    officer = make_user("branch_officer", branch)
    with pytest.raises(GuardRefused) as exc:
        operations.create_application(world.cdht, branch, officer, full_name="A", date_of_birth=date(1990, 1, 1),
                                      citizen_id="027190008888", subject_group="1")
    assert exc.value.code == "unit_outside_campaign"
