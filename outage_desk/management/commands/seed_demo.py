"""Demo data: branches, one user per role, customers and an open incident. Idempotent."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from deposits.models import Branch, Customer, Deposit
from deposits.services import deposit_record
from incidents.models import Component, Incident, OutageRole
from incidents.selectors import incident_list_open
from incidents.services import incident_open
from incidents.services.roles import role_assign
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


COMPONENTS = ["Card payments", "Transfers", "Branch deposits", "Online banking"]
COMPONENT_ZH = {
    "Card payments": "银行卡支付",
    "Transfers": "转账",
    "Branch deposits": "网点存款",
    "Online banking": "网上银行",
}
# account, amount, currency, channel, minutes before now, reference, branch clerk
DEPOSITS = [
    ("GB0001", "250.00", "GBP", Deposit.Channel.CASH, 50, "", "clerk"),
    (
        "GB0002",
        "1200.50",
        "GBP",
        Deposit.Channel.BANK_TRANSFER,
        40,
        "TRF-88120",
        "clerk",
    ),
    ("GB0003", "75.20", "GBP", Deposit.Channel.PHONE, 30, "", "clerk"),
    ("CN0001", "3000.00", "CNY", Deposit.Channel.IN_PERSON, 20, "", "clerk_sh"),
]
# Fixed UUIDs: a second run finds the demo deposits and leaves them be.
DEMO_NAMESPACE = uuid.UUID("6f1d7c52-8d0f-4c51-9a47-0d1b7e2f4a10")


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
            components = [
                Component.objects.get_or_create(
                    name=name,
                    defaults={
                        "position": n,
                        "name_translations": {"zh-hans": COMPONENT_ZH[name]},
                    },
                )[0]
                for n, name in enumerate(COMPONENTS)
            ]
            incident = Incident.objects.filter(title=DEMO_TITLE).first()
            if incident is None:
                incident = incident_open(
                    title=DEMO_TITLE,
                    starts_at=timezone.now() - dt.timedelta(hours=1),
                    components=components[:3],
                    title_translations={"zh-hans": "核心银行系统不可用"},
                )
                lead = User.objects.get(username="lead")
                role_assign(
                    incident=incident, role=OutageRole.LEAD, user=lead, assigned_by=lead
                )
        self._deposits(incident, branches)
        open_refs = ", ".join(i.reference for i in incident_list_open())
        self.stdout.write(f"Open incidents: {open_refs or 'none'}")
        self.stdout.write("Demo logins (username / password):")
        for username, password, role in logins:
            self.stdout.write(f"  {username:<11} {password:<16} {role}")

    def _deposits(self, incident: Incident, branches: dict[str, Branch]) -> None:
        now = timezone.now()
        for account, amount, currency, channel, minutes, ref, clerk in DEPOSITS:
            client_uuid = uuid.uuid5(DEMO_NAMESPACE, account)
            if Deposit.objects.filter(client_uuid=client_uuid).exists():
                continue
            customer = Customer.objects.get(account=account)
            user = User.objects.get(username=clerk)
            deposit_record(
                incident=incident,
                branch=user.branch,  # type: ignore[arg-type]
                recorded_by=user,
                client_uuid=client_uuid,
                channel=channel,
                account=account,
                payer_name=customer.name,
                amount=Decimal(amount),
                currency=currency,
                received_at=now - dt.timedelta(minutes=minutes),
                source=Deposit.Source.FORM,
                reference=ref,
                customer=customer,
            )

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
