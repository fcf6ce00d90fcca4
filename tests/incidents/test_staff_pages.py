import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents.exports import csv_cell
from incidents.models import (
    BankContact,
    Incident,
    IncidentUpdate,
    RoleAssignment,
    StatusBanner,
)
from incidents.services import bank_contact_record, role_assign
from outage_desk.models import AuditEvent

from .factories import IncidentFactory


@pytest.fixture
def incident(db):
    return IncidentFactory(reference="INC-2026-0001", title="Card payments down")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_the_incident_page_shows_roles_unfilled_and_capture_window(
    client, lead, incident
):
    client.force_login(lead)

    response = client.get("/incidents/INC-2026-0001/")

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="unfilled"' in body
    assert "Bank liaison" in body
    assert 'data-testid="deposit-count">0<' in body
    assert 'data-testid="capture"><span class="text-success">Open' in body


def test_a_role_holder_sees_their_instruction_card(client, lead, clerk, incident):
    role_assign(incident=incident, role="phone_desk", user=clerk, assigned_by=lead)
    client.force_login(clerk)

    detail = client.get("/incidents/INC-2026-0001/").content.decode()
    mine = client.get("/incidents/my-roles/").content.decode()

    assert "Your role: Phone desk" in detail
    assert "offer the alternatives" in detail
    assert "offer the alternatives" in mine
    assert "Post an update" not in detail  # clerks may not write


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clerk", 403), ("finance", 403), ("lead", 302)],
)
def test_posting_an_update_needs_manage_incident(
    client, request, incident, persona, status
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        "/incidents/INC-2026-0001/updates/",
        {"audience": "public", "text_en": "Looking into it."},
    )

    assert response.status_code == status
    assert IncidentUpdate.objects.count() == (1 if status == 302 else 0)


def test_anonymous_users_are_sent_to_login(client, incident):
    response = client.get("/incidents/INC-2026-0001/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_status_form_moves_the_incident(client, lead, incident):
    client.force_login(lead)

    response = client.post("/incidents/INC-2026-0001/status/", {"status": "identified"})

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "identified"


def test_a_refused_status_shows_an_error_and_changes_nothing(client, lead, incident):
    client.force_login(lead)

    response = client.post("/incidents/INC-2026-0001/status/", {"status": "completed"})

    assert response.status_code == 400
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert AuditEvent.objects.count() == 0


def test_a_public_eta_without_a_bank_source_is_refused_on_the_form(
    client, lead, incident
):
    client.force_login(lead)
    eta = (timezone.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        "/incidents/INC-2026-0001/updates/",
        {"audience": "public", "text_en": "Back at 3", "eta": eta},
    )

    assert response.status_code == 400
    assert "must cite a bank-contact entry" in response.content.decode()
    assert IncidentUpdate.objects.count() == 0


def test_the_open_form_creates_an_incident(client, lead, db):
    client.force_login(lead)

    response = client.post(
        "/incidents/open/",
        {
            "title": "Transfers failing",
            "title_zh_hans": "转账失败",
            "severity": "minor",
        },
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.reference}/"
    assert incident.created_by == lead
    assert incident.severity == "minor"
    assert incident.title_translations == {"zh-hans": "转账失败"}


def test_the_role_form_assigns_and_the_release_button_ends(
    client, lead, clerk, incident
):
    client.force_login(lead)

    client.post("/incidents/INC-2026-0001/roles/", {"role": "fixer", "user": clerk.pk})
    assignment = RoleAssignment.objects.get()
    client.post(f"/incidents/INC-2026-0001/roles/{assignment.pk}/end/")

    assignment.refresh_from_db()
    assert assignment.user == clerk
    assert assignment.ended_at is not None


def test_the_contact_form_logs_in_the_chosen_time_zone(client, lead, incident):
    client.force_login(lead)
    local = timezone.localtime(
        timezone.now() - dt.timedelta(hours=1), dt.timezone(dt.timedelta(hours=8))
    )

    response = client.post(
        "/incidents/INC-2026-0001/bank-contacts/",
        {
            "contacted_at": local.strftime("%Y-%m-%dT%H:%M"),
            "contacted_tz": "Asia/Shanghai",
            "channel": "phone",
            "summary": "Switch down",
            "escalation": "none",
            "evidence": SimpleUploadedFile("notes.txt", b"hello"),
        },
    )

    assert response.status_code == 302
    entry = BankContact.objects.get()
    assert entry.contacted_at == local.replace(second=0, microsecond=0)
    assert entry.contacted_tz == "Asia/Shanghai"
    page = client.get("/incidents/INC-2026-0001/").content.decode()
    assert f"{local:%Y-%m-%d %H:%M} CST (Asia/Shanghai;" in page


def test_a_follow_up_in_the_past_is_refused_on_the_form(client, lead, incident):
    client.force_login(lead)
    past = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        "/incidents/INC-2026-0001/bank-contacts/",
        {
            "contacted_at": past,
            "contacted_tz": "UTC",
            "channel": "phone",
            "summary": "x",
            "escalation": "none",
            "follow_up_due_at": past,
        },
    )

    assert response.status_code == 400
    assert "The follow-up must be due in the future." in response.content.decode()
    assert BankContact.objects.count() == 0


def _entry(incident, user, **kwargs):
    values = {
        "incident": incident,
        "contacted_at": timezone.now() - dt.timedelta(minutes=5),
        "channel": "phone",
        "staff": user,
        "recorded_by": user,
        "summary": '=HYPERLINK("http://evil")',
        "bank_ticket_ref": "-2+3",
    }
    values.update(kwargs)
    return bank_contact_record(**values)


def test_evidence_is_served_only_to_staff_who_may_see_incidents(
    client, lead, incident, db
):
    entry = _entry(incident, lead, evidence=SimpleUploadedFile("proof.pdf", b"%PDF-1"))
    url = f"/incidents/INC-2026-0001/bank-contacts/{entry.pk}/evidence/"

    assert client.get(url).status_code == 302  # anonymous: to login
    client.force_login(lead)
    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="proof.pdf"'
    assert b"".join(response.streaming_content) == b"%PDF-1"


def test_evidence_is_refused_to_users_without_incident_access(
    client, lead, incident, roles
):
    from tests.factories import UserFactory

    entry = _entry(incident, lead, evidence=SimpleUploadedFile("proof.pdf", b"%PDF-1"))
    nobody = UserFactory(username="nobody", branch=None)
    client.force_login(nobody)

    response = client.get(
        f"/incidents/INC-2026-0001/bank-contacts/{entry.pk}/evidence/"
    )

    assert response.status_code == 403


def test_the_csv_export_neutralises_formulas(client, lead, incident):
    _entry(incident, lead)
    client.force_login(lead)

    response = client.get("/incidents/INC-2026-0001/bank-contacts.csv")

    assert (
        response["Content-Disposition"]
        == 'attachment; filename="INC-2026-0001-bank-contacts.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["summary"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["bank_ticket_ref"] == "'-2+3"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1", "'=1"),
        ("+1", "+1"),
        ("+1)", "'+1)"),
        ("-1", "-1"),
        ("-1+2", "'-1+2"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ok", "ok"),
        (None, ""),
    ],
)
def test_csv_cells_starting_a_formula_are_quoted(value, expected):
    assert csv_cell(value) == expected


def test_the_pdf_export_is_a_pdf(client, lead, incident):
    _entry(incident, lead, summary="银行确认故障")
    client.force_login(lead)

    response = client.get("/incidents/INC-2026-0001/bank-contacts.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_the_banner_is_switched_with_one_action_and_audited(client, lead, db):
    client.force_login(lead)

    response = client.post("/incidents/status-banner/", {"active": "1"})

    assert response.status_code == 302
    banner = StatusBanner.objects.get()
    assert banner.active is True
    assert banner.changed_by == lead
    event = AuditEvent.objects.get()
    assert (event.action, event.actor) == ("status.banner_on", lead)


def test_the_banner_is_refused_without_publish_rights(client, clerk, db):
    client.force_login(clerk)

    response = client.post("/incidents/status-banner/", {"active": "1"})

    assert response.status_code == 403
    assert StatusBanner.objects.count() == 0


def test_the_assigned_status_publisher_may_switch_the_banner(
    client, lead, clerk, incident
):
    role_assign(
        incident=incident, role="status_publisher", user=clerk, assigned_by=lead
    )
    client.force_login(clerk)

    response = client.post("/incidents/status-banner/", {"active": "1"})

    assert response.status_code == 302
    assert StatusBanner.objects.get().changed_by == clerk


def test_the_list_links_each_incident(client, clerk, incident):
    client.force_login(clerk)
    body = client.get("/incidents/").content.decode()
    assert 'href="/incidents/INC-2026-0001/"' in body


def test_the_list_takes_a_fixed_number_of_queries(
    client, lead, db, django_assert_num_queries
):
    for _ in range(5):
        IncidentFactory()
    client.force_login(lead)
    client.get("/incidents/")  # warm the session and permission caches

    with django_assert_num_queries(7):
        client.get("/incidents/")
    IncidentFactory()
    with django_assert_num_queries(7):
        client.get("/incidents/")


def test_htmx_polling_gets_only_the_timeline_and_the_counter(client, lead, incident):
    client.force_login(lead)

    response = client.get("/incidents/INC-2026-0001/", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith(
        '<section aria-labelledby="timeline-h" id="timeline"'
    )
    assert (
        'id="deposit-count" data-testid="deposit-count" hx-swap-oob="true">0<' in body
    )
    assert "<html" not in body
