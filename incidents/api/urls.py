from django.urls import path

from . import views

urlpatterns = [
    path("", views.IncidentListView.as_view(), name="incident-list"),
    path(
        "<str:reference>/", views.IncidentDetailView.as_view(), name="incident-detail"
    ),
    path(
        "<str:reference>/status/",
        views.IncidentStatusView.as_view(),
        name="incident-status",
    ),
    path(
        "<str:reference>/updates/",
        views.IncidentUpdateListView.as_view(),
        name="incident-updates",
    ),
    path("<str:reference>/roles/", views.RoleListView.as_view(), name="incident-roles"),
    path(
        "<str:reference>/bank-contacts/",
        views.BankContactListView.as_view(),
        name="incident-bank-contacts",
    ),
]
