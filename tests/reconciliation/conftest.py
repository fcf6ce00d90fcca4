from tests.notifications.conftest import hook_receiver  # noqa: F401

from .finance_helpers import incident, world  # noqa: F401
