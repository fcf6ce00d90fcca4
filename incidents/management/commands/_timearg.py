"""Parse the ISO 8601 times the incident commands take."""

import datetime as dt

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

TIME_INVALID = "{option}: “{value}” is not an ISO 8601 time with an offset (e.g. 2026-11-22T09:00+00:00)."


def parse_time_option(option: str, value: str | None) -> dt.datetime | None:
    """An aware datetime from ``value``, or None when the option was not given."""
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(TIME_INVALID.format(option=option, value=value))
    return parsed
