from django.urls import path

from . import views

urlpatterns = [
    path("", views.status_page, name="status"),
    path("confirm/<str:token>/", views.status_page, name="status-confirm"),
    path("unsubscribe/<str:token>/", views.status_page, name="status-unsubscribe"),
]
