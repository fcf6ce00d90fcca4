from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("open/", views.incident_create, name="open"),
    path("my-roles/", views.my_roles, name="my_roles"),
    path("status-banner/", views.banner_toggle, name="banner"),
    path("<str:reference>/", views.incident_detail, name="detail"),
    path("<str:reference>/status/", views.incident_status, name="status"),
    path("<str:reference>/updates/", views.update_create, name="update"),
    path("<str:reference>/roles/", views.role_create, name="role"),
    path("<str:reference>/roles/<int:pk>/end/", views.role_end, name="role_end"),
    path("<str:reference>/bank-contacts/", views.bank_contact_create, name="contact"),
    path(
        "<str:reference>/bank-contacts/<int:pk>/evidence/",
        views.bank_contact_evidence,
        name="evidence",
    ),
    path(
        "<str:reference>/bank-contacts.<str:fmt>",
        views.bank_contacts_export,
        name="contacts_export",
    ),
]
