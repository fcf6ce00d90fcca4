"""Exports never carry a live formula, and numbers stay numbers."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from incidents.services import bank_contact_record
from outage_desk.exports import FORMULA_PREFIXES, cell_safe
from tests.security_support import open_incident

ROOT = Path(settings.BASE_DIR)
# Every module that writes a CSV or XLSX file a person opens in a spreadsheet.
EXPORTS = {
    "incidents/exports.py",
    "reconciliation/export.py",
    "reconciliation/posting.py",
    "reconciliation/reports.py",
}
# CSV written for the database's COPY, never shown to a person.
INTERNAL = {"reconciliation/loading.py", "reconciliation/storage.py"}
WRITERS = re.compile(r"csv\.writer|csv\.DictWriter|Workbook\(|xlsxwriter")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\r=CR", '=HYPERLINK("x")']


def test_every_export_module_is_known_and_uses_cell_safe():
    found = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "node_modules/", "tests/", "bench/")):
            continue
        if WRITERS.search(path.read_text(encoding="utf-8")):
            found.add(rel)

    assert found <= EXPORTS | INTERNAL, found - EXPORTS - INTERNAL
    for rel in found & EXPORTS:
        assert "cell_safe" in (ROOT / rel).read_text(encoding="utf-8"), rel


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_starters_are_neutralised(value):
    assert cell_safe(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-12.50"), "-12.50"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        (0, "0"),
        (Decimal("1000.000"), "1000.000"),
        (None, ""),
        ("plain", "plain"),
    ],
)
def test_numbers_stay_numbers(value, expected):
    assert cell_safe(value) == expected


@given(st.text(max_size=30))
def test_no_cell_ever_starts_a_formula(text):
    out = cell_safe(text)

    assert not out.startswith(FORMULA_PREFIXES) or NUMBER.match(out)
    assert out.removeprefix("'") == text or out == text


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2))
def test_every_decimal_amount_is_written_unchanged(amount):
    assert Decimal(cell_safe(amount)) == amount


def test_the_bank_contact_csv_carries_no_live_formula(client, db, roles):
    from outage_desk.roles import Role
    from tests.factories import UserFactory

    lead = UserFactory(username="dana", roles=[Role.INCIDENT_LEAD], is_staff=True)
    incident = open_incident()
    for n, hostile in enumerate(HOSTILE):
        bank_contact_record(
            incident=incident,
            contacted_at=timezone.now() - dt.timedelta(minutes=10 + n),
            channel="phone",
            staff=lead,
            recorded_by=lead,
            summary=hostile,
            bank_agent=hostile.strip() or "agent",
            bank_ticket_ref=hostile,
            commitments=hostile,
        )
    client.force_login(lead)

    response = client.get(f"/incidents/{incident.reference}/bank-contacts.csv")

    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) == len(HOSTILE) + 1
    live = [c for c in cells if c.startswith(FORMULA_PREFIXES) and not NUMBER.match(c)]
    assert live == []
    summaries = sorted(r[rows[0].index("summary")] for r in rows[1:])
    # The service strips surrounding blanks, so a leading tab or CR goes first.
    assert summaries == sorted(cell_safe(h.strip()) for h in HOSTILE)
    assert sum(s.startswith("'") for s in summaries) == len(HOSTILE) - 1
    assert all(NUMBER.match(r[0]) for r in rows[1:])
