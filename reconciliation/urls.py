from django.urls import path

from . import views

app_name = "reconciliation"
urlpatterns = [
    path("", views.incident_choose, name="index"),
    path("profiles/new/", views.profile_new, name="profile_new"),
    path("profiles/save/", views.profile_save, name="profile_save"),
    path("<str:reference>/", views.incident_detail, name="incident"),
    path("<str:reference>/upload/", views.upload, name="upload"),
    path("<str:reference>/run/", views.run, name="run"),
    path("matches/<int:pk>/<str:decision>/", views.match_decide, name="match_decide"),
    path("runs/<int:pk>/export.csv", views.export, name="export"),
]
