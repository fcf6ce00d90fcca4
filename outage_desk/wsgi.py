"""WSGI entry point (gunicorn outage_desk.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_desk.settings")
application = get_wsgi_application()
