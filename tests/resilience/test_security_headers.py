"""Production settings pass `check --deploy`; every HTML page carries CSP, HSTS, nosniff."""

import json
import os
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client

from tests.security_support import branch_world, capture, open_incident

ROOT = Path(__file__).resolve().parents[2]
KEEP = ("PATH", "HOME", "LANG", "PYTHONPATH")
PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "desk.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "BEHIND_PROXY": "true",
    "CACHE_URL": "locmemcache://",
}
PAGES = [
    "/",
    "/login/",
    "/account/tokens/",
    "/incidents/",
    "/incidents/my-roles/",
    "/deposits/",
    "/deposits/supervision/",
    "/status/",
    "/notices/templates/",
    "/notices/log/",
    "/api/v1/docs/",
]


def production_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in KEEP}
    env.update(
        PRODUCTION,
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="outage_desk.settings",
        ENV_FILE="",
        OUTAGE_DESK_VAR_DIR=str(tmp_path),
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = production_run(
        tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_hold_the_header_policy(tmp_path):
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'hsts': settings.SECURE_HSTS_SECONDS, "
        "'sub': settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "'nosniff': settings.SECURE_CONTENT_TYPE_NOSNIFF, "
        "'csp': settings.CONTENT_SECURITY_POLICY['DIRECTIVES'], "
        "'cookies': [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE]}))"
    )

    result = production_run(tmp_path, "-c", probe)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["hsts"] == 31536000 and values["sub"] and values["nosniff"]
    assert values["cookies"] == [True, True]
    assert values["csp"]["object-src"] == ["'none'"]
    assert values["csp"]["base-uri"] == ["'none'"]
    assert values["csp"]["frame-ancestors"] == ["'none'"]


@pytest.fixture
def production(settings):
    """The production security settings, in process, for the test client."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def assert_headers(url: str, response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in csp.split(";") if part
    )
    assert directives.get("object-src") == "'none'", url
    assert directives.get("base-uri") == "'none'", url
    assert directives.get("frame-ancestors") == "'none'", url
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, url
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    ), url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url


@pytest.mark.parametrize(
    "persona", ["anonymous", "clerk", "supervisor", "lead", "finance", "admin"]
)
def test_every_html_page_carries_the_security_headers(db, production, persona):
    from outage_desk.roles import Role
    from tests.factories import UserFactory

    world = branch_world("HQ")
    incident = open_incident()
    deposit = capture(world=world, incident=incident, amount=Decimal("12.00"))
    users = {
        "clerk": world.clerk,
        "supervisor": world.supervisor,
        "lead": UserFactory(username="dana", roles=[Role.INCIDENT_LEAD], is_staff=True),
        "finance": UserFactory(username="erin", roles=[Role.FINANCE]),
        "admin": UserFactory(
            username="root", roles=[Role.ADMIN], is_staff=True, is_superuser=True
        ),
    }
    client = Client(HTTP_HOST="127.0.0.1")
    if persona != "anonymous":
        client.force_login(users[persona])
    pages = [
        *PAGES,
        f"/incidents/{incident.reference}/",
        f"/deposits/{deposit.pk}/",
        f"/deposits/{deposit.pk}/receipt/",
        "/admin/",
    ]
    html = 0
    for url in pages:
        response = client.get(url, secure=True)
        if response.headers.get("Content-Type", "").startswith("text/html"):
            assert_headers(url, response)
            html += 1
        else:
            assert response.headers["X-Content-Type-Options"] == "nosniff", url

    assert html >= 3


def test_plain_http_is_redirected_to_https(db, production):
    response = Client(HTTP_HOST="127.0.0.1").get("/login/")

    assert (response.status_code, response["Location"]) == (
        301,
        "https://127.0.0.1/login/",
    )
