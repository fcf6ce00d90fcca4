from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_page

from .models import Incident
from .selectors import incident_list_open, incident_list_public_history


@login_required
@permission_required("incidents.view_incident", raise_exception=True)
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = Incident.objects.order_by("-declared_at")[:100]
    return render(request, "incidents/list.html", {"incidents": incidents})


@cache_page(30)
def status_page(request: HttpRequest) -> HttpResponse:
    """The public status page: open incidents first, then recent history."""
    ctx = {"open": incident_list_open(), "history": incident_list_public_history()}
    return render(request, "incidents/status.html", ctx)
