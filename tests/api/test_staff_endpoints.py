"""Customers, notices and templates in the API, with the screens' permissions."""

import pytest
from rest_framework.test import APIClient

from notifications.models import Notice, NoticeTemplateVersion
from notifications.services.staff import NOTICE_RESEND_NOT_FAILED
from notifications.services.templates import TEMPLATE_APPROVE_OWN
from outage_desk.models import AuditEvent
from tests.factories import CustomerFactory
from tests.notifications.factories import (
    NoticeTemplateFactory,
    NoticeTemplateVersionFactory,
)


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def notice(db):
    return Notice.objects.create(
        kind="eta_update",
        channel="email",
        recipient="someone@example.com",
        dedupe_key="k1",
        subject="Update",
        body="Back soon",
        status=Notice.Status.FAILED,
        subject_refs=["INC-2026-0001"],
    )


def test_customers_are_searched_like_the_capture_form(clerk, branch):
    CustomerFactory(account="GB00001234", name="Alice Thompson", branch=branch)
    bruno = CustomerFactory(account="GB00009999", name="Bruno Diaz", branch=branch)

    found = as_user(clerk).get("/api/v1/customers/?q=thomp").json()["results"]
    short = as_user(clerk).get("/api/v1/customers/?q=th")
    one = as_user(clerk).get(f"/api/v1/customers/{bruno.pk}/")
    missing = as_user(clerk).get(f"/api/v1/customers/{bruno.pk + 1}/")

    assert [c["account"] for c in found] == ["GB00001234"]
    assert found[0]["branch"] == "HQ"
    assert short.status_code == 400
    assert short.json()["error"]["fields"] == {
        "q": ["Type at least 3 characters to search."]
    }
    assert one.json()["name"] == "Bruno Diaz"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_another_branchs_customer_is_not_found(clerk, other_branch):
    theirs = CustomerFactory(account="CN00000077", name="Li Na", branch=other_branch)

    response = as_user(clerk).get(f"/api/v1/customers/{theirs.pk}/")
    search = as_user(clerk).get("/api/v1/customers/?q=Li Na")
    everyone = as_user(clerk).get("/api/v1/customers/")
    by_account = as_user(clerk).get("/api/v1/customers/?q=cn00000077")

    assert response.status_code == 404
    assert "Li Na" not in response.content.decode()
    assert search.json()["results"] == []
    assert everyone.json()["results"] == []
    # A full account number finds its customer at any branch (as on the form).
    assert [c["name"] for c in by_account.json()["results"]] == ["Li Na"]


def test_customers_page_by_cursor_in_account_order(clerk, branch):
    for n in (3, 1, 2):
        CustomerFactory(account=f"GB0000000{n}", name=f"Customer {n}", branch=branch)
    CustomerFactory(account="GB00000009", name="No branch", branch=None)

    first = as_user(clerk).get("/api/v1/customers/?page_size=3").json()
    rest = as_user(clerk).get(first["next"]).json()
    by_name = as_user(clerk).get("/api/v1/customers/?ordering=-name").json()

    assert [c["account"] for c in first["results"]] == [
        "GB00000001",
        "GB00000002",
        "GB00000003",
    ]
    assert [c["account"] for c in rest["results"]] == ["GB00000009"]
    assert rest["next"] is None
    assert [c["name"] for c in by_name["results"]] == [
        "No branch",
        "Customer 3",
        "Customer 2",
        "Customer 1",
    ]


def test_customers_need_the_capture_permission(finance, lead, db):
    assert as_user(finance).get("/api/v1/customers/?q=abc").status_code == 403
    assert as_user(lead).get("/api/v1/customers/?q=abc").status_code == 403


def test_the_delivery_log_pages_by_cursor_and_filters(lead, notice):
    Notice.objects.create(
        kind="eta_update",
        channel="sms",
        recipient="+447700900001",
        dedupe_key="k2",
        body="x",
        status=Notice.Status.SENT,
    )
    client = as_user(lead)

    page = client.get("/api/v1/notices/?page_size=1").json()
    second = client.get(page["next"]).json()
    failed = client.get("/api/v1/notices/?status=failed").json()

    assert len(page["results"]) == 1
    assert page["previous"] is None
    assert [n["id"] for n in second["results"]] == [notice.pk]
    assert [n["id"] for n in failed["results"]] == [notice.pk]


def test_a_failed_notice_is_resent_once(lead, notice):
    client = as_user(lead)

    resent = client.post(f"/api/v1/notices/{notice.pk}/resend/")
    again = client.post(f"/api/v1/notices/{notice.pk}/resend/")

    assert resent.status_code == 200
    assert resent.json()["status"] == "pending"
    assert again.status_code == 409
    assert again.json()["error"]["message"] == str(
        NOTICE_RESEND_NOT_FAILED % {"pk": notice.pk, "status": "Pending"}
    )
    assert AuditEvent.objects.filter(action="notice.resend").count() == 1


def test_notices_need_their_permission(clerk, notice):
    assert as_user(clerk).get("/api/v1/notices/").status_code == 403
    assert (
        as_user(clerk).post(f"/api/v1/notices/{notice.pk}/resend/").status_code == 403
    )
    assert Notice.objects.get().status == Notice.Status.FAILED


def test_templates_versions_preview_and_four_eyes(lead, admin_user, db):
    template = NoticeTemplateFactory()
    client = as_user(lead)
    sources = {
        "subject": "Update on {{ incident_reference }}",
        "body_text": "Back by {{ eta }}.",
    }

    listed = client.get("/api/v1/templates/?kind=eta_update&channel=email").json()
    preview = client.post(
        f"/api/v1/templates/{template.pk}/preview/", sources, format="json"
    )
    draft = client.post(
        f"/api/v1/templates/{template.pk}/versions/", sources, format="json"
    )
    versions = client.get(f"/api/v1/templates/{template.pk}/versions/").json()[
        "results"
    ]
    own = client.post(f"/api/v1/template-versions/{draft.json()['id']}/approve/")
    approved = as_user(admin_user).post(
        f"/api/v1/template-versions/{draft.json()['id']}/approve/"
    )

    assert template.pk in [t["id"] for t in listed["results"]]
    assert preview.status_code == 200
    assert "{{" not in preview.json()["body"]
    assert draft.status_code == 201
    assert next(v["id"] for v in versions) == draft.json()["id"]
    assert own.status_code == 403
    assert own.json() == {
        "error": {"code": "four_eyes", "message": str(TEMPLATE_APPROVE_OWN)}
    }
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"


def test_templates_refuse_bad_sources_and_other_roles(lead, clerk, db):
    template = NoticeTemplateFactory()
    version = NoticeTemplateVersionFactory(template=template)
    before = NoticeTemplateVersion.objects.count()

    bad = as_user(lead).post(
        f"/api/v1/templates/{template.pk}/versions/",
        {"body_text": "", "colour": "red"},
        format="json",
    )
    by_clerk = as_user(clerk).get("/api/v1/templates/")
    approve_by_clerk = as_user(clerk).post(
        f"/api/v1/template-versions/{version.pk}/approve/"
    )

    assert bad.status_code == 400
    assert sorted(bad.json()["error"]["fields"]) == ["colour"]
    assert by_clerk.status_code == 403
    assert approve_by_clerk.status_code == 403
    assert NoticeTemplateVersion.objects.count() == before


def test_a_time_filter_with_an_impossible_offset_is_refused(clerk, db):
    from deposits.api.filters import ERROR_OFFSET

    response = as_user(clerk).get(
        "/api/v1/deposits/?received_after=2026-02-07T20%3A54%3A57%2B20%3A44"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"received_after": [str(ERROR_OFFSET)]}
