from django.urls import path

from . import compensation as c
from . import views as v

urlpatterns = [
    # Before "<reference>/": a path of its own, not an incident.
    path("compensation-rules/", c.RuleListView.as_view(), name="compensation-rules"),
    path(
        "compensation-rules/<int:pk>/",
        c.RuleDetailView.as_view(),
        name="compensation-rule-detail",
    ),
    path("<str:reference>/", v.ImpactView.as_view(), name="impact-detail"),
    path("<str:reference>/review/", v.ReviewView.as_view(), name="impact-review"),
    path(
        "<str:reference>/review/complete/",
        v.ReviewCompleteView.as_view(),
        name="impact-review-complete",
    ),
    path(
        "<str:reference>/review/actions/",
        v.ActionItemListView.as_view(),
        name="impact-actions",
    ),
    path(
        "<str:reference>/review/actions/<int:pk>/done/",
        v.ActionItemDoneView.as_view(),
        name="impact-action-done",
    ),
    path(
        "<str:reference>/review.md",
        v.ReviewMarkdownView.as_view(),
        name="impact-review-md",
    ),
    path(
        "<str:reference>/review.pdf",
        v.ReviewPdfView.as_view(),
        name="impact-review-pdf",
    ),
    path("<str:reference>/offers/", c.OfferListView.as_view(), name="impact-offers"),
    path(
        "<str:reference>/offers/approve/",
        c.OffersApproveView.as_view(),
        name="impact-offers-approve",
    ),
    path(
        "<str:reference>/offers/<int:pk>/advance/",
        c.OfferAdvanceView.as_view(),
        name="impact-offer-advance",
    ),
    path("<str:reference>/refresh/", v.RefreshView.as_view(), name="impact-refresh"),
    path("<str:reference>/close/", v.CloseView.as_view(), name="impact-close"),
]
