"""Roles are Django groups with a fixed set of permissions, kept in sync on migrate."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role:
    CLERK = "Branch clerk"
    SUPERVISOR = "Branch supervisor"
    INCIDENT_LEAD = "Incident lead"
    FINANCE = "Finance"
    ADMIN = "Admin"


ROLE_LABELS = {
    Role.CLERK: _("Branch clerk"),
    Role.SUPERVISOR: _("Branch supervisor"),
    Role.INCIDENT_LEAD: _("Incident lead"),
    Role.FINANCE: _("Finance"),
    Role.ADMIN: _("Admin"),
}

_CLERK = [
    "deposits.view_branch",
    "deposits.view_customer",
    "deposits.view_deposit",
    "deposits.add_deposit",
    "incidents.view_incident",
]
_SUPERVISOR = [*_CLERK, "deposits.approve_deposit", "deposits.import_deposits"]
_INCIDENT_LEAD = [
    "incidents.view_incident",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.manage_incident",
    "incidents.publish_status",
    "incidents.view_component",
    "incidents.add_component",
    "incidents.change_component",
    "incidents.view_incidentupdate",
    "incidents.view_roleassignment",
    "incidents.view_bankcontact",
    "incidents.view_subscriber",
    "incidents.view_statusbanner",
    "incidents.view_impact",
    "incidents.view_compensationrule",
    "incidents.add_compensationrule",
    "incidents.change_compensationrule",
    "incidents.delete_compensationrule",
    "incidents.view_compensationoffer",
    "incidents.view_review",
    "incidents.view_actionitem",
    "deposits.view_deposit",
    "notifications.view_noticetemplate",
    "notifications.change_noticetemplate",
    "notifications.approve_noticetemplate",
    "notifications.view_notice",
    "notifications.resend_notice",
    "notifications.view_webhookendpoint",
    "notifications.add_webhookendpoint",
]
_FINANCE = [
    "incidents.view_incident",
    "incidents.view_impact",
    "deposits.view_deposit",
    "deposits.view_branch",
    "reconciliation.view_reconciliationrun",
    "reconciliation.run_reconciliation",
]

# role name -> "app_label.codename" permissions. Admin gets every permission.
ROLE_PERMISSIONS: dict[str, list[str] | None] = {
    Role.CLERK: _CLERK,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.INCIDENT_LEAD: _INCIDENT_LEAD,
    Role.FINANCE: _FINANCE,
    Role.ADMIN: None,
}


def roles_sync() -> None:
    """Create each role's group and set its permissions to exactly ROLE_PERMISSIONS."""
    for name, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        if perms is None:
            group.permissions.set(Permission.objects.all())
            continue
        query = Q(pk__in=[])
        for perm in perms:
            app_label, codename = perm.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(query))


def roles_sync_after_migrate(**kwargs: Any) -> None:
    roles_sync()
