"""Fill a .po file from JSON glossaries (msgid -> translation), one file per app.

Usage: python tools/translate_po.py locale/zh_Hans/LC_MESSAGES/django.po locale/zh_Hans/glossary
The glossaries are the reviewed source of truth; makemessages keeps the .po in step with the code.
"""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def main(po_path: str, glossary_path: str) -> int:
    with open(po_path, "rb") as f:
        catalog = read_po(f)
    glossary: dict[str, str] = {}
    for path in sorted(Path(glossary_path).glob("*.json")):
        glossary.update(json.loads(path.read_text(encoding="utf-8")))
    catalog.fuzzy = False
    missing = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue
        if message.id in glossary:
            message.string = glossary[message.id]
            message.flags.discard("fuzzy")
        elif not message.string or message.fuzzy:
            # A fuzzy string is makemessages' guess from a similar msgid, not a
            # translation: it is reported like a missing one.
            missing.append(message.id)
    with open(po_path, "wb") as f:
        write_po(f, catalog, width=0)
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
