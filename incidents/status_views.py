"""The public status page: page, JSON, Atom feed, subscribe, confirm and unsubscribe.

These read only this app's tables (through a cached snapshot), so they keep
working while the core system, and most of this one, is struggling.
"""

from typing import Any

from django.contrib.syndication.views import Feed
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .forms import SubscribeForm
from .models import IncidentUpdate
from .selectors import parse_iso, public_updates_for_feed, status_snapshot
from .services import subscriber_confirm, subscriber_request, subscriber_unsubscribe
from .services.common import status_cache_version, text_in


def _with_times(item: dict[str, Any]) -> dict[str, Any]:
    """Parse the snapshot's ISO strings back into datetimes for the template filters."""
    return {
        **item,
        "starts_at": parse_iso(item["starts_at"]),
        "ends_at": parse_iso(item["ends_at"]),
        "restored_at": parse_iso(item["restored_at"]),
        "updates": [
            {**u, "created_at": parse_iso(u["created_at"]), "eta": parse_iso(u["eta"])}
            for u in item["updates"]
        ],
    }


def status_page(request: HttpRequest) -> HttpResponse:
    """Open incidents and maintenance with their public updates, components, history."""
    snapshot = status_snapshot()
    ctx = {
        "banner": snapshot["banner"],
        "stale": snapshot.get("stale", False),
        "generated_at": parse_iso(snapshot["generated_at"]),
        "components": snapshot["components"],
        "incidents": [_with_times(i) for i in snapshot["incidents"]],
        "maintenance": [_with_times(i) for i in snapshot["maintenance"]],
        "history": [_with_times(i) for i in snapshot["history"]],
    }
    response = render(request, "incidents/status.html", ctx)
    response["Cache-Control"] = "public, max-age=30"
    return response


def status_json(request: HttpRequest) -> JsonResponse:
    snapshot = status_snapshot()
    response = JsonResponse(snapshot, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=30"
    response["Access-Control-Allow-Origin"] = "*"
    return response


class StatusFeed(Feed):  # type: ignore[type-arg]
    """Every public update as an Atom entry, newest first."""

    feed_type = Atom1Feed
    title = gettext_lazy("Service status")
    subtitle = gettext_lazy("Every public update about outages and maintenance.")

    def link(self) -> str:
        return reverse("status")

    def items(self) -> list[IncidentUpdate]:
        return list(public_updates_for_feed())

    def item_title(self, item: IncidentUpdate) -> str:
        incident = item.incident
        title = text_in(
            {"en": incident.title, **incident.title_translations},
            translation.get_language() or "en",
        )
        return f"{title}: {item.get_status_display()}"

    def item_description(self, item: IncidentUpdate) -> str:
        return text_in(item.texts, translation.get_language() or "en")

    def item_link(self, item: IncidentUpdate) -> str:
        return f"{reverse('status')}#{item.incident.reference}"

    def item_guid(self, item: IncidentUpdate) -> str:
        # An Atom id must be an IRI that never changes: a tag URI (RFC 4151).
        return f"tag:outage-desk,{item.created_at:%Y-%m-%d}:{item.incident.reference}/update/{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: IncidentUpdate):  # type: ignore[no-untyped-def]
        return item.created_at

    def item_updateddate(self, item: IncidentUpdate):  # type: ignore[no-untyped-def]
        return item.created_at


_feed = StatusFeed()


def status_feed(request: HttpRequest) -> HttpResponse:
    """The Atom feed, cached per language under the status cache version."""
    from django.conf import settings
    from django.core.cache import cache

    language = translation.get_language() or "en"
    key = f"incidents:feed:{status_cache_version()}:{language}"
    cached = cache.get(key)
    if cached is None:
        response = _feed(request)
        cached = (response.content, response["Content-Type"])
        cache.set(key, cached, settings.INCIDENTS_STATUS_CACHE_SECONDS)
    return HttpResponse(cached[0], content_type=cached[1])


def _client_ip(request: HttpRequest) -> str:
    # Behind a proxy, SECURE_PROXY_SSL_HEADER deployments set REMOTE_ADDR through
    # the proxy's own module; a client-supplied X-Forwarded-For is not trusted.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscriber_request(
                channel=data["channel"],
                address=data["address"],
                components=list(data["components"]),
                language=translation.get_language() or "en",
                ip=_client_ip(request),
            )
        except ValidationError as exc:
            for field, errors in (
                exc.error_dict.items()
                if hasattr(exc, "error_dict")
                else [(None, exc.messages)]
            ):
                form.add_error(field if field in form.fields else None, errors)
        else:
            return render(
                request, "incidents/subscribe_sent.html", {"channel": data["channel"]}
            )
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/subscribe.html", {"form": form}, status=status)


def _signed_action(request: HttpRequest, token: str, *, action: str) -> HttpResponse:
    """GET shows one button (link scanners must not act); POST does it."""
    ctx: dict[str, Any] = {"action": action, "token": token}
    if request.method == "POST":
        try:
            service = (
                subscriber_confirm if action == "confirm" else subscriber_unsubscribe
            )
            service(token=token)
        except ValidationError as exc:
            ctx["error"] = exc.messages[0]
            return render(
                request, "incidents/subscription_action.html", ctx, status=400
            )
        ctx["done"] = True
    return render(request, "incidents/subscription_action.html", ctx)


# The signed token is the only credential here (no session), so CSRF adds
# nothing; exempting lets mail clients use RFC 8058 one-click unsubscribe.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _signed_action(request, token, action="confirm")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    return _signed_action(request, token, action="unsubscribe")
