"""Login lockouts live in the database: they hold with the cache server down."""

import socket

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache

# A port of this project's range where nothing listens: a Redis that is down.
DEAD_REDIS = "redis://127.0.0.1:8231/0"


def port_is_closed(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) != 0


@pytest.fixture
def dead_cache(settings):
    assert port_is_closed(DEAD_REDIS)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
        }
    }
    with pytest.raises(Exception, match=r"(?i)connect"):
        cache.set("probe", 1)


def attempt(client, ip: str, password: str):
    return client.post(
        "/login/", {"username": "alice", "password": password}, REMOTE_ADDR=ip
    )


def test_lockout_holds_with_the_cache_server_down(client, clerk, dead_cache):
    statuses = [attempt(client, "10.0.0.1", "wrong").status_code for _ in range(20)]

    locked = attempt(client, "10.0.0.1", "pw")
    other_ip = attempt(client, "10.0.0.2", "pw")

    assert statuses == [200] * 19 + [429]  # the 20th failure locks
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert other_ip.status_code == 302
    assert AccessAttempt.objects.get(ip_address="10.0.0.1").failures_since_start == 21


def test_a_lockout_made_before_the_outage_survives_it(client, clerk, settings):
    for _ in range(20):
        attempt(client, "10.0.0.3", "wrong")
    assert attempt(client, "10.0.0.3", "pw").status_code == 429
    cache.clear()  # whatever the cache held is gone, as after a Redis restart

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
        }
    }

    assert attempt(client, "10.0.0.3", "pw").status_code == 429
