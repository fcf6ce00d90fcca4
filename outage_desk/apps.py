from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OutageDeskConfig(AppConfig):
    name = "outage_desk"
    verbose_name = "Outage Desk"

    def ready(self) -> None:
        from .observability import connect_auth_logging
        from .roles import roles_sync_after_migrate

        connect_auth_logging()

        # Permissions are created per app after migrate; syncing after every app's
        # post_migrate is idempotent and ends with every role complete.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="roles_sync")
