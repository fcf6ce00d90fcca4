"""The main staff pages load in Chromium under the strict CSP without one violation."""

from decimal import Decimal

import pytest

from outage_desk.roles import Role
from tests.browser.conftest import browser, login, make_page  # noqa: F401
from tests.factories import UserFactory
from tests.security_support import branch_world, capture, open_incident

pytestmark = pytest.mark.django_db(transaction=True)

# Records every violation the page reports, whatever caused it.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def site(db):
    world = branch_world("HQ")
    incident = open_incident()
    deposit = capture(world=world, incident=incident, amount=Decimal("12.00"))
    big = capture(world=world, incident=incident, amount=Decimal("5000.00"))
    UserFactory(username="dana", branch=None, roles=[Role.INCIDENT_LEAD], is_staff=True)
    UserFactory(username="erin", branch=None, roles=[Role.FINANCE])
    UserFactory(
        username="root",
        branch=None,
        roles=[Role.ADMIN],
        is_staff=True,
        is_superuser=True,
    )
    common = [
        "/",
        "/incidents/",
        f"/incidents/{incident.reference}/",
        "/account/tokens/",
    ]
    return {
        world.clerk.username: [
            *common,
            "/deposits/",
            f"/deposits/{deposit.pk}/",
            f"/deposits/{deposit.pk}/receipt/",
        ],
        world.supervisor.username: [
            *common,
            "/deposits/supervision/",
            f"/deposits/{big.pk}/",
        ],
        "dana": [*common, "/incidents/my-roles/", "/notices/templates/"],
        "erin": [*common],
        "root": [*common, "/admin/", "/notices/templates/", "/api/v1/docs/"],
    }


def test_staff_pages_raise_no_csp_violation_for_any_role(make_page, site):  # noqa: F811
    visited, problems = 0, []
    for username, urls in site.items():
        page = make_page()
        page.add_init_script(WATCH)
        login(page, username)
        for url in urls:
            response = page.goto(page.base_url + url)
            page.wait_for_load_state("networkidle")
            assert response is not None and response.status == 200, (username, url)
            assert "object-src 'none'" in response.headers["content-security-policy"]
            violations = page.evaluate("window.__csp")
            console = [e for e in page.problems.errors if "Content Security" in e]
            if violations or console:
                problems.append((username, url, violations, console))
            visited += 1

    assert problems == []
    assert visited == sum(len(u) for u in site.values())
