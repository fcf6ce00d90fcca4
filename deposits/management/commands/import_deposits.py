from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deposits.services.imports import deposits_import
from incidents.models import Incident

from ._importing import run_import


class Command(BaseCommand):
    help = "Import a branch's deposit log (canonical deposit CSV) into an incident."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--incident", required=True, help="INC-YYYY-NNNN")

    def handle(self, *args: Any, **options: Any) -> None:
        incident = Incident.objects.filter(reference=options["incident"]).first()
        if incident is None:
            raise CommandError(f"No incident {options['incident']}.")
        run_import(self, options["file"], deposits_import, incident=incident)
