"""The staff navigation: each entry shows only to users holding its permission."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    permission: str | None = None  # "app.codename"; None: every signed-in user
    staff_only: bool = False


NAV_ITEMS: list[NavItem] = [
    NavItem(_("Home"), "home"),
    NavItem(_("Incidents"), "incidents:list", "incidents.view_incident"),
    NavItem(_("Capture"), "deposits:capture", "deposits.add_deposit"),
    NavItem(_("Supervision"), "deposits:supervision", "deposits.approve_deposit"),
    NavItem(
        _("Reconciliation"),
        "reconciliation:index",
        "reconciliation.view_reconciliationrun",
    ),
    NavItem(_("Status page"), "status"),
    NavItem(
        _("Templates"),
        "notifications:template_list",
        "notifications.view_noticetemplate",
    ),
    NavItem(_("Delivery log"), "notifications:log", "notifications.view_notice"),
    NavItem(_("API tokens"), "account-tokens"),
    NavItem(_("Admin"), "admin:index", staff_only=True),
]


def nav_for_user(user: object) -> list[dict[str, str | Promise]]:
    """The entries this user may use, with their URLs resolved."""
    items: list[dict[str, str | Promise]] = []
    for item in NAV_ITEMS:
        if item.staff_only and not getattr(user, "is_staff", False):
            continue
        if item.permission and not user.has_perm(item.permission):  # type: ignore[attr-defined]
            continue
        items.append({"label": item.label, "url": reverse(item.url_name)})
    return items
