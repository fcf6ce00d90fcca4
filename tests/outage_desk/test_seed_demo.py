import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from deposits.models import Branch, Customer, Deposit
from incidents.models import Component, Incident
from outage_desk.models import User
from outage_desk.roles import ROLE_PERMISSIONS


@pytest.mark.django_db
def test_seed_demo_runs_twice_without_duplicates(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Branch.objects.count(), Customer.objects.count(), User.objects.count())

    call_command("seed_demo")

    assert (
        Branch.objects.count(),
        Customer.objects.count(),
        User.objects.count(),
    ) == counts
    assert counts == (2, 5, 6)
    assert Incident.objects.count() == 1
    assert Deposit.objects.count() == 4
    assert Component.objects.count() == 4
    assert Incident.objects.get().status == Incident.Status.INVESTIGATING
    assert "clerk       clerk-demo-pass" in first
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(
        ROLE_PERMISSIONS
    )


@pytest.mark.django_db
def test_seeded_users_log_in_with_the_printed_password(client):
    call_command("seed_demo")

    response = client.post(
        "/login/", {"username": "clerk", "password": "clerk-demo-pass"}
    )

    assert response.status_code == 302
    assert User.objects.get(username="clerk").branch.code == "HQ"
    assert User.objects.get(username="clerk").groups.get().name == "Branch clerk"
