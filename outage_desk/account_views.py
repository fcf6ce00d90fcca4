"""The signed-in user's own settings: API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import ApiToken
from .tokens import api_token_create, api_token_revoke


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    new_key = None
    error = None
    if request.method == "POST":
        try:
            _token, new_key = api_token_create(
                user=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
            )
        except ValidationError as exc:
            error = exc.message_dict["name"][0]
    tokens = ApiToken.objects.filter(user=request.user)  # type: ignore[misc]
    ctx = {"tokens": tokens, "new_key": new_key, "error": error}
    return render(request, "outage_desk/tokens.html", ctx, status=400 if error else 200)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token, by=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("account-tokens")
