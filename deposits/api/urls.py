from django.urls import path

from . import customers, views

urlpatterns = [
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
