from django.urls import path

from . import views, webhooks

urlpatterns = [
    path(
        "webhook-endpoints/",
        webhooks.WebhookEndpointListView.as_view(),
        name="webhook-endpoint-list",
    ),
    path(
        "webhook-endpoints/<int:pk>/",
        webhooks.WebhookEndpointDetailView.as_view(),
        name="webhook-endpoint-detail",
    ),
    path("notices/", views.NoticeListView.as_view(), name="notice-list"),
    path("notices/<int:pk>/", views.NoticeDetailView.as_view(), name="notice-detail"),
    path(
        "notices/<int:pk>/resend/",
        views.NoticeResendView.as_view(),
        name="notice-resend",
    ),
    path("templates/", views.TemplateListView.as_view(), name="template-list"),
    path(
        "templates/<int:pk>/versions/",
        views.TemplateVersionListView.as_view(),
        name="template-versions",
    ),
    path(
        "templates/<int:pk>/preview/",
        views.TemplatePreviewView.as_view(),
        name="template-preview",
    ),
    path(
        "template-versions/<int:pk>/approve/",
        views.TemplateVersionApproveView.as_view(),
        name="template-version-approve",
    ),
]
