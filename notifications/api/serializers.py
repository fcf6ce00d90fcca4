"""Shapes of the notices and templates API (the delivery log and the editor)."""

from rest_framework import serializers

from outage_desk.api.serializers import StrictInputMixin

from ..models import DeliveryAttempt, Notice, NoticeTemplate, NoticeTemplateVersion


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "channel", "ok", "provider_message_id", "error"]
        read_only_fields = fields


class NoticeSerializer(serializers.ModelSerializer[Notice]):
    deliveries = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Notice
        fields = [
            "id",
            "kind",
            "channel",
            "recipient",
            "language",
            "subject",
            "subject_refs",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "sent_at",
            "deliveries",
        ]
        read_only_fields = fields


class TemplateVersionSerializer(serializers.ModelSerializer[NoticeTemplateVersion]):
    template = serializers.IntegerField(source="template_id", read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )
    approved_by = serializers.CharField(
        source="approved_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = NoticeTemplateVersion
        fields = [
            "id",
            "template",
            "number",
            "status",
            "subject",
            "body_text",
            "body_html",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
        ]
        read_only_fields = fields


class TemplateSerializer(serializers.ModelSerializer[NoticeTemplate]):
    class Meta:
        model = NoticeTemplate
        fields = ["id", "kind", "channel", "language"]
        read_only_fields = fields


class TemplateSourcesSerializer(StrictInputMixin, serializers.Serializer[None]):
    """Proposed sources: subject and HTML only for e-mail."""

    subject = serializers.CharField(required=False, allow_blank=True, default="")
    body_text = serializers.CharField(allow_blank=True)
    body_html = serializers.CharField(required=False, allow_blank=True, default="")


class PreviewSerializer(serializers.Serializer[dict[str, str]]):
    subject = serializers.CharField()
    body = serializers.CharField()
    body_html = serializers.CharField()
