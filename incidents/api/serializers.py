"""Input and output shapes of the incidents API."""

from rest_framework import serializers

from outage_desk.api.serializers import StrictInputMixin
from outage_desk.models import User

from ..models import (
    Audience,
    BankContact,
    Component,
    Incident,
    IncidentUpdate,
    OutageRole,
    RoleAssignment,
)


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    components = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="name", many=True, read_only=True
    )
    capture_window_open = serializers.SerializerMethodField()
    capture_ends_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Incident
        fields = [
            "reference",
            "title",
            "title_translations",
            "kind",
            "severity",
            "status",
            "components",
            "impact_started_at",
            "planned_end_at",
            "detected_at",
            "declared_at",
            "first_notice_at",
            "restored_at",
            "closed_at",
            "capture_grace",
            "capture_ends_at",
            "capture_window_open",
        ]
        read_only_fields = fields

    def get_capture_window_open(self, obj: Incident) -> bool:
        return obj.capture_window_open()


class IncidentOpenSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    title = serializers.CharField(max_length=200)
    title_translations = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )
    planned = serializers.BooleanField(default=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    severity = serializers.ChoiceField(
        choices=Incident.Severity.choices, default="major"
    )
    components = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=Component.objects.all(), required=False
    )


class TransitionSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class IncidentUpdateSerializer(serializers.ModelSerializer[IncidentUpdate]):
    texts = serializers.DictField(child=serializers.CharField())
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = IncidentUpdate
        fields = [
            "id",
            "audience",
            "status",
            "texts",
            "eta",
            "eta_source",
            "notify_customers",
            "next_update_due_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class IncidentUpdateInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    audience = serializers.ChoiceField(choices=Audience.choices)
    texts = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text='language code -> text, e.g. {"en": ..., "zh-hans": ...}',
    )
    status = serializers.ChoiceField(
        choices=Incident.Status.choices, required=False, allow_null=True, default=None
    )
    eta = serializers.DateTimeField(required=False, allow_null=True, default=None)
    eta_source = serializers.PrimaryKeyRelatedField(
        queryset=BankContact.objects.all(),
        required=False,
        allow_null=True,
        default=None,
    )
    notify_customers = serializers.BooleanField(default=False)
    next_update_due_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None
    )


class RoleAssignmentSerializer(serializers.ModelSerializer[RoleAssignment]):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "user", "assigned_at", "ended_at"]
        read_only_fields = fields


class RoleAssignInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    role = serializers.ChoiceField(choices=OutageRole.choices)
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True)
    )


class BankContactSerializer(serializers.ModelSerializer[BankContact]):
    staff = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    has_evidence = serializers.SerializerMethodField()

    class Meta:
        model = BankContact
        fields = [
            "id",
            "contacted_at",
            "contacted_tz",
            "channel",
            "bank_agent",
            "bank_ticket_ref",
            "staff",
            "summary",
            "commitments",
            "eta_given",
            "follow_up_due_at",
            "escalation",
            "escalated_on",
            "corrects",
            "evidence_name",
            "has_evidence",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields

    def get_has_evidence(self, obj: BankContact) -> bool:
        return bool(obj.evidence)


class BankContactInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    contacted_at = serializers.DateTimeField()
    contacted_tz = serializers.CharField(default="UTC", max_length=64)
    channel = serializers.ChoiceField(choices=BankContact.Channel.choices)
    bank_agent = serializers.CharField(required=False, allow_blank=True, default="")
    bank_ticket_ref = serializers.CharField(
        required=False, allow_blank=True, default=""
    )
    summary = serializers.CharField()
    commitments = serializers.CharField(required=False, allow_blank=True, default="")
    eta_given = serializers.DateTimeField(required=False, allow_null=True, default=None)
    follow_up_due_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None
    )
    escalation = serializers.ChoiceField(
        choices=BankContact.Escalation.choices, default="none"
    )
    escalated_on = serializers.DateField(required=False, allow_null=True, default=None)
    corrects = serializers.PrimaryKeyRelatedField(
        queryset=BankContact.objects.all(),
        required=False,
        allow_null=True,
        default=None,
    )
