"""The main staff pages load in Chromium under the strict CSP without one violation."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from outage_desk.roles import Role
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
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


def visit_all(base_url: str, site: dict[str, list[str]]) -> tuple[int, list]:
    """Log in as each user and load each page; returns (pages, problems).

    Runs in its own thread with its own Playwright, so it never meets the browser
    journeys' session-wide Playwright in the main thread.
    """
    from playwright.sync_api import sync_playwright

    visited, problems = 0, []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for username, urls in site.items():
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(10_000)
            console: list[str] = []
            page.on(
                "console",
                lambda m, sink=console: (
                    sink.append(m.text) if m.type == "error" else None
                ),
            )
            page.add_init_script(WATCH)
            page.goto(f"{base_url}/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", "pw")
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base_url}/")
            for url in urls:
                response = page.goto(base_url + url)
                page.wait_for_load_state("load")
                page.wait_for_timeout(150)
                status = response.status if response else None
                header = (
                    response.headers.get("content-security-policy", "")
                    if response
                    else ""
                )
                violations = page.evaluate("window.__csp")
                csp_console = [e for e in console if "Content Security" in e]
                if status != 200 or "object-src 'none'" not in header:
                    problems.append((username, url, status, "no strict CSP"))
                if violations or csp_console:
                    problems.append((username, url, violations, csp_console))
                console.clear()
                visited += 1
            context.close()
        browser.close()
    return visited, problems


def test_staff_pages_raise_no_csp_violation_for_any_role(live_server, site):
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")

    with ThreadPoolExecutor(max_workers=1) as pool:
        visited, problems = pool.submit(visit_all, live_server.url, site).result()

    assert problems == []
    assert visited == sum(len(u) for u in site.values()) == 30
