from django.urls import path

from . import finance_views, views

app_name = "reconciliation"
urlpatterns = [
    path("", views.incident_choose, name="index"),
    path("profiles/new/", views.profile_new, name="profile_new"),
    path("profiles/save/", views.profile_save, name="profile_save"),
    path("cases/<int:pk>/", finance_views.case_detail, name="case"),
    path("cases/<int:pk>/<str:action>/", finance_views.case_action, name="case_action"),
    path("matches/<int:pk>/unmatch/", finance_views.match_unmatch, name="unmatch"),
    path("approvals/<int:pk>/", finance_views.approval_decide, name="approval_decide"),
    path("postings/<int:pk>/posted/", finance_views.posting_mark, name="posting_mark"),
    path(
        "postings/<int:pk>/<str:layout>.csv",
        finance_views.posting_file,
        name="posting_file",
    ),
    path("<str:reference>/queue/", finance_views.queue, name="queue"),
    path(
        "<str:reference>/queue/assign/", finance_views.queue_assign, name="queue_assign"
    ),
    path("<str:reference>/overview/", finance_views.overview, name="overview"),
    path("<str:reference>/approvals/", finance_views.approvals, name="approvals"),
    path(
        "<str:reference>/postings/", finance_views.posting_create, name="posting_create"
    ),
    path("<str:reference>/report.<str:fmt>", finance_views.report, name="report"),
    path("<str:reference>/", views.incident_detail, name="incident"),
    path("<str:reference>/upload/", views.upload, name="upload"),
    path("<str:reference>/run/", views.run, name="run"),
    path("matches/<int:pk>/<str:decision>/", views.match_decide, name="match_decide"),
    path("runs/<int:pk>/export.csv", views.export, name="export"),
]
