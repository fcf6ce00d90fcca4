import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from deposits.models import Branch, Customer, Deposit, ImportLog
from deposits.services import deposit_record
from tests.factories import BranchFactory, CustomerFactory

from .conftest import capture_kwargs
from .helpers import row_counts

DEPOSIT_HEADER = (
    "receipt_number,branch,channel,account,payer_name,amount,currency,"
    "received_at,reference,note\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def received(minutes_ago=30):
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


def test_import_branches_upserts_by_code_and_sets_refreshed_at(db, tmp_path):
    BranchFactory(code="HQ", name="Old name")
    path = write(
        tmp_path,
        "b.csv",
        "code,name,timezone,currency\nHQ,Head office,Europe/London,GBP\n"
        "SH1,Shanghai,Asia/Shanghai,CNY\n",
    )

    call_command("import_branches", path)

    assert list(Branch.objects.order_by("code").values_list("code", "name")) == [
        ("HQ", "Head office"),
        ("SH1", "Shanghai"),
    ]
    assert Branch.objects.filter(refreshed_at__isnull=True).count() == 0
    log = ImportLog.objects.get()
    assert (log.kind, log.created, log.updated) == ("branches", 1, 1)


def test_bad_branch_rows_are_all_reported_and_nothing_changes(db, tmp_path, capsys):
    BranchFactory(code="HQ", name="Old name")
    path = write(
        tmp_path,
        "b.csv",
        "code,name,timezone,currency\nHQ,New,Mars/Olympus,GBP\nX,,UTC,ABC\n",
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_branches", path)

    err = capsys.readouterr().err
    assert "line 2, column timezone: unknown time zone “Mars/Olympus”" in err
    assert "line 3, column name: is required" in err
    assert "line 3, column currency: unknown currency “ABC”" in err
    assert str(caught.value) == "3 bad row(s); nothing was imported."
    assert Branch.objects.get().name == "Old name"
    assert ImportLog.objects.count() == 0


def test_import_customers_upserts_by_account(db, tmp_path):
    BranchFactory(code="HQ")
    CustomerFactory(account="GB0001", name="Old")
    path = write(
        tmp_path,
        "c.csv",
        "account,name,tier,language,email,phone,branch\n"
        "GB0001,Alice Thompson,premium,en,alice@example.com,+447700900001,HQ\n"
        "CN0001,王芳,,zh-hans,,+8613800000001,\n",
    )

    call_command("import_customers", path)

    alice = Customer.objects.get(account="GB0001")
    wang = Customer.objects.get(account="CN0001")
    assert (alice.name, alice.tier, alice.branch.code) == (
        "Alice Thompson",
        "premium",
        "HQ",
    )
    assert (wang.name, wang.tier, wang.language, wang.branch) == (
        "王芳",
        "standard",
        "zh-hans",
        None,
    )
    assert alice.refreshed_at is not None


def test_bad_customer_rows_change_nothing(db, tmp_path, capsys):
    CustomerFactory(account="GB0001", name="Old")
    path = write(
        tmp_path,
        "c.csv",
        "account,name,tier,language,email,phone,branch\n"
        "GB0001,New,gold,en,not-an-email,,NOPE\n",
    )

    with pytest.raises(CommandError):
        call_command("import_customers", path)

    err = capsys.readouterr().err
    assert (
        "line 2, column tier: “gold” is not one of standard, premium, business" in err
    )
    assert "line 2, column email: “not-an-email” is not an e-mail address" in err
    assert "line 2, column branch: unknown branch “NOPE”" in err
    assert Customer.objects.get().name == "Old"


def test_a_wrong_header_is_refused(db, tmp_path, capsys):
    path = write(tmp_path, "c.csv", "acct,name\nX,Y\n")

    with pytest.raises(CommandError):
        call_command("import_customers", path)

    assert (
        "line 1, column header: The header must be: account,name,tier"
        in capsys.readouterr().err
    )


def test_import_deposits_keeps_receipts_and_a_second_run_adds_nothing(
    tmp_path, incident, branch, capsys
):
    CustomerFactory(account="GB0001", branch=branch)
    path = write(
        tmp_path,
        "d.csv",
        DEPOSIT_HEADER
        + f"P-0001,HQ,cash,GB0001,Alice,125.50,GBP,{received()},SLIP-1,paper\n"
        + f"HQ-000007,HQ,phone,GB0002,Bob,10,GBP,{received(20)},,\n",
    )

    call_command("import_deposits", path, "--incident", "INC-2026-0001")
    before = row_counts()
    call_command("import_deposits", path, "--incident", "INC-2026-0001")

    assert row_counts()["deposits"] == before["deposits"] == 2
    out = capsys.readouterr().out
    assert "created 2, updated 0, skipped 0" in out
    assert "created 0, updated 0, skipped 2" in out
    paper = Deposit.objects.get(receipt_number="P-0001")
    assert paper.amount == Decimal("125.50")
    assert paper.source == Deposit.Source.IMPORT
    assert paper.customer.account == "GB0001"
    assert paper.recorded_by.username == "import"


def test_imported_receipts_in_our_format_move_the_counter_on(
    tmp_path, incident, branch, clerk
):
    path = write(
        tmp_path,
        "d.csv",
        DEPOSIT_HEADER + f"HQ-000007,HQ,phone,GB0002,Bob,10,GBP,{received(20)},,\n",
    )
    call_command("import_deposits", path, "--incident", "INC-2026-0001")

    deposit, _ = deposit_record(
        **capture_kwargs(incident=incident, branch=branch, recorded_by=clerk)
    )

    assert deposit.receipt_number == "HQ-000008"


def test_bad_deposit_rows_are_reported_and_nothing_is_imported(
    tmp_path, incident, branch, capsys
):
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    path = write(
        tmp_path,
        "d.csv",
        DEPOSIT_HEADER
        + f"P-1,HQ,cash,GB1,Al,125.50,GBP,{received()},,\n"
        + f"P-2,HQ,cash,GB1,Al,-1,GBP,{received()},,\n"
        + f"P-3,HQ,cash,GB1,Al,1.001,GBP,{received()},,\n"
        + f"P-4,HQ,cash,GB1,Al,1,XYZ,{received()},,\n"
        + f"P-5,HQ,cash,GB1,Al,1,GBP,{future},,\n"
        + "P-6,HQ,cash,GB1,Al,1,GBP,2026-01-01 10:00,,\n"
        + f"P-7,MARS,fax,GB1,Al,1,GBP,{received()},,\n"
        + f"P-1,HQ,cash,GB1,Al,2,GBP,{received()},,\n",
    )
    before = row_counts()

    with pytest.raises(CommandError):
        call_command("import_deposits", path, "--incident", "INC-2026-0001")

    err = capsys.readouterr().err
    for expected in [
        "line 3, column amount: The amount must be greater than zero.",
        "line 4, column amount: GBP amounts have at most 2 decimal places.",
        "line 5, column currency: Unknown currency code “XYZ”; use an ISO 4217 code.",
        "line 6, column received_at: is in the future",
        "line 7, column received_at: “2026-01-01 10:00” is not an ISO 8601 time with an offset",
        "line 8, column branch: unknown branch “MARS”",
        "line 8, column channel: “fax” is not one of phone, email, in_person, bank_transfer, cash",
        "line 9, column receipt_number: “P-1” appears more than once in the file",
    ]:
        assert expected in err
    assert row_counts() == before


def test_a_supervisor_uploads_a_log_for_their_own_branch_only(
    client, supervisor, incident, branch, other_branch
):
    client.force_login(supervisor)
    good = DEPOSIT_HEADER + f"P-1,HQ,cash,GB1,Al,5,GBP,{received()},,\n"
    bad = DEPOSIT_HEADER + f"P-2,NORTH,cash,GB1,Al,5,CNY,{received()},,\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    refused = client.post(
        "/deposits/supervision/import/",
        {"incident": incident.pk, "file": SimpleUploadedFile("log.csv", bad.encode())},
    )
    assert refused.status_code == 400
    assert "line 2, column branch: is not your branch" in refused.content.decode()
    assert Deposit.objects.count() == 0

    accepted = client.post(
        "/deposits/supervision/import/",
        {"incident": incident.pk, "file": SimpleUploadedFile("log.csv", good.encode())},
    )
    assert accepted.status_code == 302
    assert Deposit.objects.get().recorded_by == supervisor


def test_a_clerk_cannot_upload_a_log(client, clerk, incident):
    client.force_login(clerk)

    response = client.post("/deposits/supervision/import/", {"incident": incident.pk})

    assert response.status_code == 403
