"""Settings for the capture benchmark: the real settings plus a floor view's URL."""

from outage_desk.settings import *  # noqa: F403

ROOT_URLCONF = "bench.deposits_urls"
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
# The rate limiter still runs on every request, at a rate the load never reaches.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"token": "1000000/minute"},
}
# Connections live for the whole run: one recycled mid-phase (CONN_MAX_AGE) takes
# its backend's CPU with it, and the phase's database CPU would read too low.
DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
