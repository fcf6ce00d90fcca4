"""Impact API fixtures: the known outage with its review, and token clients."""

import pytest
from rest_framework.test import APIClient

from incidents.models import Review
from outage_desk.tokens import api_token_create
from tests.impact.data import known_outage


@pytest.fixture
def outage(roles):
    incident, _people = known_outage()
    return incident


@pytest.fixture
def reviewed(outage):
    """The known outage with its (empty) review prepared."""
    Review.objects.create(incident=outage)
    return outage


@pytest.fixture
def api_as(request):
    """api_as("lead"): an APIClient with a real token of that persona."""

    def make(persona: str) -> APIClient:
        user = request.getfixturevalue(persona)
        _token, key = api_token_create(user=user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make
