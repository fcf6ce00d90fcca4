import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from kombu import Connection

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from incidents.selectors import incident_list_open, role_cards_for

    ctx = {
        "open_incidents": incident_list_open(),
        "cards": role_cards_for(user=request.user),  # type: ignore[arg-type]
    }
    return render(request, "outage_desk/home.html", ctx)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests; checks nothing else."""
    return JsonResponse({"status": "ok"})


def database_ready() -> str | None:
    """None when the default database answers a query, else the reason."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        connections["default"].close()
        return f"database: {exc.__class__.__name__}"
    return None


def broker_ready() -> str | None:
    """None when the Celery broker accepts a connection within two seconds."""
    if settings.BROKER_IS_EMBEDDED:
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        folder.mkdir(parents=True, exist_ok=True)
        return None if folder.is_dir() else "broker: queue folder missing"
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"broker: {exc.__class__.__name__}"
    return None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: the database and the broker are reachable, else 503."""
    problems = [p for p in (database_ready(), broker_ready()) if p]
    if problems:
        logger.warning("readyz failing: %s", "; ".join(problems))
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})
