from django.urls import path

from . import status_views

urlpatterns = [
    path("", status_views.status_page, name="status"),
    path("status.json", status_views.status_json, name="status-json"),
    path("feed.atom", status_views.status_feed, name="status-feed"),
    path("subscribe/", status_views.subscribe, name="status-subscribe"),
    path("confirm/<str:token>/", status_views.confirm, name="status-confirm"),
    path(
        "unsubscribe/<str:token>/", status_views.unsubscribe, name="status-unsubscribe"
    ),
]
