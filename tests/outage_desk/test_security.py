import logging

import pytest
from axes.models import AccessAttempt

from tests.log_guard import sensitive

LOGIN = "/login/"


def attempt(client, ip: str, password: str):
    return client.post(
        LOGIN, {"username": "alice", "password": password}, REMOTE_ADDR=ip
    )


def test_twenty_bad_passwords_lock_out_that_user_from_that_ip_only(client, clerk, db):
    # given: 20 failures from one address
    for _ in range(20):
        attempt(client, "10.0.0.1", "wrong")

    # when
    same_ip = attempt(client, "10.0.0.1", "pw")
    other_ip = attempt(client, "10.0.0.2", "pw")

    # then
    assert same_ip.status_code == 429
    assert b"Too many failed logins" in same_ip.content
    assert other_ip.status_code == 302
    # Attempts are kept in the database, so no cache outage can forget them; the
    # refused 21st try counts too.
    assert AccessAttempt.objects.get(ip_address="10.0.0.1").failures_since_start == 21


def test_nineteen_bad_passwords_do_not_lock_out(client, clerk):
    for _ in range(19):
        attempt(client, "10.0.0.1", "wrong")

    assert attempt(client, "10.0.0.1", "pw").status_code == 302


def test_logins_failures_and_denials_are_logged_with_user_and_request_id(
    client, clerk, caplog
):
    caplog.set_level(logging.INFO, logger="outage_desk.security")

    sensitive("not-the-password")
    attempt(client, "10.0.0.9", "not-the-password")
    ok = attempt(client, "10.0.0.9", "pw")
    denied = client.get("/admin/auth/group/")  # clerks are not staff: redirected
    api_denied = client.get("/api/v1/me/", headers={"X-Request-ID": "req-12345678"})

    messages = [r.getMessage() for r in caplog.records]
    assert "login failed user=alice ip=10.0.0.9" in messages
    assert "login user=alice ip=10.0.0.9" in messages
    assert ok["X-Request-ID"]
    assert denied.status_code == 302
    assert api_denied.status_code == 200
    assert all("not-the-password" not in m for m in messages)


@pytest.mark.django_db
def test_permission_denials_are_logged(client, caplog):
    caplog.set_level(logging.WARNING, logger="outage_desk.security")

    response = client.get("/api/v1/me/", headers={"X-Request-ID": "req-12345678"})

    assert response.status_code == 401
    assert response["X-Request-ID"] == "req-12345678"
    record = next(r for r in caplog.records if r.name == "outage_desk.security")
    assert record.getMessage() == (
        "permission denied user=anonymous method=GET path=/api/v1/me/ status=401"
    )


@pytest.mark.django_db
def test_html_responses_carry_the_security_headers(client):
    response = client.get("/login/")

    csp = response["Content-Security-Policy"]
    assert "object-src 'none'" in csp
    assert "base-uri 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
