"""The review: prepared on restore, completed by the lead, and close only when complete."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from incidents.models import ActionItem, FeedbackAnswer, Incident, OutageRole, Review
from incidents.services import incident_update_post
from incidents.services.review import (
    ACTION_ALREADY_DONE,
    CLOSE_ALREADY,
    CLOSE_NOT_RESTORED,
    CLOSE_REVIEW_INCOMPLETE,
    FEEDBACK_TWICE,
    REVIEW_ALREADY_COMPLETE,
    REVIEW_NEEDS,
    REVIEW_NOT_LEAD,
    action_item_add,
    action_item_done,
    action_items_remind_overdue,
    feedback_record,
    feedback_token_read,
    incident_close,
    review_complete,
    review_prepare,
    review_update,
)
from incidents.timeline import incident_timeline
from notifications.models import Notice
from outage_desk.models import AuditEvent
from tests.factories import UserFactory
from tests.impact.data import RESTORED, T0
from tests.incidents.factories import (
    BankContactFactory,
    IncidentFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def restored():
    incident = IncidentFactory(
        impact_started_at=T0,
        restored_at=RESTORED,
        status=Incident.Status.RESOLVED,
        declared_at=T0 - dt.timedelta(minutes=1),
    )
    return incident, review_prepare(incident=incident)


def fill(review, lead):
    return review_update(
        review=review,
        actor=lead,
        root_cause="Expired certificate on the core gateway.",
        went_well="Clerks switched to manual capture in minutes.",
        went_badly="The first notice went out late.",
    )


def test_an_incident_does_not_close_before_its_review_is_complete(restored, lead):
    incident, review = restored
    with pytest.raises(ValidationError) as exc:
        incident_close(incident=incident, actor=lead)
    assert exc.value.message_dict["review"] == [
        CLOSE_REVIEW_INCOMPLETE.format(reference=incident.reference)
    ]
    fill(review, lead)  # filled in but not marked complete
    with pytest.raises(ValidationError):
        incident_close(incident=incident, actor=lead)
    incident.refresh_from_db()
    assert incident.closed_at is None
    assert not AuditEvent.objects.filter(action="incident.closed").exists()


def test_an_unrestored_incident_does_not_close(lead):
    incident = IncidentFactory()
    with pytest.raises(ValidationError) as exc:
        incident_close(incident=incident, actor=lead)
    assert exc.value.message_dict["status"] == [
        CLOSE_NOT_RESTORED.format(reference=incident.reference)
    ]


def test_a_complete_review_lets_the_incident_close_once(restored, lead):
    # given
    incident, review = restored
    review_complete(review=fill(review, lead), actor=lead)
    # when
    incident_close(incident=incident, actor=lead)
    # then
    incident.refresh_from_db()
    assert incident.closed_at is not None
    assert incident.capture_window_open() is False
    with pytest.raises(ValidationError) as exc:
        incident_close(incident=incident, actor=lead)
    assert exc.value.message_dict["status"] == [
        CLOSE_ALREADY.format(reference=incident.reference)
    ]
    assert AuditEvent.objects.filter(action="incident.closed").count() == 1


@pytest.mark.parametrize("missing", ["root_cause", "went_well", "went_badly"])
def test_a_review_needs_every_finding_before_it_completes(restored, lead, missing):
    _incident, review = restored
    review = fill(review, lead)
    setattr(review, missing, "")
    review.save()
    with pytest.raises(ValidationError) as exc:
        review_complete(review=review, actor=lead)
    label = {"root_cause": "the root cause", "went_well": "what went well"}.get(
        missing, "what went badly"
    )
    assert exc.value.message_dict[missing] == [REVIEW_NEEDS.format(field=label)]
    assert Review.objects.get(pk=review.pk).completed_at is None


def test_a_complete_review_no_longer_changes(restored, lead):
    incident, review = restored
    review_complete(review=fill(review, lead), actor=lead)
    with pytest.raises(ValidationError) as exc:
        review_update(
            review=review, actor=lead, root_cause="x", went_well="", went_badly=""
        )
    assert exc.value.message_dict["review"] == [
        REVIEW_ALREADY_COMPLETE.format(reference=incident.reference)
    ]
    assert Review.objects.get(pk=review.pk).root_cause.startswith("Expired")


def test_only_the_lead_or_incident_managers_edit_the_review(restored, clerk, roles):
    incident, review = restored
    with pytest.raises(ValidationError) as exc:
        review_update(
            review=review, actor=clerk, root_cause="x", went_well="", went_badly=""
        )
    assert exc.value.message_dict["actor"] == [REVIEW_NOT_LEAD]
    assert Review.objects.get(pk=review.pk).root_cause == ""
    # the incident's lead role is enough
    incident.role_assignments.create(role=OutageRole.LEAD, user=clerk)
    review_update(
        review=review, actor=clerk, root_cause="x", went_well="", went_badly=""
    )
    assert Review.objects.get(pk=review.pk).root_cause == "x"


def test_overdue_action_items_remind_their_owner_once_a_day(restored, lead):
    # given
    _incident, review = restored
    owner = UserFactory(username="olly", email="olly@example.com", branch=None)
    today = dt.date(2026, 12, 1)
    overdue = action_item_add(
        review=review,
        actor=lead,
        kind=ActionItem.Kind.PREVENTIVE,
        title="Monitor certificate expiry",
        owner=owner,
        due_on=today - dt.timedelta(days=1),
    )
    action_item_add(
        review=review,
        actor=lead,
        kind=ActionItem.Kind.DETECTIVE,
        title="Due today, not overdue",
        owner=owner,
        due_on=today,
    )
    # when
    sent = action_items_remind_overdue(today=today)
    # then
    assert sent == 1
    notice = Notice.objects.get(kind="staff_follow_up_overdue")
    assert notice.recipient == "olly@example.com"
    assert "Monitor certificate expiry" in notice.body
    assert action_items_remind_overdue(today=today) == 0
    # the next day both are overdue; once one is done only the other is reminded
    assert action_items_remind_overdue(today=today + dt.timedelta(days=1)) == 2
    action_item_done(item=overdue, actor=owner)
    assert action_items_remind_overdue(today=today + dt.timedelta(days=2)) == 1
    with pytest.raises(ValidationError) as exc:
        action_item_done(item=overdue, actor=owner)
    assert exc.value.message_dict["item"] == [ACTION_ALREADY_DONE]


def test_the_timeline_holds_updates_roles_bank_contacts_and_the_capture_window(
    restored, lead
):
    incident, _review = restored
    incident.updates.create(
        audience="internal",
        status="investigating",
        texts={"en": "Gateway cert"},
        created_at=T0 + dt.timedelta(minutes=10),
    )
    incident.role_assignments.create(
        role=OutageRole.LEAD, user=lead, assigned_at=T0 + dt.timedelta(minutes=5)
    )
    BankContactFactory(
        incident=incident,
        contacted_at=T0 + dt.timedelta(minutes=20),
        bank_ticket_ref="B-7",
    )
    kinds = [(e.kind, e.text) for e in incident_timeline(incident=incident)]
    assert kinds[1:] == [
        ("window", "Impact started; capture window opens"),
        ("role", "dana took the role Incident lead"),
        ("internal", "Gateway cert"),
        ("bank", "[B-7] Bank confirms the outage; fix in progress."),
        ("window", "Service restored"),
        ("window", "Capture window closes"),
    ]


def test_the_resolved_notice_carries_a_personal_feedback_link(lead):
    # given
    incident = IncidentFactory()
    SubscriberFactory(address="fb@example.com")
    # when
    incident_update_post(
        incident=incident,
        audience="public",
        texts={"en": "Fixed."},
        author=lead,
        status=Incident.Status.RESOLVED,
        notify_customers=True,
    )
    # then
    notice = Notice.objects.get(kind="resolved")
    token = notice.context["feedback_url"].rstrip("/").rsplit("/", 1)[1]
    assert notice.context["feedback_url"] in notice.body
    incident_pk, digest = feedback_token_read(token)
    assert incident_pk == incident.pk
    # and an answer counts once per recipient
    feedback_record(incident=incident, digest=digest, score=4)
    with pytest.raises(ValidationError) as exc:
        feedback_record(incident=incident, digest=digest, score=1)
    assert exc.value.message_dict["score"] == [FEEDBACK_TWICE]
    assert list(FeedbackAnswer.objects.values_list("score", flat=True)) == [4]
