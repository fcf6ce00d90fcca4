"""Schemathesis against the live schema, as a clerk with a token: no 5xx, no
answer outside the schema (status codes, content types, bodies).

Each operation gets a bounded, derandomized Hypothesis run, so the test takes
well under a minute and fails the same way every time.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incidents.models import OutageRole, Review, RoleAssignment
from outage_desk.tokens import api_token_create
from outage_desk.wsgi import application
from tests.factories import CustomerFactory
from tests.impact.data import known_outage
from tests.incidents.factories import IncidentFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def wsgi_in_test_transaction(db):
    # The WSGI handler closes the connection after each request; the test's
    # transaction must survive it (Django's test client does the same).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def clerk_token(clerk, branch):
    IncidentFactory(reference="INC-2026-0001")
    CustomerFactory(account="GB00001234", name="Alice Thompson", branch=branch)
    _token, key = api_token_create(user=clerk, name="fuzz")
    return key


def test_the_api_holds_to_its_schema(wsgi_in_test_transaction, clerk_token):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    # Revoking tokens would revoke the one the run authenticates with.
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().method.upper() != "DELETE"
    ]
    headers = {"Authorization": f"Token {clerk_token}"}
    seen: list[tuple[str, int]] = []
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen.append((case.operation.label, response.status_code))

        fuzz()
    # The run reached the code behind the permission checks, not only refusals.
    assert {status for _label, status in seen} >= {200, 201, 400, 403, 404}


@pytest.fixture
def lead_token(lead, finance):
    incident, _people = known_outage()
    Review.objects.create(incident=incident)
    RoleAssignment.objects.create(
        incident=incident, role=OutageRole.COMMS_APPROVER, user=lead
    )
    _token, key = api_token_create(user=lead, name="fuzz")
    return incident.reference, key


def test_the_impact_api_holds_to_its_schema_for_the_lead(
    wsgi_in_test_transaction, lead_token
):
    """The lead passes the permission checks, so the input checks and services run:
    path references point at a restored incident with its review and offers."""
    reference, key = lead_token
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/api/v1/impact/")
        and result.ok().method.upper() != "DELETE"
    ]
    headers = {"Authorization": f"Token {key}"}
    seen: list[int] = []
    assert len(operations) > 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            if case.path_parameters and "reference" in case.path_parameters:
                case.path_parameters["reference"] = reference
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen.append(response.status_code)

        fuzz()
    assert set(seen) >= {200, 400, 404}
