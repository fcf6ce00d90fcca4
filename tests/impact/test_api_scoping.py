"""Clerks and supervisors (of any branch) reach nothing of the impact API: every
impact URL, every method, answers 403 and changes nothing."""

import pytest
from django.urls import get_resolver

from incidents.models import ActionItem, CompensationOffer, CompensationRule, Review
from tests.impact.api_support import REF, impact_state

pytestmark = pytest.mark.django_db


def impact_routes():
    """Every route of impact.api.urls, as /api/v1/impact/..."""
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    impact = next(p for p in api.url_patterns if str(p.pattern) == "impact/")
    return [str(p.pattern) for p in impact.url_patterns]


@pytest.mark.parametrize("persona", ["clerk", "supervisor", "outsider"])
def test_no_impact_url_answers_a_branch_clerk(api_as, outage, lead, persona):
    review = Review.objects.create(incident=outage, root_cause="Cert")
    item = ActionItem.objects.create(
        review=review, kind="detective", title="x", owner=lead, due_on="2026-12-01"
    )
    pk = {
        "compensation-rules/<int:pk>/": CompensationRule.objects.get().pk,
        "<str:reference>/review/actions/<int:pk>/done/": item.pk,
        "<str:reference>/offers/<int:pk>/advance/": CompensationOffer.objects.first().pk,
    }
    api = api_as(persona)
    before = impact_state()
    answers = []
    routes = impact_routes()
    assert len(routes) == 14
    for route in routes:
        url = "/api/v1/impact/" + route.replace("<str:reference>", REF).replace(
            "<int:pk>", str(pk.get(route, 0))
        )
        for method in ("get", "post", "patch", "delete"):
            response = getattr(api, method)(url, {}, format="json")
            text = response.content.decode(errors="replace")
            answers.append((method, url, response.status_code, "A1" in text))
    assert {(code, leaked) for _m, _u, code, leaked in answers} <= {
        (403, False),
        (405, False),
    }
    assert sum(code == 403 for _m, _u, code, _l in answers) >= 15
    assert impact_state() == before
