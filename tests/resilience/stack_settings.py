"""Settings for the gunicorn and Celery processes the resilience tests start.

The test settings, plus what the environment of each test gives: the database and
broker (private ones when the test stops them), the local SMTP server, a short claim
lease and a relay every few seconds, so a test of minutes sees what production sees
in hours.
"""

import os

from outage_desk.settings_test import *  # noqa: F403

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("RESILIENCE_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
EMAIL_TIMEOUT = int(os.environ.get("RESILIENCE_EMAIL_TIMEOUT", "10"))
NOTICE_CLAIM_LEASE_SECONDS = int(os.environ.get("RESILIENCE_CLAIM_LEASE", "5"))
NOTICE_RETRY_BASE_SECONDS = int(os.environ.get("RESILIENCE_RETRY_BASE", "1"))
NOTICE_RETRY_MAX_SECONDS = 5
NOTICE_MAX_ATTEMPTS = int(os.environ.get("RESILIENCE_MAX_ATTEMPTS", "8"))
NOTICE_FAILURE_ALERT_EMAILS = ["ops@example.com"]
TASK_FAILURE_ALERT_EMAILS = ["ops@example.com"]
# Only the relay, every few seconds, on the test's own queue.
CELERY_BEAT_SCHEDULE = {
    "notifications-relay": {
        "task": "notifications.relay",
        "schedule": float(os.environ.get("RESILIENCE_RELAY_SECONDS", "3")),
        "options": {"queue": NOTICE_TASK_QUEUE, "expires": 60},  # noqa: F405
    }
}
# Quiet processes: a killed worker's traceback is expected here.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
}
# Redis hands out again a message unacknowledged past the visibility timeout only
# when a worker sweeps for such messages: by default every 10th sweep of 10 s (about
# 100 s). Every second here, so a 2 s visibility timeout shows within seconds.
if not BROKER_IS_EMBEDDED:  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS.update(  # noqa: F405
        unacked_restore_interval=1, unacked_restore_throttle=1
    )
