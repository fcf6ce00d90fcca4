"""incident_open --title T [--planned] [--starts ISO] [--ends ISO]: prints the reference last."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import Component, Incident
from incidents.services import incident_open

from ._timearg import parse_time_option

COMPONENT_UNKNOWN = "--component: no status-page component is called “{name}”."


class Command(BaseCommand):
    help = "Declare an outage or schedule maintenance; prints the new reference on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--title", required=True)
        parser.add_argument("--planned", action="store_true")
        parser.add_argument(
            "--starts", help="impact start or maintenance start (ISO 8601)"
        )
        parser.add_argument("--ends", help="planned maintenance end (ISO 8601)")
        parser.add_argument(
            "--severity",
            choices=Incident.Severity.values,
            default=Incident.Severity.MAJOR,
        )
        parser.add_argument(
            "--component", action="append", default=[], help="affected component name"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        components = []
        for name in options["component"]:
            try:
                components.append(Component.objects.get(name=name))
            except Component.DoesNotExist:
                raise CommandError(COMPONENT_UNKNOWN.format(name=name)) from None
        try:
            incident = incident_open(
                title=options["title"],
                planned=options["planned"],
                starts_at=parse_time_option("--starts", options["starts"]),
                ends_at=parse_time_option("--ends", options["ends"]),
                severity=options["severity"],
                components=components,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{incident.get_kind_display()}: {incident.title}")
        self.stdout.write(incident.reference)
