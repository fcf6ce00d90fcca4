import pytest
from django.db import connection
from django.db.models import Q

from deposits.models import Customer
from deposits.selectors import customer_search
from tests.factories import CustomerFactory


def test_an_exact_account_comes_first_and_short_queries_find_nothing(branch, clerk):
    CustomerFactory(account="GB1234", name="Zed GB1234 holder", branch=branch)
    CustomerFactory(account="GB12345", name="Alpha", branch=branch)

    assert [c.account for c in customer_search(user=clerk, query="GB12345")] == [
        "GB12345"
    ]
    assert [c.account for c in customer_search(user=clerk, query="gb1234")] == [
        "GB1234",
        "GB12345",
    ]
    assert customer_search(user=clerk, query="GB") == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL only"
)
def test_the_search_uses_the_trigram_indexes(branch):
    CustomerFactory.create_batch(5, branch=branch)
    query = Q(account__icontains="smith") | Q(name__icontains="smith")
    query |= Q(phone__icontains="smith")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Customer.objects.filter(query).order_by().explain()

    assert "deposits_customer_name_trgm" in plan
    assert "deposits_customer_account_trgm" in plan
    assert "deposits_customer_phone_trgm" in plan


def test_a_clerk_finds_another_branchs_customer_only_by_full_account(
    branch, other_branch, clerk
):
    CustomerFactory(account="CN7777000", name="Far Away", branch=other_branch)
    CustomerFactory(account="CN7777001", name="Near By", branch=branch)

    assert [c.name for c in customer_search(user=clerk, query="7777")] == ["Near By"]
    assert customer_search(user=clerk, query="Far Aw") == []
    assert [c.name for c in customer_search(user=clerk, query="cn7777000")] == [
        "Far Away"
    ]
