from django.urls import path

from . import finance
from .views import RunDetailView, RunStartView

urlpatterns = [
    path(
        "incidents/<str:reference>/runs/",
        RunStartView.as_view(),
        name="reconciliation-run-start",
    ),
    path("runs/<int:pk>/", RunDetailView.as_view(), name="reconciliation-run"),
    path("runs/", finance.RunListView.as_view(), name="reconciliation-runs"),
    path(
        "runs/<int:pk>/matches/",
        finance.MatchListView.as_view(),
        name="reconciliation-matches",
    ),
    path(
        "matches/<int:pk>/<str:action>/",
        finance.MatchActionView.as_view(),
        name="reconciliation-match-action",
    ),
    path("discrepancies/", finance.CaseListView.as_view(), name="reconciliation-cases"),
    path(
        "discrepancies/<int:pk>/",
        finance.CaseDetailView.as_view(),
        name="reconciliation-case",
    ),
    path(
        "discrepancies/<int:pk>/write-off/",
        finance.CaseWriteOffView.as_view(),
        name="reconciliation-write-off",
    ),
    path(
        "discrepancies/<int:pk>/link/",
        finance.CaseLinkView.as_view(),
        name="reconciliation-link",
    ),
    path(
        "discrepancies/<int:pk>/<str:action>/",
        finance.CaseActionView.as_view(),
        name="reconciliation-case-action",
    ),
    path(
        "approvals/",
        finance.ApprovalListView.as_view(),
        name="reconciliation-approvals",
    ),
    path(
        "approvals/<int:pk>/approve/",
        finance.ApprovalApproveView.as_view(),
        name="reconciliation-approve",
    ),
    path(
        "approvals/<int:pk>/reject/",
        finance.ApprovalRejectView.as_view(),
        name="reconciliation-reject",
    ),
]
