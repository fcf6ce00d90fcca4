from .finance_helpers import incident, world  # noqa: F401
