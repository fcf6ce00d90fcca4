"""Test settings: the same env-driven settings with fast, isolated overrides."""

import hashlib
import os
import tempfile
from pathlib import Path

os.environ.setdefault("ENV_FILE", "")  # tests never read a developer's .env
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# One scratch folder per checkout, so two checkouts' test runs never share a queue.
_checkout = hashlib.sha256(
    str(Path(__file__).resolve().parent.parent).encode()
).hexdigest()
os.environ.setdefault(
    "OUTAGE_DESK_VAR_DIR",
    str(Path(tempfile.gettempdir()) / f"outage-desk-test-{_checkout[:8]}"),
)

from .settings import *  # noqa: F403
from .settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Every commit nudges at once, so tests see their nudge without waiting.
NOTICE_NUDGE_MIN_INTERVAL = 0.0
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
