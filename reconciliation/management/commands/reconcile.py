import json
import time
from pathlib import Path

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import Incident
from reconciliation.export import run_export
from reconciliation.services import run_create, run_execute


class Command(BaseCommand):
    help = "Match an incident's deposits against its system records; print counts."
    # Only the model checks: the URL checks import every view of the site (about
    # half a second); `manage.py check` (CI, pre-commit) and runserver run them all.
    requires_system_checks = [Tags.models]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", help="INC-YYYY-NNNN")
        parser.add_argument("--export", help="write the outcome to this CSV file")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count what would change, store nothing",
        )
        parser.add_argument("--partitions", type=int, default=1)

    def handle(self, *args: object, **options: object) -> None:
        try:
            incident = Incident.objects.get(reference=options["incident"])
        except Incident.DoesNotExist:
            raise CommandError(f"No incident {options['incident']}.") from None
        if options["dry_run"] and options.get("export"):
            raise CommandError("--export needs a real run, not --dry-run.")
        run = run_create(incident=incident, dry_run=bool(options["dry_run"]))
        run = run_execute(run=run, partitions=int(options["partitions"]))  # type: ignore[call-overload]
        seconds = dict(run.params["seconds"])
        if options.get("export"):
            began = time.perf_counter()
            with Path(str(options["export"])).open(
                "w", encoding="utf-8", newline=""
            ) as out:
                run_export(run=run, out=out, stored=run.stored_outcome)
            seconds["export"] = round(time.perf_counter() - began, 3)
        if int(options["verbosity"]) > 1:  # type: ignore[call-overload]
            self.stderr.write(json.dumps({"seconds": seconds}))
        self.stdout.write(json.dumps({"run": run.pk, **run.counts}, sort_keys=True))
