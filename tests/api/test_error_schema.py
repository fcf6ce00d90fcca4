"""The schema declares the one error shape on every operation's 4xx answers."""

import pytest

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(client, db):
    return client.get("/api/v1/schema/", {"format": "json"}).json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_declares_its_errors_with_the_error_component(schema):
    checked = 0
    for label, operation in operations(schema):
        errors = {c: r for c, r in operation["responses"].items() if c.startswith("4")}
        assert {"400", "401", "403", "404", "429"} <= set(errors), label
        for code, response in errors.items():
            assert response["content"]["application/json"]["schema"] == ERROR_REF, (
                label,
                code,
            )
            checked += 1
    assert checked > 100


def test_the_error_component_names_code_message_and_fields(schema):
    error = schema["components"]["schemas"]["Error"]
    body = error["properties"]["error"]

    assert error["required"] == ["error"]
    assert body["required"] == ["code", "message"]
    assert set(body["properties"]) == {
        "code",
        "message",
        "fields",
        "conflict",
        "possible_duplicates",
    }


def test_money_moving_posts_require_the_idempotency_key(schema):
    money = {
        "POST /api/v1/deposits/",
        "POST /api/v1/deposits/import/",
        "POST /api/v1/deposits/{id}/reverse/",
        "POST /api/v1/deposits/{id}/approve/",
        "POST /api/v1/reversals/{id}/approve/",
        "POST /api/v1/reversals/{id}/reject/",
    }
    found = set()
    for label, operation in operations(schema):
        headers = {
            p["name"]: p["required"]
            for p in operation.get("parameters", [])
            if p["in"] == "header"
        }
        if label in money:
            assert headers == {"Idempotency-Key": True}, label
            assert {"409", "422"} <= set(operation["responses"]), label
            found.add(label)
    assert found == money


def test_amounts_are_strings_in_the_schema(schema):
    deposit = schema["components"]["schemas"]["Deposit"]["properties"]

    assert deposit["amount"]["type"] == "string"
