"""Writes for incidents. Every state change appends an audit event in its transaction."""

from .lifecycle import (
    FINAL_STATUSES,
    PLANNED_TRANSITIONS,
    TRANSITION_REFUSED,
    TRANSITION_SAME,
    TRANSITIONS,
    UNPLANNED_TRANSITIONS,
    incident_open,
    incident_resolve,
    incident_transition,
    transitions_allowed,
)

__all__ = [
    "FINAL_STATUSES",
    "PLANNED_TRANSITIONS",
    "TRANSITIONS",
    "TRANSITION_REFUSED",
    "TRANSITION_SAME",
    "UNPLANNED_TRANSITIONS",
    "incident_open",
    "incident_resolve",
    "incident_transition",
    "transitions_allowed",
]
