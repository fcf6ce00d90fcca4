from django.urls import path

from . import status

urlpatterns = [
    path("banner/", status.BannerView.as_view(), name="status-banner"),
    path("components/", status.ComponentListView.as_view(), name="status-components"),
    path(
        "components/<int:pk>/",
        status.ComponentDetailView.as_view(),
        name="status-component",
    ),
    path(
        "subscribers/", status.SubscriberListView.as_view(), name="status-subscribers"
    ),
]
