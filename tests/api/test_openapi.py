import pytest
from django.core.management import call_command

from outage_desk.tokens import api_token_create


def test_the_schema_generates_without_warnings(db, capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.django_db
def test_the_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_the_api_takes_session_and_token_auth(client, clerk):
    assert client.get("/api/v1/me/").status_code == 401

    _token, key = api_token_create(user=clerk, name="teller app")
    by_token = client.get("/api/v1/me/", headers={"Authorization": f"Token {key}"})
    assert by_token.status_code == 200
    assert by_token.json() == {
        "username": "alice",
        "branch": "HQ",
        "roles": ["Branch clerk"],
    }

    client.force_login(clerk)
    assert client.get("/api/v1/me/").json()["username"] == "alice"
