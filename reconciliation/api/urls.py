from django.urls import path

from .views import RunDetailView, RunStartView

urlpatterns = [
    path(
        "incidents/<str:reference>/runs/",
        RunStartView.as_view(),
        name="reconciliation-run-start",
    ),
    path("runs/<int:pk>/", RunDetailView.as_view(), name="reconciliation-run"),
]
