"""The post-incident review: prepared on restore, completed by the lead, then close."""

import datetime as dt
import hashlib
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, NoticeKind
from notifications.services import Recipient, notify
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import ActionItem, FeedbackAnswer, Incident, OutageRole, Review
from .common import absolute_url
from .lifecycle import FINAL_STATUSES, incident_lock

REVIEW_NOT_RESTORED = "Incident {reference} is not restored yet: no review to prepare."
REVIEW_ALREADY_COMPLETE = (
    "The review of {reference} is complete and can no longer change."
)
REVIEW_NEEDS = "Fill in {field} before completing the review."
REVIEW_NOT_LEAD = (
    "Only the incident lead or staff who run incidents may edit the review."
)
CLOSE_NOT_RESTORED = "Incident {reference} is not resolved or completed yet."
CLOSE_REVIEW_INCOMPLETE = (
    "Incident {reference} closes only when its review is complete."
)
CLOSE_ALREADY = "Incident {reference} is already closed."
ACTION_TITLE_REQUIRED = "An action item needs a title."
ACTION_ALREADY_DONE = "This action item is already done."
FEEDBACK_SCORE_RANGE = "Choose a score from 1 to 5."
FEEDBACK_TWICE = "You have already answered; thank you."
FEEDBACK_SALT = "incidents.feedback"
REVIEW_REQUIRED_FIELDS = {
    "root_cause": "the root cause",
    "went_well": "what went well",
    "went_badly": "what went badly",
}


def user_may_edit_review(*, incident: Incident, user: User) -> bool:
    """The incident's lead, or anyone allowed to run incidents."""
    if user.has_perm("incidents.manage_incident"):
        return True
    return incident.role_assignments.filter(
        role=OutageRole.LEAD, user=user, ended_at__isnull=True
    ).exists()


@transaction.atomic
def review_prepare(
    *, incident: Incident, impact: dict[str, Any] | None = None
) -> Review:
    """Create the review of a restored incident, or refresh its impact snapshot."""
    if incident.restored_at is None:
        raise ValidationError(
            {"incident": REVIEW_NOT_RESTORED.format(reference=incident.reference)}
        )
    review, created = Review.objects.select_for_update().get_or_create(
        incident=incident
    )
    if review.is_complete or (not created and impact is None):
        return review
    review.impact = impact or {}
    review.prepared_at = timezone.now()
    review.save(update_fields=["impact", "prepared_at"])
    audit_record(
        action="review.prepared",
        obj=review,
        data={"incident": incident.reference, "with_impact": bool(impact)},
    )
    return review


def _review_for_edit(review: Review, actor: User) -> Review:
    locked = (
        Review.objects.select_for_update().select_related("incident").get(pk=review.pk)
    )
    if not user_may_edit_review(incident=locked.incident, user=actor):
        raise ValidationError({"actor": REVIEW_NOT_LEAD})
    if locked.is_complete:
        raise ValidationError(
            {
                "review": REVIEW_ALREADY_COMPLETE.format(
                    reference=locked.incident.reference
                )
            }
        )
    return locked


@transaction.atomic
def review_update(
    *, review: Review, actor: User, root_cause: str, went_well: str, went_badly: str
) -> Review:
    """The lead writes the root cause and what went well and badly."""
    locked = _review_for_edit(review, actor)
    locked.root_cause = root_cause.strip()
    locked.went_well = went_well.strip()
    locked.went_badly = went_badly.strip()
    locked.save(update_fields=["root_cause", "went_well", "went_badly"])
    audit_record(action="review.updated", obj=locked, actor=actor)
    return locked


@transaction.atomic
def review_complete(*, review: Review, actor: User) -> Review:
    """Mark the review complete: every narrative field must be filled in."""
    locked = _review_for_edit(review, actor)
    for name, label in REVIEW_REQUIRED_FIELDS.items():
        if not getattr(locked, name).strip():
            raise ValidationError({name: REVIEW_NEEDS.format(field=label)})
    locked.completed_by, locked.completed_at = actor, timezone.now()
    locked.save(update_fields=["completed_by", "completed_at"])
    audit_record(action="review.completed", obj=locked, actor=actor)
    return locked


@transaction.atomic
def action_item_add(
    *, review: Review, actor: User, kind: str, title: str, owner: User, due_on: dt.date
) -> ActionItem:
    """Add a detective, preventive or corrective action with its owner and due date."""
    locked = _review_for_edit(review, actor)
    ActionItem.Kind(kind)
    if not title.strip():
        raise ValidationError({"title": ACTION_TITLE_REQUIRED})
    item = ActionItem.objects.create(
        review=locked, kind=kind, title=title.strip(), owner=owner, due_on=due_on
    )
    audit_record(
        action="review.action_added",
        obj=item,
        actor=actor,
        data={"kind": kind, "owner": owner.pk, "due_on": due_on},
    )
    return item


@transaction.atomic
def action_item_done(*, item: ActionItem, actor: User) -> ActionItem:
    """The owner (or the lead) marks an action item done."""
    locked = ActionItem.objects.select_for_update().get(pk=item.pk)
    if locked.done_at is not None:
        raise ValidationError({"item": ACTION_ALREADY_DONE})
    if locked.owner_id != actor.pk and not user_may_edit_review(
        incident=locked.review.incident, user=actor
    ):
        raise ValidationError({"actor": REVIEW_NOT_LEAD})
    locked.done_at = timezone.now()
    locked.save(update_fields=["done_at"])
    audit_record(action="review.action_done", obj=locked, actor=actor)
    return locked


@transaction.atomic
def action_items_remind_overdue(*, today: dt.date | None = None) -> int:
    """Tell each overdue action item's owner, at most once a day; returns how many."""
    today = today or timezone.localdate()
    items = list(
        ActionItem.objects.select_for_update()
        .filter(done_at__isnull=True, due_on__lt=today)
        .exclude(reminded_on=today)
        .select_related("owner", "review__incident")
        .order_by("pk")
    )
    for item in items:
        incident = item.review.incident
        if item.owner.email:
            notify(
                kind=NoticeKind.STAFF_FOLLOW_UP_OVERDUE,
                recipients=[
                    Recipient(
                        Channel.EMAIL, item.owner.email, item.owner.language or "en"
                    )
                ],
                context={
                    "incident_reference": incident.reference,
                    "incident_title": incident.title,
                    "item": item.title,
                    "due_at": item.due_on.isoformat(),
                    "url": absolute_url(
                        reverse("impact:review", args=[incident.reference])
                    ),
                },
                dedupe_key=f"action:{item.pk}:overdue:{today.isoformat()}",
                subject_refs=[f"incident:{incident.reference}", f"action:{item.pk}"],
            )
        item.reminded_on = today
        item.save(update_fields=["reminded_on"])
        audit_record(
            action="review.action_reminded", obj=item, data={"on": today.isoformat()}
        )
    return len(items)


@transaction.atomic
def incident_close(*, incident: Incident, actor: User) -> Incident:
    """Close a restored incident; refused until its review is complete."""
    locked = incident_lock(pk=incident.pk)
    ref = locked.reference
    if locked.closed_at is not None:
        raise ValidationError({"status": CLOSE_ALREADY.format(reference=ref)})
    if locked.status not in FINAL_STATUSES:
        raise ValidationError({"status": CLOSE_NOT_RESTORED.format(reference=ref)})
    review = Review.objects.filter(incident=locked).first()
    if review is None or not review.is_complete:
        raise ValidationError({"review": CLOSE_REVIEW_INCOMPLETE.format(reference=ref)})
    locked.closed_at = timezone.now()
    locked.save(update_fields=["closed_at"])
    audit_record(
        action="incident.closed", obj=locked, actor=actor, data={"reference": ref}
    )
    incident.refresh_from_db()
    return locked


def recipient_digest(channel: str, address: str) -> str:
    """Who answered, without keeping the address."""
    return hashlib.sha256(f"{channel}:{address.lower()}".encode()).hexdigest()


def feedback_token(*, incident: Incident, channel: str, address: str) -> str:
    """A signed token naming the incident and the recipient it was sent to."""
    return signing.dumps(
        {"i": incident.pk, "r": recipient_digest(channel, address)}, salt=FEEDBACK_SALT
    )


def feedback_url(*, incident: Incident, channel: str, address: str) -> str:
    token = feedback_token(incident=incident, channel=channel, address=address)
    return absolute_url(reverse("feedback", args=[token]))


def feedback_token_read(token: str) -> tuple[int, str]:
    """(incident pk, recipient digest) from a token; signing.BadSignature if forged."""
    data = signing.loads(token, salt=FEEDBACK_SALT)
    return int(data["i"]), str(data["r"])


@transaction.atomic
def feedback_record(*, incident: Incident, digest: str, score: int) -> FeedbackAnswer:
    """Store one recipient's answer; a second answer is refused."""
    if not 1 <= score <= 5:
        raise ValidationError({"score": FEEDBACK_SCORE_RANGE})
    try:
        with transaction.atomic():
            answer = FeedbackAnswer.objects.create(
                incident=incident, recipient_digest=digest, score=score
            )
    except IntegrityError:
        raise ValidationError({"score": FEEDBACK_TWICE}) from None
    audit_record(
        action="review.feedback", obj=answer, data={"incident": incident.reference}
    )
    return answer
