from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from deposits.services.imports import customers_import

from ._importing import run_import


class Command(BaseCommand):
    help = (
        "Upsert customers from a CSV with the header "
        "account,name,tier,language,email,phone,branch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        run_import(self, options["file"], customers_import)
