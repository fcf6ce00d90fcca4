from outage_desk.models import ApiToken, AuditEvent
from outage_desk.tokens import ERROR_TOKEN_NAME_REQUIRED, api_token_create, token_hash


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def test_a_token_is_shown_once_and_only_its_hash_is_stored(client, clerk):
    client.force_login(clerk)

    response = client.post("/account/tokens/", {"name": "call centre"})

    assert response.status_code == 200
    key = response.context["new_key"]
    token = ApiToken.objects.get()
    assert token.key_hash == token_hash(key)
    assert key not in str(ApiToken.objects.values().get())
    assert key.encode() in response.content
    assert key.encode() not in client.get("/account/tokens/").content
    assert AuditEvent.objects.filter(action="api_token.created").count() == 1


def test_a_token_without_a_name_is_refused_and_nothing_is_created(client, clerk):
    client.force_login(clerk)

    response = client.post("/account/tokens/", {"name": "  "})

    assert response.status_code == 400
    assert str(ERROR_TOKEN_NAME_REQUIRED) in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_a_revoked_token_no_longer_authenticates(client, clerk):
    token, key = api_token_create(user=clerk, name="teller")
    assert client.get("/api/v1/me/", headers=auth(key)).status_code == 200

    client.force_login(clerk)
    response = client.post(f"/account/tokens/{token.pk}/revoke/")
    client.logout()

    assert response.status_code == 302
    refused = client.get("/api/v1/me/", headers=auth(key))
    assert refused.status_code == 401
    assert refused.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Invalid or revoked token.",
        }
    }


def test_a_user_cannot_revoke_someone_elses_token(client, clerk, outsider):
    token, _key = api_token_create(user=clerk, name="teller")
    client.force_login(outsider)

    page = client.post(f"/account/tokens/{token.pk}/revoke/")
    api = client.delete(f"/api/v1/tokens/{token.pk}/")

    assert page.status_code == 404
    assert api.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_through_the_api(client, clerk):
    _token, key = api_token_create(user=clerk, name="bootstrap")

    created = client.post(
        "/api/v1/tokens/",
        {"name": "second"},
        content_type="application/json",
        headers=auth(key),
    )
    listed = client.get("/api/v1/tokens/", headers=auth(key))
    revoked = client.delete(
        f"/api/v1/tokens/{created.json()['id']}/", headers=auth(key)
    )

    assert created.status_code == 201
    assert created.json()["key"].startswith("od_")
    assert listed.json()["count"] == 2
    assert [t["name"] for t in listed.json()["results"]] == ["second", "bootstrap"]
    assert "key" not in listed.json()["results"][0]
    assert revoked.status_code == 204
    assert (
        client.get("/api/v1/me/", headers=auth(created.json()["key"])).status_code
        == 401
    )


def test_requests_are_rate_limited_per_token(client, clerk, monkeypatch):
    from outage_desk.api.throttling import PerTokenRateThrottle

    # THROTTLE_RATES is read from the settings once, at import; patch the class.
    monkeypatch.setattr(PerTokenRateThrottle, "THROTTLE_RATES", {"token": "3/minute"})
    _t1, first = api_token_create(user=clerk, name="one")
    _t2, second = api_token_create(user=clerk, name="two")

    codes = [
        client.get("/api/v1/me/", headers=auth(first)).status_code for _ in range(4)
    ]
    other = client.get("/api/v1/me/", headers=auth(second)).status_code

    assert codes == [200, 200, 200, 429]
    assert other == 200
