from django.urls import path

from . import views

app_name = "reconciliation"
urlpatterns = [
    path("", views.incident_choose, name="index"),
    path("<str:reference>/", views.incident_detail, name="incident"),
    path("<str:reference>/upload/", views.upload, name="upload"),
    path("<str:reference>/run/", views.run, name="run"),
    path("matches/<int:pk>/<str:decision>/", views.match_decide, name="match_decide"),
    path("runs/<int:pk>/export.csv", views.export, name="export"),
]
