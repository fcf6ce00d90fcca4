import re

import pytest

from outage_desk.navigation import nav_for_user


def nav_labels(html: str) -> list[str]:
    nav = html.split('<ul class="navbar-nav me-auto', 1)[1].split("</ul>", 1)[0]
    return [label.strip() for label in re.findall(r'href="[^"]*">([^<]+)</a>', nav)]


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_the_login_flow_logs_in_and_out(client, clerk):
    page = client.get("/login/")
    assert page.status_code == 200
    assert b"Log in to Outage Desk" in page.content

    bad = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200
    assert b"Please enter a correct username and password" in bad.content

    good = client.post("/login/", {"username": "alice", "password": "pw"})
    assert good.status_code == 302
    assert good["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"alice" in home.content

    out = client.post("/logout/")
    assert out.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("clerk", ["Home", "Incidents", "Capture", "Status page", "API tokens"]),
        (
            "supervisor",
            [
                "Home",
                "Incidents",
                "Capture",
                "Supervision",
                "Status page",
                "API tokens",
            ],
        ),
        (
            "lead",
            [
                "Home",
                "Incidents",
                "Status page",
                "Templates",
                "Delivery log",
                "API tokens",
                "Admin",
            ],
        ),
        (
            "finance",
            ["Home", "Incidents", "Reconciliation", "Status page", "API tokens"],
        ),
        (
            "admin_user",
            [
                "Home",
                "Incidents",
                "Capture",
                "Supervision",
                "Reconciliation",
                "Status page",
                "Templates",
                "Delivery log",
                "API tokens",
                "Admin",
            ],
        ),
    ],
)
def test_each_role_sees_its_own_navigation(client, request, persona, expected):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 200
    assert nav_labels(response.content.decode()) == expected
    assert [str(item["label"]) for item in nav_for_user(user)] == expected


def test_a_user_without_a_role_sees_only_home_and_status(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="norole"))

    response = client.get("/")

    assert nav_labels(response.content.decode()) == [
        "Home",
        "Status page",
        "API tokens",
    ]
    assert client.get("/incidents/").status_code == 403


def test_the_language_switcher_serves_simplified_chinese(client, clerk):
    client.force_login(clerk)

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert nav_labels(html) == ["首页", "事件", "存款录入", "状态页", "API 令牌"]
