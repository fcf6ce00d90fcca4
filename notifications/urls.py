from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("templates/", views.template_list, name="template_list"),
    path("templates/<int:pk>/", views.template_detail, name="template_detail"),
    path(
        "templates/<int:pk>/preview/",
        views.template_preview_fragment,
        name="template_preview",
    ),
    path("versions/<int:pk>/", views.template_version_detail, name="version_detail"),
    path(
        "versions/<int:pk>/approve/",
        views.template_version_approve_view,
        name="version_approve",
    ),
    path("log/", views.delivery_log, name="log"),
    path("<int:pk>/resend/", views.notice_resend_view, name="resend"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
