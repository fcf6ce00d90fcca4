"""Templates: sandboxed, checked on save, versioned, approved by a second person."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from notifications.models import (
    TEMPLATED_KINDS,
    Channel,
    NoticeTemplate,
    NoticeTemplateVersion,
)
from notifications.placeholders import placeholders_for
from notifications.rendering import (
    TEMPLATE_DOTTED_PLACEHOLDER,
    TEMPLATE_SYNTAX_ERROR,
    TEMPLATE_TAG_NOT_ALLOWED,
    TEMPLATE_UNKNOWN_PLACEHOLDER,
    default_sources,
    source_validate,
)
from notifications.services import (
    template_preview,
    template_version_approve,
    template_version_create,
)
from notifications.services.templates import (
    TEMPLATE_APPROVE_DENIED,
    TEMPLATE_APPROVE_NOT_DRAFT,
    TEMPLATE_APPROVE_OWN,
    TEMPLATE_SUBJECT_REQUIRED,
)
from outage_desk.models import AuditEvent
from outage_desk.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template():
    return NoticeTemplate.objects.get(kind="eta_update", channel="email", language="en")


@pytest.fixture
def lead2(roles):
    return UserFactory(username="emil", branch=None, roles=[Role.INCIDENT_LEAD])


def test_the_data_migration_ships_an_approved_version_of_every_kind_channel_and_language():
    expected = len(TEMPLATED_KINDS) * 2 * 2

    assert NoticeTemplate.objects.count() == expected
    assert (
        NoticeTemplateVersion.objects.filter(status="approved", number=1).count()
        == expected
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("kind", TEMPLATED_KINDS)
def test_every_default_file_uses_only_the_placeholders_its_kind_allows(kind, language):
    for channel in (Channel.EMAIL, Channel.SMS):
        sources = default_sources(kind=kind, channel=channel, language=language)
        source_validate(kind=kind, field="subject", source=sources["subject"])
        source_validate(kind=kind, field="text", source=sources["body_text"])
        source_validate(kind=kind, field="HTML", source=sources["body_html"], html=True)


def test_it_refuses_an_unknown_placeholder_naming_it():
    with pytest.raises(ValidationError) as exc:
        source_validate(kind="eta_update", field="Text", source="Back by {{ etaa }}")

    assert exc.value.message == TEMPLATE_UNKNOWN_PLACEHOLDER
    assert exc.value.params["name"] == "etaa"
    assert exc.value.params["field"] == "Text"
    assert "eta" in exc.value.params["allowed"]
    assert "Text: unknown placeholder “etaa”" in exc.value.messages[0]


def test_it_refuses_an_unknown_placeholder_inside_an_if_and_in_a_filter_argument():
    with pytest.raises(ValidationError) as exc:
        source_validate(
            kind="eta_update", field="Text", source="{% if secret %}x{% endif %}"
        )
    assert exc.value.params["name"] == "secret"

    with pytest.raises(ValidationError) as exc:
        source_validate(
            kind="eta_update", field="Text", source="{{ eta|default:password }}"
        )
    assert exc.value.params["name"] == "password"


def test_it_refuses_broken_syntax_with_the_parser_message():
    with pytest.raises(ValidationError) as exc:
        source_validate(kind="eta_update", field="Subject", source="{% if eta %}open")

    assert exc.value.message == TEMPLATE_SYNTAX_ERROR
    assert exc.value.params["field"] == "Subject"
    assert "endif" in exc.value.params["error"]


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}",
        "{% include 'base.html' %}",
        "{% url 'home' %}",
        "{% debug %}",
        "{{ eta|safe }}",
    ],
)
def test_it_refuses_tags_and_filters_outside_the_sandbox(source):
    with pytest.raises(ValidationError) as exc:
        source_validate(kind="eta_update", field="Text", source=source)

    assert exc.value.message in (TEMPLATE_SYNTAX_ERROR, TEMPLATE_TAG_NOT_ALLOWED)


def test_it_refuses_attribute_access_on_a_placeholder():
    with pytest.raises(ValidationError) as exc:
        source_validate(kind="eta_update", field="Text", source="{{ eta.upper }}")

    assert exc.value.message == TEMPLATE_DOTTED_PLACEHOLDER


def test_placeholders_of_a_kind_include_the_common_ones():
    assert {"eta", "customer_name", "unsubscribe_url"} <= placeholders_for("eta_update")
    assert "eta" not in placeholders_for("deposit_received")


def test_an_edit_is_saved_as_a_new_draft_version_and_the_live_one_stays(template, lead):
    # given
    live = template.current_version()

    # when
    version = template_version_create(
        template=template,
        subject="ETA {{ eta }}",
        body_text="Now {{ eta }}",
        body_html="<p>{{ eta }}</p>",
        author=lead,
    )

    # then
    assert version.number == 2
    assert version.status == "draft"
    assert version.created_by == lead
    assert template.current_version() == live
    event = AuditEvent.objects.get(action="notice_template.version_create")
    assert event.object_id == str(version.pk)


def test_a_bad_edit_is_refused_and_nothing_is_stored(template, lead):
    versions_before = NoticeTemplateVersion.objects.count()
    audit_before = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as exc:
        template_version_create(
            template=template,
            subject="ETA {{ eta }}",
            body_text="Now {{ etaa }}",
            body_html="",
            author=lead,
        )

    assert exc.value.message == TEMPLATE_UNKNOWN_PLACEHOLDER
    assert NoticeTemplateVersion.objects.count() == versions_before
    assert AuditEvent.objects.count() == audit_before


def test_an_email_template_needs_a_subject(template, lead):
    with pytest.raises(ValidationError) as exc:
        template_version_create(
            template=template, subject=" ", body_text="x", body_html="", author=lead
        )

    assert exc.value.message == TEMPLATE_SUBJECT_REQUIRED


def test_another_holder_of_the_permission_approves_and_the_version_goes_live(
    template, lead, lead2
):
    version = template_version_create(
        template=template,
        subject="S {{ eta }}",
        body_text="T",
        body_html="",
        author=lead,
    )

    template_version_approve(version=version, approver=lead2)

    version.refresh_from_db()
    assert version.status == "approved"
    assert version.approved_by == lead2
    assert template.current_version() == version
    assert (
        AuditEvent.objects.filter(action="notice_template.version_approve").count() == 1
    )


def test_the_author_cannot_approve_their_own_version(template, lead):
    version = template_version_create(
        template=template, subject="S", body_text="T", body_html="", author=lead
    )

    with pytest.raises(ValidationError) as exc:
        template_version_approve(version=version, approver=lead)

    assert exc.value.message == TEMPLATE_APPROVE_OWN
    version.refresh_from_db()
    assert version.status == "draft"


def test_someone_without_the_permission_cannot_approve(template, lead, clerk):
    version = template_version_create(
        template=template, subject="S", body_text="T", body_html="", author=lead
    )

    with pytest.raises(PermissionDenied, match=str(TEMPLATE_APPROVE_DENIED)):
        template_version_approve(version=version, approver=clerk)

    version.refresh_from_db()
    assert version.status == "draft"


def test_an_approved_version_cannot_be_approved_again(template, lead, lead2):
    version = template_version_create(
        template=template, subject="S", body_text="T", body_html="", author=lead
    )
    template_version_approve(version=version, approver=lead2)

    with pytest.raises(ValidationError) as exc:
        template_version_approve(version=version, approver=lead2)

    assert exc.value.message == TEMPLATE_APPROVE_NOT_DRAFT


def test_preview_renders_sample_data_and_escapes_html_only_in_the_html_part(template):
    parts = template_preview(
        template=template,
        subject="{{ incident_reference }}: {{ eta }}",
        body_text="{{ message }} & more",
        body_html="<p>{{ customer_name }} & {{ eta }}</p>",
    )

    assert parts.subject == "INC-2026-0042: 2026-11-22 14:00 UTC"
    assert parts.body.startswith("The database failover is complete")
    assert parts.body_html == "<p>Wang Fang & 2026-11-22 14:00 UTC</p>"
