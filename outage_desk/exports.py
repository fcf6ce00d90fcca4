"""Spreadsheet-safe cells for every CSV or XLSX export (CSV injection, OWASP).

A cell starting with = + - @ tab or CR is run as a formula by spreadsheet programs,
so it gets a leading apostrophe; a plain number such as -12.50 stays as it is, so
amounts and differences still load as numbers.
"""

import re
from decimal import Decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def cell_safe(value: object) -> str:
    """Text for one export cell: formula starters neutralised, numbers unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not _NUMBER.match(text):
        return "'" + text
    return text
