from pathlib import Path

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import Incident
from reconciliation.loading import records_import
from reconciliation.models import ImportProfile, RecordFormat
from reconciliation.parsers import ImportRejected


class Command(BaseCommand):
    help = "Import restored system records (or a bank statement) for an incident."
    # Only the model checks: the URL checks import every view of the site (about
    # half a second); `manage.py check` (CI, pre-commit) and runserver run them all.
    requires_system_checks = [Tags.models]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--incident", required=True, help="INC-YYYY-NNNN")
        parser.add_argument("--format", choices=RecordFormat.values)
        parser.add_argument("--profile", help="name of a saved import profile")

    def handle(self, *args: object, **options: str) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            incident = Incident.objects.get(reference=options["incident"])
        except Incident.DoesNotExist:
            raise CommandError(f"No incident {options['incident']}.") from None
        profile = None
        if options.get("profile"):
            try:
                profile = ImportProfile.objects.get(name=options["profile"])
            except ImportProfile.DoesNotExist:
                raise CommandError(f"No import profile {options['profile']}.") from None
        try:
            outcome = records_import(
                path=path,
                incident=incident,
                format=options.get("format"),
                profile=profile,
            )
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"{len(exc.errors)} bad row(s); nothing was loaded."
            ) from None
        for warning in outcome.warnings:
            self.stderr.write(f"warning: {warning}")
        batch = outcome.batch
        if outcome.already_imported:
            self.stdout.write(f"Already imported as batch {batch.pk}; nothing added.")
            return
        self.stdout.write(
            f"Batch {batch.pk}: {batch.rows_loaded} loaded, "
            f"{batch.rows_skipped} skipped (already loaded)."
        )
