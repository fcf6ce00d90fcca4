from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deposits.services.imports import branches_import

from ._importing import run_import


class Command(BaseCommand):
    help = "Upsert branches from a CSV with the header code,name,timezone,currency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        run_import(self, options["file"], branches_import)
