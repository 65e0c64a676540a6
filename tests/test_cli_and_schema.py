"""The CLI of issue 2 and the schema gate: migrations and models agree."""
import json

from workflow.vocabulary import ROLES


def test_models_and_migrations_agree(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_demo_seed_users_and_idempotence(runner):
    first = runner.invoke(args=["demo", "seed", "--password", "mật-khẩu-demo"])
    assert first.exit_code == 0 and "recognised=" in first.output
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "already" in again.output
    users = json.loads(runner.invoke(args=["demo", "users", "--json"]).output)
    roles = {u["role"] for u in users}
    assert roles == set(ROLES) - {"district_approver"}  # a two-tier province has no district
    assert {"username", "role", "unit"} <= set(users[0])
    assert sum(u["role"] == "branch_officer" for u in users) == 6
    assert sum(u["role"] == "commune_appraiser" for u in users) == 3


def test_demo_password_works(runner):
    from workflow.db import db
    from workflow.models import User
    from workflow.passwords import check_password

    runner.invoke(args=["demo", "seed", "--password", "mật-khẩu-demo"])
    user = db.session.scalar(db.select(User).filter_by(username="xa1.thamdinh"))
    assert check_password(user.password_hash, "mật-khẩu-demo")
    assert not check_password(user.password_hash, "wrong")


def test_demo_has_every_state(runner):
    from sqlalchemy import select

    from workflow.db import db
    from workflow.models import Application

    runner.invoke(args=["demo", "seed"])
    states = set(db.session.scalars(select(Application.state).distinct()))
    assert {"evidence_collection", "branch_scoring", "commune_appraisal", "final_approval", "recognised",
            "rejected", "withdrawn", "revoked", "self_assessment", "upper_appraisal"} <= states


def test_diagram_is_drawn_from_the_machine(runner):
    out = runner.invoke(args=["workflow", "diagram", "CDHT"]).output
    assert "stateDiagram-v2" in out
    assert "commune_appraisal --> final_approval: approve" in out
    assert "commune_appraisal --> branch_scoring: return" in out
    assert "recognised --> revoked: revoke" in out
    xht = runner.invoke(args=["workflow", "diagram", "xht"]).output
    assert "self_assessment --> upper_appraisal: submit" in xht
    bad = runner.invoke(args=["workflow", "diagram", "NOPE"])
    assert bad.exit_code != 0
