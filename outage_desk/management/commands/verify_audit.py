"""Check the audit hash chain end to end; exit non-zero naming the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from outage_desk.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit events' hash chain."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = audit_verify()
        if broken:
            raise CommandError(
                f"Audit chain broken at event #{broken.event_id}: {broken.reason} "
                f"({checked} events verified before it)."
            )
        self.stdout.write(f"Audit chain intact: {checked} events verified.")
