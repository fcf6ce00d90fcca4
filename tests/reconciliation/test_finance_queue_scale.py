"""The queue with 10,000 open items: the same queries as with five.

Its speed is measured by bench/ (see bench/README.md), not asserted here.
"""

import pytest

from bench.reconciliation_queue_seed import seed

pytestmark = pytest.mark.django_db


def test_the_queue_with_10000_items_keeps_its_query_count(
    client, finance, django_assert_num_queries
):
    incident = seed(items=10_000)
    client.force_login(finance)
    url = f"/reconciliation/{incident.reference}/queue/"
    client.get(url)
    for query in (
        "",
        "?sort=-amount",
        "?kind=amount_mismatch&amount_min=5&age_min=2",
        "?page=120",
    ):
        with django_assert_num_queries(15):
            response = client.get(url + query)
        assert response.status_code == 200
    assert response.context["page"].number == 120
