"""Settings for the worker process the integration tests start: real SMTP to the test
server on 127.0.0.1 (the port comes from the environment), otherwise test settings."""

import os

from outage_desk.settings_test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("NOTICE_TEST_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
