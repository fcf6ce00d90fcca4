from django.urls import path

from .tokens import TokenDetailView, TokenListView
from .views import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("tokens/", TokenListView.as_view(), name="token-list"),
    path("tokens/<int:pk>/", TokenDetailView.as_view(), name="token-detail"),
]
