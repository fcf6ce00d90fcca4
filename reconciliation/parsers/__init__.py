"""Parsers turn one restored-records file into a stream of normalised records.

Each parser is a generator: it yields ``ParsedRecord`` rows and puts every bad row
into the ``ParseReport`` it is given, so a caller can validate a whole file in one
pass with bounded memory and load nothing when any row is bad.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

from .base import (
    FIELDS,
    ImportRejected,
    ParsedRecord,
    ParseReport,
    ProfileSpec,
    RowError,
)
from .statements import parse_camt, parse_mt940, parse_ofx
from .tabular import parse_csv, parse_xlsx

Parser = Callable[[Path, ProfileSpec, ParseReport], Iterator[ParsedRecord]]

PARSERS: dict[str, Parser] = {
    "csv": parse_csv,
    "xlsx": parse_xlsx,
    "ofx": parse_ofx,
    "camt053": parse_camt,
    "mt940": parse_mt940,
}

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".ofx": "ofx",
    ".qfx": "ofx",
    ".xml": "camt053",
    ".sta": "mt940",
    ".mt940": "mt940",
    ".940": "mt940",
}


def format_guess(path: Path) -> str:
    """The format a file name suggests; CSV when nothing else fits."""
    return _EXTENSIONS.get(path.suffix.lower(), "csv")


__all__ = [
    "FIELDS",
    "PARSERS",
    "ImportRejected",
    "ParseReport",
    "ParsedRecord",
    "ProfileSpec",
    "RowError",
    "format_guess",
]
