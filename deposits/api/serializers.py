"""Input and output shapes of the deposits API; amounts travel as JSON strings."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from outage_desk.api.serializers import FieldsBuiltOnceMixin, StrictInputMixin
from outage_desk.money import MONEY_DIGITS, MONEY_PLACES, money_round

from ..models import Deposit, DepositReversal


class DepositSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    incident = serializers.CharField(source="incident.reference", read_only=True)
    branch = serializers.CharField(source="branch.code", read_only=True)
    customer = serializers.CharField(
        source="customer.account", read_only=True, allow_null=True, default=None
    )
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    approved_by = serializers.CharField(
        source="approved_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Deposit
        fields = [
            "id",
            "receipt_number",
            "client_uuid",
            "incident",
            "branch",
            "channel",
            "customer",
            "account",
            "payer_name",
            "amount",
            "currency",
            "received_at",
            "reference",
            "note",
            "status",
            "source",
            "recorded_by",
            "recorded_at",
            "approved_by",
            "approved_at",
            "device_time",
            "duplicate_reason",
            "hold_reason",
            "hold_message",
        ]
        read_only_fields = fields

    hold_message = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.CharField(
            help_text="Why an offline deposit waits for a supervisor (over the "
            "branch's offline limits), naming the field; empty otherwise."
        )
    )
    def get_hold_message(self, deposit: Deposit) -> str:
        return deposit.hold_message

    @extend_schema_field(
        serializers.CharField(help_text="Decimal string with the currency's digits.")
    )
    def get_amount(self, deposit: Deposit) -> str:
        return f"{money_round(deposit.amount, deposit.currency):f}"

    def to_representation(self, deposit: Deposit) -> dict[str, Any]:
        """The fields above, written out: a deposit is the API's most read and most
        written object, and DRF's field-by-field walk is most of what answering
        with one costs. The generic walk gives the same dict (a test holds them
        equal); a field added above must be added here too (the test says so)."""
        when = _DATETIME.to_representation
        customer, approver = deposit.customer, deposit.approved_by
        return {
            "id": deposit.pk,
            "receipt_number": deposit.receipt_number,
            "client_uuid": str(deposit.client_uuid),
            "incident": deposit.incident.reference,
            "branch": deposit.branch.code,
            "channel": str(deposit.channel),
            "customer": customer.account if customer is not None else None,
            "account": deposit.account,
            "payer_name": deposit.payer_name,
            "amount": self.get_amount(deposit),
            "currency": deposit.currency,
            "received_at": when(deposit.received_at),
            "reference": deposit.reference,
            "note": deposit.note,
            "status": str(deposit.status),
            "source": str(deposit.source),
            "recorded_by": deposit.recorded_by.username,
            "recorded_at": when(deposit.recorded_at),
            "approved_by": approver.username if approver is not None else None,
            "approved_at": _when_or_none(deposit.approved_at),
            "device_time": _when_or_none(deposit.device_time),
            "duplicate_reason": deposit.duplicate_reason,
            "hold_reason": str(deposit.hold_reason),
            "hold_message": deposit.hold_message,
        }


_DATETIME = serializers.DateTimeField()


def _when_or_none(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


class DepositCreateSerializer(
    FieldsBuiltOnceMixin, StrictInputMixin, serializers.Serializer
):
    """What an integrator sends; the service does every business check."""

    client_uuid = serializers.CharField(max_length=64)
    incident = serializers.CharField(max_length=20, help_text="INC-YYYY-NNNN")
    branch = serializers.CharField(
        max_length=20, required=False, help_text="Branch code; defaults to yours."
    )
    channel = serializers.ChoiceField(choices=Deposit.Channel.choices)
    account = serializers.CharField(max_length=34)
    payer_name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, coerce_to_string=True
    )
    currency = serializers.CharField(min_length=3, max_length=3)
    received_at = serializers.DateTimeField(required=False)
    reference = serializers.CharField(
        max_length=140, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    device_time = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the deposit was saved on the device (offline capture).",
    )
    offline = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Taken while offline and sent later: recorded with source offline.",
    )
    duplicate_reason = serializers.CharField(
        required=False, allow_blank=True, default=""
    )
    evidence = serializers.ListField(
        child=serializers.FileField(), required=False, default=list
    )

    def to_internal_value(self, data: Any) -> Any:
        # Floats in JSON are refused: money never passes through binary floating point.
        if isinstance(data, dict) and isinstance(data.get("amount"), float):
            raise serializers.ValidationError(
                {"amount": ['Send the amount as a string, e.g. "125.50".']}
            )
        return super().to_internal_value(data)


def capture_arguments(values: dict[str, Any]) -> dict[str, Any]:
    """``deposit_record``'s arguments from ``DepositCreateSerializer``'s validated
    data, less the incident, branch, clerk and customer the caller looks up."""
    return {
        "client_uuid": values["client_uuid"],
        "channel": values["channel"],
        "account": values["account"],
        "payer_name": values["payer_name"],
        "amount": values["amount"],
        "currency": values["currency"],
        "received_at": values.get("received_at") or timezone.now(),
        "reference": values["reference"],
        "note": values["note"],
        "device_time": values.get("device_time"),
        "duplicate_reason": values["duplicate_reason"],
        "evidence": values["evidence"],
        "source": Deposit.Source.OFFLINE if values["offline"] else Deposit.Source.API,
    }


class ReversalRequestSerializer(StrictInputMixin, serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class ReversalSerializer(serializers.ModelSerializer):
    deposit = serializers.IntegerField(source="deposit_id", read_only=True)
    receipt_number = serializers.CharField(
        source="deposit.receipt_number", read_only=True
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = DepositReversal
        fields = [
            "id",
            "deposit",
            "receipt_number",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields
