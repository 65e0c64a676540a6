"""Property-based checks with schemathesis, generated from the OpenAPI document: whatever a client sends within (or
just outside) the documented shapes, the server never fails with a 5xx, answers only documented status codes, and
its bodies match the documented schemas. A few examples per operation keep it quick."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from web.api.openapi import document

from .factories import cdht_at
from .test_api_support import bearer

schemathesis.experimental.OPEN_API_3_1.enable()  # the document is OpenAPI 3.1
# schemathesis 3 still calls jsonschema's deprecated RefResolver: library noise, not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def api_schema(app):
    return schemathesis.from_dict(document(), app=app)


schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.fixture
def populated(world):
    """The test world with one application at appraisal, so that generated small ids sometimes hit a real one."""
    cdht_at(world, "commune_appraisal")
    return world


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_generated_requests_get_documented_answers(case, populated):
    case.headers = {**(case.headers or {}), **bearer(populated.appraiser())}  # the check for ignored auth strips it
    response = case.call()
    case.validate_response(response)
