"""Register an integrator's webhook endpoint; prints the signing secret once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from notifications.services import webhook_endpoint_create


class Command(BaseCommand):
    help = (
        "Add a webhook endpoint: NAME URL --events deposit_received,deposit_confirmed"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("name")
        parser.add_argument("url")
        parser.add_argument("--events", default="", help="comma-separated notice kinds")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        events = [e.strip() for e in options["events"].split(",") if e.strip()]
        try:
            endpoint = webhook_endpoint_create(
                name=options["name"], url=options["url"], events=events, actor=None
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"endpoint {endpoint.pk} secret {endpoint.secret}")
