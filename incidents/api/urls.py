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
        "<str:reference>/roles/<int:pk>/end/",
        views.RoleEndView.as_view(),
        name="incident-role-end",
    ),
    path(
        "<str:reference>/bank-contacts.csv",
        views.BankContactCsvView.as_view(),
        name="incident-bank-contacts-csv",
    ),
    path(
        "<str:reference>/bank-contacts.pdf",
        views.BankContactPdfView.as_view(),
        name="incident-bank-contacts-pdf",
    ),
    path(
        "<str:reference>/bank-contacts/<int:pk>/evidence/",
        views.BankContactEvidenceView.as_view(),
        name="incident-bank-contact-evidence",
    ),
    path(
        "<str:reference>/bank-contacts/",
        views.BankContactListView.as_view(),
        name="incident-bank-contacts",
    ),
]
