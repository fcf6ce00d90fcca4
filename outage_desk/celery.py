"""The Celery app: configured from Django settings (CELERY_* names), JSON only."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_desk.settings")

# Every task counts its deliveries and fails for good past TASK_MAX_ATTEMPTS.
app = Celery("outage_desk", task_cls="outage_desk.task_base:AppTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
