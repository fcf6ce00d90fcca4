"""Demo data: branches, one user per role, customers and an open incident. Idempotent."""

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from deposits.models import Branch, Customer
from incidents.models import Incident
from incidents.selectors import incident_list_open
from incidents.services import incident_open
from outage_desk.models import User
from outage_desk.roles import Role, roles_sync

DEMO_TITLE = "Core banking system unavailable"
BRANCHES = [
    ("HQ", "Head office", "Europe/London", "GBP"),
    ("SH1", "Shanghai Lujiazui", "Asia/Shanghai", "CNY"),
]
# username, role, branch code, staff (admin access)
USERS = [
    ("clerk", Role.CLERK, "HQ", False),
    ("supervisor", Role.SUPERVISOR, "HQ", False),
    ("clerk_sh", Role.CLERK, "SH1", False),
    ("lead", Role.INCIDENT_LEAD, None, True),
    ("finance", Role.FINANCE, None, False),
    ("admin", Role.ADMIN, None, True),
]
CUSTOMERS = [
    (
        "GB0001",
        "Alice Thompson",
        "premium",
        "en",
        "alice@example.com",
        "+447700900001",
        "HQ",
    ),
    ("GB0002", "Bob Patel", "standard", "en", "bob@example.com", "+447700900002", "HQ"),
    ("GB0003", "Carol Jones", "business", "en", "carol@example.com", "", "HQ"),
    (
        "CN0001",
        "王芳",
        "standard",
        "zh-hans",
        "wang@example.com",
        "+8613800000001",
        "SH1",
    ),
    ("CN0002", "李伟", "premium", "zh-hans", "", "+8613800000002", "SH1"),
]


class Command(BaseCommand):
    help = "Create demo branches, users (one per role), customers and an open incident."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            roles_sync()
            branches = {
                code: Branch.objects.update_or_create(
                    code=code, defaults={"name": name, "timezone": tz, "currency": cur}
                )[0]
                for code, name, tz, cur in BRANCHES
            }
            for account, name, tier, lang, email, phone, branch in CUSTOMERS:
                Customer.objects.update_or_create(
                    account=account,
                    defaults={
                        "name": name,
                        "tier": tier,
                        "language": lang,
                        "email": email,
                        "phone": phone,
                        "branch": branches[branch],
                    },
                )
            logins = [self._user(*row, branches=branches) for row in USERS]
            if not Incident.objects.filter(title=DEMO_TITLE).exists():
                incident_open(title=DEMO_TITLE)
        open_refs = ", ".join(i.reference for i in incident_list_open())
        self.stdout.write(f"Open incidents: {open_refs or 'none'}")
        self.stdout.write("Demo logins (username / password):")
        for username, password, role in logins:
            self.stdout.write(f"  {username:<11} {password:<16} {role}")

    def _user(
        self,
        username: str,
        role: str,
        branch_code: str | None,
        staff: bool,
        *,
        branches: dict[str, Branch],
    ) -> tuple[str, str, str]:
        password = f"{username}-demo-pass"
        user, created = User.objects.get_or_create(username=username)
        user.branch = branches[branch_code] if branch_code else None
        user.is_staff = staff
        user.is_superuser = role == Role.ADMIN
        user.email = f"{username}@example.com"
        if created or not user.has_usable_password():
            user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        return username, password, role
