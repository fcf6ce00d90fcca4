from rest_framework import serializers

from reconciliation.models import ReconciliationRun


class RunStartSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)


class RunSerializer(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.reference")
    counts = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "incident",
            "status",
            "dry_run",
            "counts",
            "started_at",
            "finished_at",
        ]
