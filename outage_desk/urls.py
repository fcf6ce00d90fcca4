from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from impact import views as impact_views

from . import account_views, views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("outage_desk.api.urls")),
    path("incidents/", include("incidents.api.urls")),
    path("status-page/", include("incidents.api.status_urls")),
    path("", include("deposits.api.urls")),
    path("reconciliation/", include("reconciliation.api.urls")),
    path("", include("notifications.api.urls")),
    path("impact/", include("impact.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/tokens/", account_views.token_list, name="account-tokens"),
    path(
        "account/tokens/<int:pk>/revoke/",
        account_views.token_revoke,
        name="account-token-revoke",
    ),
    path("incidents/", include("incidents.urls")),
    path("deposits/", include("deposits.urls")),
    path("impact/", include("impact.urls")),
    path("feedback/<str:token>/", impact_views.feedback, name="feedback"),
    path("status/", include("incidents.status_urls")),
    path("notices/", include("notifications.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
]

# Unknown URLs under /api/ answer in the API's error shape; pages as before.
handler404 = "outage_desk.api.errors.not_found"
handler500 = "outage_desk.api.errors.server_error"
