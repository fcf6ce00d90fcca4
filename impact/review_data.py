"""Everything the review page and its exports show, gathered in one place."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Sum

from incidents.models import (
    ActionItem,
    CompensationOffer,
    FeedbackAnswer,
    Incident,
    OfferKind,
    Review,
)
from incidents.timeline import TimelineEntry, incident_timeline
from outage_desk.money import money_round


@dataclass
class ReviewData:
    incident: Incident
    review: Review | None
    impact: dict[str, Any]
    timeline: list[TimelineEntry]
    offers: list[dict[str, Any]]
    action_items: list[ActionItem]
    feedback: dict[str, Any]


def offers_summary(incident: Incident) -> list[dict[str, Any]]:
    """Offers per status, kind and currency: how many and what they cost."""
    rows = (
        CompensationOffer.objects.filter(incident=incident)
        .values("status", "offer_kind", "currency")
        .annotate(count=Count("pk"), cost=Sum("cost"))
        .order_by("status", "offer_kind", "currency")
    )
    return [
        {
            **row,
            "cost": money_round(row["cost"], row["currency"]),
            "status_label": CompensationOffer.Status(row["status"]).label,
            "kind_label": OfferKind(row["offer_kind"]).label,
        }
        for row in rows
    ]


def feedback_summary(incident: Incident) -> dict[str, Any]:
    """How many customers answered, the average score and the count per score."""
    answers = FeedbackAnswer.objects.filter(incident=incident)
    stats = answers.aggregate(count=Count("pk"), average=Avg("score"))
    per_score = dict(
        answers.values_list("score").annotate(n=Count("pk")).order_by("score")
    )
    average = stats["average"]
    return {
        "count": stats["count"],
        "average": f"{average:.2f}" if average is not None else None,
        "per_score": {score: per_score.get(score, 0) for score in range(1, 6)},
    }


def review_data(*, incident: Incident, language: str = "en") -> ReviewData:
    """The review of an incident with its snapshot, timeline, offers and feedback."""
    review = Review.objects.filter(incident=incident).first()
    items = (
        list(review.action_items.select_related("owner").order_by("due_on", "pk"))
        if review
        else []
    )
    return ReviewData(
        incident=incident,
        review=review,
        impact=review.impact if review else {},
        timeline=incident_timeline(incident=incident, language=language),
        offers=offers_summary(incident),
        action_items=items,
        feedback=feedback_summary(incident),
    )
