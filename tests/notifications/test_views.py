"""Staff screens: templates (edit, preview, approve), delivery log, resend; unsubscribe."""

import pytest
from django.test import Client

from notifications.models import (
    Notice,
    NoticeTemplate,
    NoticeTemplateVersion,
    OptOut,
)
from notifications.preferences import UNSUBSCRIBE_BAD_LINK, unsubscribe_token
from notifications.services import Recipient, notify, template_version_create
from notifications.services.staff import NOTICE_RESEND_NOT_FAILED
from notifications.services.templates import TEMPLATE_APPROVE_OWN
from outage_desk.models import AuditEvent
from outage_desk.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead2(roles):
    return UserFactory(username="emil", branch=None, roles=[Role.INCIDENT_LEAD])


@pytest.fixture
def sms_template():
    return NoticeTemplate.objects.get(kind="eta_update", channel="sms", language="en")


@pytest.fixture
def email_template():
    return NoticeTemplate.objects.get(kind="eta_update", channel="email", language="en")


def _login(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("clerk", 403),
        ("supervisor", 403),
        ("finance", 403),
        ("lead", 200),
        ("admin_user", 200),
    ],
)
def test_template_list_permission_matrix(client, request, persona, status):
    _login(client, request.getfixturevalue(persona))

    response = client.get("/notices/templates/")

    assert response.status_code == status


def test_template_list_needs_a_login(client):
    response = client.get("/notices/templates/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_list_shows_every_template_with_its_live_version(client, lead):
    response = _login(client, lead).get("/notices/templates/")

    assert response.status_code == 200
    assert len(response.context["rows"]) == NoticeTemplate.objects.count()
    assert {row["live"].number for row in response.context["rows"]} == {1}


def test_the_editor_shows_the_live_wording_and_a_preview(client, lead, email_template):
    response = _login(client, lead).get(f"/notices/templates/{email_template.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'hx-post="/notices/templates/{email_template.pk}/preview/"' in body
    assert response.context["preview"].subject == (
        "Update on INC-2026-0042: expected back 2026-11-22 14:00 UTC"
    )


def test_saving_in_the_editor_creates_a_draft_version(client, lead, email_template):
    response = _login(client, lead).post(
        f"/notices/templates/{email_template.pk}/",
        {"subject": "ETA {{ eta }}", "body_text": "Back {{ eta }}", "body_html": ""},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/notices/templates/{email_template.pk}/"
    version = NoticeTemplateVersion.objects.get(template=email_template, number=2)
    assert version.status == "draft"
    assert version.created_by == lead


def test_an_unknown_placeholder_is_refused_in_the_editor_and_nothing_is_saved(
    client, lead, email_template
):
    before = NoticeTemplateVersion.objects.count()

    response = _login(client, lead).post(
        f"/notices/templates/{email_template.pk}/",
        {"subject": "ETA {{ eta }}", "body_text": "Back {{ etta }}", "body_html": ""},
    )

    assert response.status_code == 200
    assert "Text: unknown placeholder “etta”" in response.content.decode()
    assert NoticeTemplateVersion.objects.count() == before


def test_broken_syntax_is_refused_in_the_editor(client, lead, email_template):
    response = _login(client, lead).post(
        f"/notices/templates/{email_template.pk}/",
        {"subject": "ETA", "body_text": "{% if eta %}open", "body_html": ""},
    )

    assert response.status_code == 200
    assert "Text: template syntax error" in response.content.decode()
    assert not NoticeTemplateVersion.objects.filter(number=2).exists()


def test_someone_who_may_only_view_cannot_save(client, roles, email_template):
    viewer = UserFactory(username="vic", branch=None)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_noticetemplate"))

    response = _login(client, viewer).post(
        f"/notices/templates/{email_template.pk}/",
        {"subject": "x", "body_text": "y", "body_html": ""},
    )

    assert response.status_code == 403
    assert not NoticeTemplateVersion.objects.filter(number=2).exists()


def test_the_htmx_preview_counts_sms_segments_server_side(client, lead, sms_template):
    response = _login(client, lead).post(
        f"/notices/templates/{sms_template.pk}/preview/",
        {"body_text": "预计 {{ eta }}" + "好" * 70},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="preview"')
    assert "<html" not in body
    assert "Segments: 2" in body
    assert "UCS-2" in body


def test_the_htmx_preview_names_an_unknown_placeholder(client, lead, sms_template):
    response = _login(client, lead).post(
        f"/notices/templates/{sms_template.pk}/preview/",
        {"body_text": "{{ nope }}"},
        HTTP_HX_REQUEST="true",
    )

    assert "unknown placeholder “nope”" in response.content.decode()


def test_a_second_lead_approves_a_draft(client, lead, lead2, email_template):
    version = template_version_create(
        template=email_template, subject="S", body_text="T", body_html="", author=lead
    )

    response = _login(client, lead2).post(f"/notices/versions/{version.pk}/approve/")

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == "approved"
    assert email_template.current_version() == version


def test_the_author_is_told_someone_else_must_approve(client, lead, email_template):
    version = template_version_create(
        template=email_template, subject="S", body_text="T", body_html="", author=lead
    )

    response = _login(client, lead).post(
        f"/notices/versions/{version.pk}/approve/", follow=True
    )

    assert str(TEMPLATE_APPROVE_OWN) in response.content.decode()
    version.refresh_from_db()
    assert version.status == "draft"


def test_a_clerk_cannot_approve(client, clerk, lead, email_template):
    version = template_version_create(
        template=email_template, subject="S", body_text="T", body_html="", author=lead
    )

    response = _login(client, clerk).post(f"/notices/versions/{version.pk}/approve/")

    assert response.status_code == 403
    version.refresh_from_db()
    assert version.status == "draft"


def _deposit_notice(deposit_id, customer):
    return notify(
        kind="deposit_received",
        recipients=[Recipient("email", f"{customer}@example.com")],
        context={"receipt_number": f"HQ-{deposit_id}"},
        dedupe_key=f"deposit:{deposit_id}:received",
        subject_refs=[
            f"deposit:{deposit_id}",
            f"customer:{customer}",
            "incident:INC-1",
        ],
    )[0]


def test_the_delivery_log_filters_by_subject_reference(client, lead):
    first = _deposit_notice(1, "ann")
    _deposit_notice(2, "bob")

    by_deposit = _login(client, lead).get("/notices/log/?ref=deposit:1")
    by_incident = client.get("/notices/log/?ref=incident:INC-1")

    assert [n.pk for n in by_deposit.context["page"]] == [first.pk]
    assert len(by_incident.context["page"]) == 2


def test_the_delivery_log_query_count_does_not_grow_with_rows(
    client, lead, django_assert_max_num_queries
):
    for i in range(20):
        _deposit_notice(i, f"c{i}")
    _login(client, lead)

    with django_assert_max_num_queries(12):
        response = client.get("/notices/log/")

    assert len(response.context["page"]) == 20


@pytest.mark.parametrize(
    ("persona", "status"), [("clerk", 403), ("finance", 403), ("lead", 200)]
)
def test_delivery_log_permission_matrix(client, request, persona, status):
    response = _login(client, request.getfixturevalue(persona)).get("/notices/log/")

    assert response.status_code == status


def test_a_failed_notice_is_resent_and_the_resend_is_audited(client, lead):
    notice = _deposit_notice(1, "ann")
    Notice.objects.filter(pk=notice.pk).update(status="failed", attempts=8)

    response = _login(client, lead).post(f"/notices/{notice.pk}/resend/")

    assert response.status_code == 302
    assert response["Location"] == f"/notices/log/?notice={notice.pk}"
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("pending", 0)
    event = AuditEvent.objects.get(action="notice.resend")
    assert (event.actor, event.object_id) == (lead, str(notice.pk))


def test_a_notice_that_did_not_fail_cannot_be_resent(client, lead):
    notice = _deposit_notice(1, "ann")

    response = _login(client, lead).post(f"/notices/{notice.pk}/resend/", follow=True)

    expected = str(NOTICE_RESEND_NOT_FAILED) % {"pk": notice.pk, "status": "Pending"}
    assert expected in response.content.decode()
    assert not AuditEvent.objects.filter(action="notice.resend").exists()


def test_a_clerk_cannot_resend(client, clerk):
    notice = _deposit_notice(1, "ann")
    Notice.objects.filter(pk=notice.pk).update(status="failed")

    response = _login(client, clerk).post(f"/notices/{notice.pk}/resend/")

    assert response.status_code == 403
    assert Notice.objects.get().status == "failed"


def test_unsubscribe_asks_first_then_records_the_opt_out():
    client = Client(enforce_csrf_checks=True)
    token = unsubscribe_token(channel="email", address="ann@example.com")

    page = client.get(f"/notices/unsubscribe/{token}/")
    assert page.status_code == 200
    assert OptOut.objects.count() == 0

    # The RFC 8058 one-click POST comes from a mail client: no session, no CSRF token.
    done = client.post(
        f"/notices/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"}
    )

    assert done.status_code == 200
    optout = OptOut.objects.get()
    assert (optout.channel, optout.address) == ("email", "ann@example.com")
    assert AuditEvent.objects.get(action="notice.opt_out").object_id == str(optout.pk)


def test_a_tampered_unsubscribe_link_is_refused_and_nothing_is_recorded(client):
    token = unsubscribe_token(channel="email", address="ann@example.com")
    tampered = token.replace("ann", "bob")

    response = client.post(f"/notices/unsubscribe/{tampered[:-2]}xx/")

    assert response.status_code == 400
    assert str(UNSUBSCRIBE_BAD_LINK) in response.content.decode()
    assert OptOut.objects.count() == 0


def test_a_version_page_offers_approval_to_another_lead_only(
    client, lead, lead2, sms_template
):
    version = template_version_create(
        template=sms_template,
        subject="",
        body_text="ETA {{ eta }}",
        body_html="",
        author=lead,
    )

    as_author = _login(client, lead).get(f"/notices/versions/{version.pk}/")
    as_other = _login(Client(), lead2).get(f"/notices/versions/{version.pk}/")

    assert as_author.context["can_approve"] is False
    assert as_other.context["can_approve"] is True
    assert as_other.context["preview"].body == "ETA 2026-11-22 14:00 UTC"
    assert as_other.context["sms"].segments == 1


def test_the_template_list_runs_a_fixed_number_of_queries(
    client, lead, django_assert_num_queries
):
    _login(client, lead)

    with django_assert_num_queries(6):
        response = client.get("/notices/templates/")

    assert response.status_code == 200
    assert response.context["rows"][0]["template"].kind == "outage_started"
