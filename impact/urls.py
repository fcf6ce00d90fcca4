from django.urls import path

from . import views

app_name = "impact"

urlpatterns = [
    path("<str:reference>/", views.dashboard, name="dashboard"),
    path("<str:reference>/review/", views.review, name="review"),
    path("<str:reference>/review/save/", views.review_save, name="review_save"),
    path(
        "<str:reference>/review/complete/", views.review_finish, name="review_complete"
    ),
    path("<str:reference>/review/actions/", views.action_add, name="action_add"),
    path(
        "<str:reference>/review/actions/<int:pk>/done/",
        views.action_finish,
        name="action_done",
    ),
    path(
        "<str:reference>/offers/approve/",
        views.offers_approve_view,
        name="offers_approve",
    ),
    path(
        "<str:reference>/offers/advance/",
        views.offer_advance_view,
        name="offer_advance",
    ),
    path("<str:reference>/refresh/", views.refresh, name="refresh"),
    path("<str:reference>/close/", views.close, name="close"),
    path(
        "<str:reference>/review.<str:fmt>",
        views.review_export,
        name="review_export",
    ),
]
