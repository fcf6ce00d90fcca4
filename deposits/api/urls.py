from django.urls import path

from . import customers, supervision, views

urlpatterns = [
    path(
        "deposits/import/",
        supervision.DepositImportView.as_view(),
        name="deposit-import",
    ),
    path(
        "reversals/",
        supervision.ReversalPendingListView.as_view(),
        name="reversal-list",
    ),
    path(
        "reversals/<int:pk>/reject/",
        supervision.ReversalRejectView.as_view(),
        name="reversal-reject",
    ),
    path("conflicts/", supervision.ConflictListView.as_view(), name="conflict-list"),
    path(
        "conflicts/<int:pk>/resolve/",
        supervision.ConflictResolveView.as_view(),
        name="conflict-resolve",
    ),
    path("customers/", customers.CustomerSearchView.as_view(), name="customer-list"),
    path(
        "customers/<int:pk>/",
        customers.CustomerDetailView.as_view(),
        name="customer-detail",
    ),
    path("deposits/", views.DepositListCreateView.as_view(), name="deposit-list"),
    path(
        "deposits/<int:pk>/", views.DepositDetailView.as_view(), name="deposit-detail"
    ),
    path(
        "deposits/<int:pk>/reverse/",
        views.DepositReverseView.as_view(),
        name="deposit-reverse",
    ),
    path(
        "deposits/<int:pk>/approve/",
        views.DepositApproveView.as_view(),
        name="deposit-approve",
    ),
    path(
        "reversals/<int:pk>/approve/",
        views.ReversalApproveView.as_view(),
        name="reversal-approve",
    ),
]
