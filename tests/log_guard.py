"""Over the whole test run, no log record may carry a secret or a customer's data.

Factories and fixtures register the sensitive values they create (full account
numbers, customer names, passwords, API keys); every record logged anywhere during
the run is kept, and the run fails at the end if one of them contains such a value.
"""

import logging
import re

SENSITIVE: set[str] = set()
# Values shorter than this are too common to search for ("pw", "HQ").
MIN_LENGTH = 6
# Patterns that must never be logged whatever created them.
PATTERNS = [re.compile(r"od_[A-Za-z0-9_-]{20,}")]  # API keys


def sensitive(*values: object) -> None:
    """Register values that must never appear in a log record."""
    for value in values:
        text = str(value or "")
        if len(text) >= MIN_LENGTH:
            SENSITIVE.add(text)


class RecordKeeper(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken record is not this guard's business
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        self.messages.append(f"{record.name}: {text}")


KEEPER = RecordKeeper()


def leaks() -> list[str]:
    """Each logged message that contains a registered or patterned secret."""
    found = []
    for message in KEEPER.messages:
        hits = [v for v in SENSITIVE if v in message]
        hits += [p.pattern for p in PATTERNS if p.search(message)]
        if hits:
            found.append(f"{message!r} contains {hits}")
    return found
