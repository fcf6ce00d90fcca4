import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from outage_desk.money import currency_is_known


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(tz)s”."), params={"tz": value})


def validate_currency(value: str) -> None:
    if not currency_is_known(value):
        raise ValidationError(
            _("Unknown currency code “%(code)s”."), params={"code": value}
        )


class Branch(models.Model):
    """A branch of the bank or merchant; staff and deposits belong to one."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "branches"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Customer(models.Model):
    """A customer as copied from the core system, so clerks can find them while it is down."""

    class Tier(models.TextChoices):
        STANDARD = "standard", _("Standard")
        PREMIUM = "premium", _("Premium")
        BUSINESS = "business", _("Business")

    account = models.CharField(max_length=34, unique=True)
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    language = models.CharField(max_length=10, default="en")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    branch = models.ForeignKey(
        Branch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account"]

    def __str__(self) -> str:
        return f"{self.account} {self.name}"
