from django.urls import path

from . import views

urlpatterns = [
    path("<str:reference>/", views.ImpactView.as_view(), name="impact-detail"),
]
