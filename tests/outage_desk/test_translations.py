"""The Chinese catalog: every message translated, none a fuzzy guess.

makemessages fills a new msgid with the translation of a similar old one and marks
it fuzzy; the catalog is compiled with --use-fuzzy, so such a guess would reach
users as if it were reviewed.
"""

from pathlib import Path

from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po"


def test_every_message_is_translated_and_none_is_a_guess():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 500
    untranslated = [m.id for m in messages if not m.string]
    guesses = [m.id for m in messages if m.fuzzy]
    assert untranslated == []
    assert guesses == []
