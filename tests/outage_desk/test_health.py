import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_healthz_answers_without_touching_anything(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


READYZ_PROBE = (
    "import django; django.setup(); from django.test import Client; "
    "r = Client(HTTP_HOST='127.0.0.1').get('/readyz'); print(r.status_code, r.content.decode())"
)


@pytest.mark.parametrize(
    "database_url",
    [
        "postgres://postgres@127.0.0.1:1/outage_desk",
        "sqlite:////nonexistent/dir/db.sqlite3",
    ],
)
def test_readyz_is_503_when_the_database_is_unreachable(database_url):
    # A fresh process whose database is not there; the app itself is unchanged.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outage_desk.settings_test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "filesystem://",
    }
    result = subprocess.run(
        [sys.executable, "-c", READYZ_PROBE],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503"
    assert json.loads(body)["problems"] == ["database: OperationalError"]


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.BROKER_IS_EMBEDDED = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["problems"] == ["broker: OperationalError"]
