"""Personas shared by every test: clerks of two branches, a supervisor, a lead, finance."""

import logging

import pytest

from outage_desk.roles import Role, roles_sync
from tests import log_guard
from tests.factories import BranchFactory, UserFactory


def pytest_sessionstart(session):
    logging.getLogger().addHandler(log_guard.KEEPER)
    # factory_boy's debug lines describe test data, and aiosmtpd's are the test SMTP
    # server's: neither is application logging.
    logging.getLogger("factory").setLevel(logging.INFO)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger().setLevel(logging.DEBUG)


def pytest_sessionfinish(session, exitstatus):
    logging.getLogger().removeHandler(log_guard.KEEPER)
    found = log_guard.leaks()
    if found:
        print("\nSensitive values were logged:\n  " + "\n  ".join(found[:20]))
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached pages never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def roles(db):
    roles_sync()


@pytest.fixture
def branch(db):
    return BranchFactory(code="HQ", name="Head office")


@pytest.fixture
def other_branch(db):
    return BranchFactory(
        code="NORTH", name="North", timezone="Asia/Shanghai", currency="CNY"
    )


@pytest.fixture
def clerk(roles, branch):
    return UserFactory(username="alice", branch=branch, roles=[Role.CLERK])


@pytest.fixture
def supervisor(roles, branch):
    return UserFactory(username="bob", branch=branch, roles=[Role.SUPERVISOR])


@pytest.fixture
def outsider(roles, other_branch):
    """A clerk of another branch: must never see the first branch's data."""
    return UserFactory(username="charlie", branch=other_branch, roles=[Role.CLERK])


@pytest.fixture
def lead(roles):
    return UserFactory(
        username="dana", branch=None, roles=[Role.INCIDENT_LEAD], is_staff=True
    )


@pytest.fixture
def finance(roles):
    return UserFactory(username="erin", branch=None, roles=[Role.FINANCE])


@pytest.fixture
def finance2(roles):
    return UserFactory(username="frank", branch=None, roles=[Role.FINANCE])


@pytest.fixture
def admin_user(roles):
    return UserFactory(
        username="root",
        branch=None,
        roles=[Role.ADMIN],
        is_staff=True,
        is_superuser=True,
    )
