"""Writes for incidents. Every state change appends an audit event in its transaction."""

from .bank import bank_contact_record, bank_follow_up_reminders_send
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
from .roles import role_assign, role_release, role_reminders_send
from .status import (
    component_save,
    maintenance_tick,
    status_banner_set,
    subscriber_confirm,
    subscriber_request,
    subscriber_unsubscribe,
)
from .updates import incident_update_post

__all__ = [
    "FINAL_STATUSES",
    "PLANNED_TRANSITIONS",
    "TRANSITIONS",
    "TRANSITION_REFUSED",
    "TRANSITION_SAME",
    "UNPLANNED_TRANSITIONS",
    "bank_contact_record",
    "bank_follow_up_reminders_send",
    "component_save",
    "incident_open",
    "incident_resolve",
    "incident_transition",
    "incident_update_post",
    "maintenance_tick",
    "role_assign",
    "role_release",
    "role_reminders_send",
    "status_banner_set",
    "subscriber_confirm",
    "subscriber_request",
    "subscriber_unsubscribe",
    "transitions_allowed",
]
