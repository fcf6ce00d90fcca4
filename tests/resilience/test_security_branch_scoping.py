"""Branch scoping: walk every URL pattern as staff of branch A asking for branch B's
objects and lists; A gets 403 or 404 and never sees any of B's data."""

import datetime as dt
import itertools
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from deposits.errors import DepositConflictError
from deposits.models import Deposit, DepositConflict, DepositEvidence, DepositReversal
from deposits.services import deposit_record, deposit_reversal_request
from notifications.models import Notice
from outage_desk.tokens import api_token_create
from tests.security_support import branch_world, capture, open_incident

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# URL name -> which of B's objects each int kwarg addresses. Every such URL must
# answer 403 or 404 (405 for a method the view does not take) to A.
OBJECT_URLS = {
    "deposits:detail": {"pk": "deposit"},
    "deposits:receipt": {"pk": "deposit"},
    "deposits:receipt_pdf": {"pk": "deposit"},
    "deposits:approve": {"pk": "deposit"},
    "deposits:evidence": {"pk": "deposit", "evidence_pk": "evidence"},
    "deposits:reversal_decide": {"pk": "reversal"},
    "deposits:conflict_resolve": {"pk": "conflict"},
    "deposit-detail": {"pk": "deposit"},
    "deposit-reverse": {"pk": "deposit"},
    "deposit-approve": {"pk": "deposit"},
    "reversal-approve": {"pk": "reversal"},
    "account-token-revoke": {"pk": "token"},
    "token-detail": {"pk": "token"},
    "notifications:resend": {"pk": "notice"},
}
REFUSED = {403, 404, 405}


def url_patterns(resolver=None, prefix="", namespace=""):
    """(route, name, converters) for every pattern, recursively."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from url_patterns(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            converters = dict(getattr(p.pattern, "converters", {}))
            name = f"{namespace}{p.name}" if p.name else ""
            yield prefix + str(p.pattern), name, converters


def fill(route: str, values: dict[str, object]) -> str | None:
    """The route with each <conv:name> replaced; None for regex routes we cannot fill."""
    if "^" in route or "(?P" in route:
        return None
    out = route
    for name, value in values.items():
        for conv in ("int", "str", "slug", "path", "uuid"):
            out = out.replace(f"<{conv}:{name}>", str(value))
        out = out.replace(f"<{name}>", str(value))
    return "/" + out if "<" not in out else None


@pytest.fixture
def two_branches(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    a = branch_world("HQ")
    b = branch_world("NORTH")
    incident = open_incident()
    b_deposits = [
        capture(world=b, incident=incident, amount=Decimal("55.00")),
        capture(world=b, incident=incident, amount=Decimal("5000.00")),
    ]
    with_evidence, _ = deposit_record(
        incident=incident,
        branch=b.branch,
        recorded_by=b.clerk,
        client_uuid=uuid.uuid4(),
        channel=Deposit.Channel.CASH,
        account=b.customer.account,
        payer_name=b.customer.name,
        customer=b.customer,
        amount=Decimal("77.00"),
        currency="GBP",
        received_at=timezone.now() - dt.timedelta(minutes=3),
        reference="SLIP-B",
        source=Deposit.Source.FORM,
        evidence=[SimpleUploadedFile("slip.png", PNG, "image/png")],
    )
    b_deposits.append(with_evidence)
    deposit_reversal_request(
        deposit=b_deposits[0], requested_by=b.clerk, reason="Keyed twice"
    )
    try:
        deposit_record(
            incident=incident,
            branch=b.branch,
            recorded_by=b.clerk,
            client_uuid=with_evidence.client_uuid,
            channel=Deposit.Channel.CASH,
            account=b.customer.account,
            payer_name=b.customer.name,
            amount=Decimal("78.00"),
            currency="GBP",
            received_at=timezone.now(),
            source=Deposit.Source.FORM,
        )
    except DepositConflictError:
        pass
    api_token_create(user=b.clerk, name="teller app")
    b_ids = {
        "deposit": [d.pk for d in b_deposits],
        "evidence": list(DepositEvidence.objects.values_list("pk", flat=True)),
        "reversal": list(DepositReversal.objects.values_list("pk", flat=True)),
        "conflict": list(DepositConflict.objects.values_list("pk", flat=True)),
        "token": list(b.clerk.api_tokens.values_list("pk", flat=True)),
        "notice": list(Notice.objects.values_list("pk", flat=True)[:2]),
    }
    assert all(b_ids.values()), b_ids
    secrets = [b.customer.account, b.customer.name, b.customer.email]
    secrets += [d.receipt_number for d in b_deposits]
    return a, b, incident, b_ids, secrets


def b_state():
    """Everything a request could change about B's objects."""
    return (
        sorted(Deposit.objects.values_list("pk", "status", "approved_by")),
        sorted(DepositReversal.objects.values_list("pk", "status")),
        sorted(DepositConflict.objects.values_list("pk", "status")),
        sorted(Notice.objects.values_list("pk", "status")),
        Deposit.objects.count(),
    )


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def requests_for(route, name, converters, b_ids, secrets, incident):
    """Concrete URLs for one pattern: B's objects for object URLs, B's values elsewhere."""
    kwargs = list(converters) or []
    if name in OBJECT_URLS:
        kinds = OBJECT_URLS[name]
        choices = [b_ids[kinds[k]] for k in kwargs]
        for combo in itertools.product(*choices):
            yield fill(route, dict(zip(kwargs, combo, strict=True))), True
        return
    all_ids = sorted({i for ids in b_ids.values() for i in ids})
    strings = [incident.reference, "csv", secrets[3]]
    pools = [
        all_ids if type(converters[k]).__name__ == "IntConverter" else strings
        for k in kwargs
    ]
    for combo in itertools.product(*pools):
        yield fill(route, dict(zip(kwargs, combo, strict=True))), False
    if not kwargs:
        for query in ("?q=" + secrets[1][:5], "?q=" + secrets[0][2:8], "?branch=NORTH"):
            yield fill(route, {}) + query, False


@pytest.mark.parametrize("persona", ["clerk", "supervisor"])
def test_no_url_gives_branch_a_anything_of_branch_b(client, two_branches, persona):
    a, _, incident, b_ids, secrets = two_branches
    user = getattr(a, persona)
    _, key = api_token_create(user=user, name="walk")
    before = b_state()
    seen, leaks, wrong_status, statuses = 0, [], [], Counter()

    for route, name, converters in url_patterns():
        if route.startswith(("admin/", "logout/", "login/")):
            continue
        for url, is_b_object in requests_for(
            route, name, converters, b_ids, secrets, incident
        ):
            if url is None:
                continue
            for method in ("get", "post"):
                client.force_login(user)
                headers = (
                    {"HTTP_AUTHORIZATION": f"Token {key}"}
                    if url.startswith("/api/")
                    else {}
                )
                response = getattr(client, method)(url, **headers)
                seen += 1
                text = body(response)
                found = [s for s in secrets if s in text and s not in url]
                if found:
                    leaks.append((method, url, response.status_code, found))
                if is_b_object:
                    statuses[response.status_code] += 1
                if is_b_object and response.status_code not in REFUSED:
                    wrong_status.append((method, url, response.status_code))

    print(f"walk as {persona}: {seen} requests, B objects answered {dict(statuses)}")
    assert leaks == []
    assert wrong_status == []
    assert b_state() == before
    assert seen > 150


def test_the_detector_sees_b_data_when_b_asks(client, two_branches):
    """Control: the same check finds B's values in B's own pages."""
    _, b, _, b_ids, secrets = two_branches
    client.force_login(b.clerk)

    page = body(client.get(f"/deposits/{b_ids['deposit'][0]}/"))
    api = client.get(f"/api/v1/deposits/{b_ids['deposit'][0]}/").json()

    assert secrets[3] in page and b.customer.account in page
    assert (api["receipt_number"], api["account"]) == (secrets[3], b.customer.account)
