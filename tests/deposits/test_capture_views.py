import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from deposits.errors import (
    ERROR_FILE_TOO_LARGE,
    ERROR_FILE_TYPE,
    ERROR_IN_FUTURE,
    ERROR_INCIDENT_CLOSED,
    ERROR_OTHER_BRANCH,
    ERROR_UUID_CONFLICT,
    ERROR_UUID_INVALID,
)
from deposits.models import Deposit, DepositConflict
from deposits.selectors import branch_today_start
from outage_desk.money import (
    ERROR_NOT_POSITIVE,
    ERROR_TOO_MANY_DECIMALS,
    ERROR_UNKNOWN_CURRENCY,
)
from tests.factories import CustomerFactory

from .factories import DepositFactory
from .helpers import PNG, row_counts

UUID = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def form_data(incident):
    received = timezone.localtime(timezone.now() - dt.timedelta(minutes=5))
    return {
        "client_uuid": UUID,
        "branch": "HQ",
        "incident": str(incident.pk),
        "channel": "cash",
        "customer": "",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": "125.50",
        "currency": "GBP",
        "received_at": received.strftime("%Y-%m-%dT%H:%M"),
        "reference": "SLIP-9",
        "note": "",
        "duplicate_reason": "",
    }


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def html(response) -> str:
    return response.content.decode()


def test_the_capture_page_makes_a_new_client_uuid_each_time(clerk_client, incident):
    first = clerk_client.get("/deposits/")
    second = clerk_client.get("/deposits/")

    assert first.status_code == 200
    pattern = r'name="client_uuid" value="([0-9a-f-]{36})"'
    one = re.search(pattern, html(first)).group(1)
    two = re.search(pattern, html(second)).group(1)
    assert one != two
    assert 'name="branch" value="HQ"' in html(first)
    assert incident.reference in html(first)


def test_a_plain_post_records_and_redirects_to_the_receipt(clerk_client, form_data):
    response = clerk_client.post("/deposits/", form_data)

    deposit = Deposit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/deposits/{deposit.pk}/receipt/"
    assert deposit.amount == Decimal("125.50")
    assert deposit.source == Deposit.Source.FORM
    assert str(deposit.client_uuid) == UUID


def test_an_htmx_post_answers_with_a_fresh_form_and_the_updated_list(
    clerk_client, form_data
):
    response = clerk_client.post(
        "/deposits/", form_data, headers={"HX-Request": "true"}
    )

    body = html(response)
    assert response.status_code == 200
    assert "HQ-000001" in body
    assert 'hx-swap-oob="true"' in body
    assert f'value="{UUID}"' not in body
    assert Deposit.objects.count() == 1


def test_a_double_click_leaves_one_deposit(clerk_client, form_data):
    first = clerk_client.post("/deposits/", form_data, headers={"HX-Request": "true"})
    second = clerk_client.post("/deposits/", form_data, headers={"HX-Request": "true"})

    assert Deposit.objects.count() == 1
    assert "Recorded" in html(first)
    assert "Already recorded" in html(second)
    assert "HQ-000001" in html(second)


def test_the_same_uuid_with_other_content_shows_the_conflict(clerk_client, form_data):
    clerk_client.post("/deposits/", form_data)
    before = row_counts()

    response = clerk_client.post("/deposits/", {**form_data, "amount": "99.00"})

    assert response.status_code == 200
    assert str(ERROR_UUID_CONFLICT) in html(response)
    assert Deposit.objects.get().amount == Decimal("125.50")
    assert DepositConflict.objects.count() == 1
    assert row_counts()["deposits"] == before["deposits"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "-5"}, ERROR_NOT_POSITIVE),
        ({"amount": "0"}, ERROR_NOT_POSITIVE),
        ({"amount": "1.005"}, ERROR_TOO_MANY_DECIMALS % {"code": "GBP", "places": 2}),
        ({"currency": "XYZ"}, ERROR_UNKNOWN_CURRENCY % {"code": "XYZ"}),
        ({"branch": "NORTH"}, ERROR_OTHER_BRANCH),
        (
            {"client_uuid": "123-not-a-uuid"},
            ERROR_UUID_INVALID % {"value": "123-not-a-uuid"},
        ),
    ],
)
def test_bad_form_input_is_refused_and_nothing_is_written(
    clerk_client, form_data, other_branch, changes, message
):
    before = row_counts()

    response = clerk_client.post("/deposits/", {**form_data, **changes})

    assert response.status_code == 200
    assert str(message) in response.content.decode().replace("&quot;", '"').replace(
        "&#x27;", "'"
    )
    assert row_counts() == before


def test_a_future_time_is_refused(clerk_client, form_data):
    future = timezone.localtime(timezone.now() + dt.timedelta(days=1))
    before = row_counts()

    response = clerk_client.post(
        "/deposits/", {**form_data, "received_at": future.strftime("%Y-%m-%dT%H:%M")}
    )

    assert str(ERROR_IN_FUTURE) in html(response)
    assert row_counts() == before


def test_a_closed_incident_is_refused(clerk_client, form_data, closed_incident):
    before = row_counts()

    response = clerk_client.post(
        "/deposits/", {**form_data, "incident": str(closed_incident.pk)}
    )

    assert str(ERROR_INCIDENT_CLOSED % {"ref": "INC-2026-0002"}) in html(response)
    assert row_counts() == before


def test_a_wrongly_typed_file_is_refused(clerk_client, form_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = row_counts()
    fake = SimpleUploadedFile("slip.jpg", b"<html>not a photo</html>")

    response = clerk_client.post("/deposits/", {**form_data, "evidence": [fake]})

    assert str(ERROR_FILE_TYPE % {"name": "slip.jpg"}).replace("“", "&ldquo;") in html(
        response
    ) or str(ERROR_FILE_TYPE % {"name": "slip.jpg"}) in html(response)
    assert row_counts() == before
    assert list(tmp_path.iterdir()) == []


def test_an_oversized_file_is_refused(clerk_client, form_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEPOSIT_EVIDENCE_MAX_BYTES = 1024 * 1024
    before = row_counts()
    big = SimpleUploadedFile("slip.png", PNG + b"0" * (1024 * 1024))

    response = clerk_client.post("/deposits/", {**form_data, "evidence": [big]})

    assert str(ERROR_FILE_TOO_LARGE % {"name": "slip.png", "limit": 1}) in html(
        response
    )
    assert row_counts() == before


def test_a_possible_duplicate_is_shown_and_can_be_saved_with_a_reason(
    clerk_client, form_data
):
    clerk_client.post("/deposits/", form_data)
    again = {**form_data, "client_uuid": str(uuid.uuid4())}

    warned = clerk_client.post("/deposits/", again)
    assert 'data-testid="duplicates"' in html(warned)
    assert "HQ-000001" in html(warned)
    assert Deposit.objects.count() == 1

    saved = clerk_client.post(
        "/deposits/", {**again, "duplicate_reason": "Customer paid twice"}
    )
    assert saved.status_code == 302
    assert Deposit.objects.count() == 2


def test_evidence_uploaded_with_the_form_is_served_only_as_an_attachment(
    clerk_client, form_data, settings, tmp_path, client, outsider
):
    settings.MEDIA_ROOT = tmp_path
    clerk_client.post(
        "/deposits/",
        {**form_data, "evidence": [SimpleUploadedFile("slip.png", PNG)]},
    )
    deposit = Deposit.objects.get()
    evidence = deposit.evidence.get()

    response = clerk_client.get(f"/deposits/{deposit.pk}/evidence/{evidence.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == PNG
    client.force_login(outsider)
    assert (
        client.get(f"/deposits/{deposit.pk}/evidence/{evidence.pk}/").status_code == 404
    )


def test_customer_search_finds_by_account_name_or_phone(clerk_client, branch):
    CustomerFactory(
        account="GB11112222", name="Zhang Wei", phone="+447700111222", branch=branch
    )
    CustomerFactory(
        account="GB33334444", name="Mary Smith", phone="+447700333444", branch=branch
    )

    by_account = html(clerk_client.get("/deposits/customers/?q=1111"))
    by_name = html(clerk_client.get("/deposits/customers/?q=smi"))
    by_phone = html(clerk_client.get("/deposits/customers/?q=333444"))

    assert "GB11112222" in by_account and "GB33334444" not in by_account
    assert "Mary Smith" in by_name and "Zhang Wei" not in by_name
    assert "GB33334444" in by_phone and "GB11112222" not in by_phone


def test_todays_list_is_scoped_sorted_and_totalled(
    clerk_client, clerk, branch, other_branch, incident
):
    confirmed = DepositFactory(
        branch=branch,
        incident=incident,
        recorded_by=clerk,
        receipt_number="HQ-1",
        status=Deposit.Status.CONFIRMED,
        amount=Decimal("10.00"),
    )
    provisional = DepositFactory(
        branch=branch,
        incident=incident,
        recorded_by=clerk,
        receipt_number="HQ-2",
        amount=Decimal("5.25"),
        # earlier than the others, but today in the branch even just after midnight
        recorded_at=max(
            timezone.now() - dt.timedelta(minutes=30), branch_today_start(branch)
        ),
    )
    DepositFactory(
        branch=branch,
        incident=incident,
        recorded_by=clerk,
        receipt_number="HQ-3",
        channel=Deposit.Channel.PHONE,
        amount=Decimal("1.00"),
        currency="USD",
    )
    DepositFactory(
        branch=other_branch, incident=incident, receipt_number="N-1", currency="CNY"
    )

    body = html(clerk_client.get("/deposits/"))

    today = body.split('data-testid="today"', 1)[1]
    assert today.index("HQ-2") < today.index("HQ-1")
    assert today.index("HQ-3") < today.index("HQ-1")
    assert "N-1" not in body
    totals = body.split('data-testid="totals"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r"<tr><td>(\w+)</td><td data-channel=\"(\w+)\">[^<]*</td>\s*<td[^>]*>(\d+)</td><td[^>]*>([\d.,]+)</td>",
        totals,
    )
    assert rows == [("GBP", "cash", "2", "15.25"), ("USD", "phone", "1", "1.00")]
    assert confirmed.pk and provisional.pk


@pytest.mark.parametrize("count", [2, 40])
def test_the_capture_page_takes_a_fixed_number_of_queries(
    clerk_client, clerk, branch, incident, count, django_assert_num_queries
):
    DepositFactory.create_batch(
        count, branch=branch, incident=incident, recorded_by=clerk
    )

    with django_assert_num_queries(9):
        response = clerk_client.get("/deposits/")

    assert response.status_code == 200


def test_another_branch_deposit_is_not_found(client, outsider, branch, incident, clerk):
    deposit = DepositFactory(branch=branch, incident=incident, recorded_by=clerk)
    client.force_login(outsider)

    for url in ("", "receipt/", "receipt.pdf"):
        assert client.get(f"/deposits/{deposit.pk}/{url}").status_code == 404


def test_who_may_open_the_capture_and_supervision_screens(
    client, clerk, supervisor, finance, lead
):
    expected = {
        clerk: (200, 403),
        supervisor: (200, 200),
        finance: (403, 403),
        lead: (403, 403),
    }
    for user, (capture, supervision) in expected.items():
        client.force_login(user)
        assert client.get("/deposits/").status_code == capture, user
        assert client.get("/deposits/supervision/").status_code == supervision, user
    client.logout()
    assert client.get("/deposits/")["Location"] == "/login/?next=/deposits/"


def test_the_receipt_is_in_the_customers_language(
    clerk_client, clerk, branch, incident
):
    customer = CustomerFactory(language="zh-hans", branch=branch)
    deposit = DepositFactory(
        branch=branch,
        incident=incident,
        recorded_by=clerk,
        customer=customer,
        account=customer.account,
        amount=Decimal("88.80"),
    )

    page = clerk_client.get(f"/deposits/{deposit.pk}/receipt/")
    pdf = clerk_client.get(f"/deposits/{deposit.pk}/receipt.pdf")

    assert "存款收据" in html(page)
    assert "88.80 GBP" in html(page)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert b"STSong-Light" in pdf.content
