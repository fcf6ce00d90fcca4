"""incident_resolve REF [--at ISO]: restore an incident (default now)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import Incident
from incidents.services import incident_resolve

from ._timearg import parse_time_option

INCIDENT_UNKNOWN = "No incident has the reference “{reference}”."


class Command(BaseCommand):
    help = "Mark an incident restored (resolved or completed); the capture grace starts then."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference")
        parser.add_argument("--at", help="restore time (ISO 8601), default now")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            incident = Incident.objects.get(reference=options["reference"])
        except Incident.DoesNotExist:
            raise CommandError(
                INCIDENT_UNKNOWN.format(reference=options["reference"])
            ) from None
        try:
            incident = incident_resolve(
                incident=incident, at=parse_time_option("--at", options["at"])
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        ends = incident.capture_ends_at
        restored = incident.restored_at
        self.stdout.write(
            f"{incident.reference} {incident.status} at "
            f"{restored.isoformat() if restored else '-'}; "
            f"capture window ends {ends.isoformat() if ends else '-'}"
        )
