"""Money rules in one place: Decimal only, ISO 4217 codes, at most the currency's minor digits."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Wide enough for every ISO 4217 currency: three minor digits (KWD, BHD, ...).
MONEY_DIGITS = 18
MONEY_PLACES = 3

ERROR_UNKNOWN_CURRENCY = _("Unknown currency code “%(code)s”; use an ISO 4217 code.")
ERROR_TOO_MANY_DECIMALS = _("%(code)s amounts have at most %(places)s decimal places.")
ERROR_NOT_POSITIVE = _("The amount must be greater than zero.")
ERROR_NOT_A_NUMBER = _("“%(value)s” is not an amount.")

_CURRENCIES = frozenset(list_currencies())


def currency_is_known(code: str) -> bool:
    """True for an ISO 4217 code (upper case) that Babel's CLDR data knows."""
    return code in _CURRENCIES


def currency_places(code: str) -> int:
    """How many minor digits the currency has (JPY 0, USD 2, KWD 3)."""
    if not currency_is_known(code):
        raise ValidationError(
            ERROR_UNKNOWN_CURRENCY, params={"code": code}, code="currency"
        )
    return int(get_currency_precision(code))


def money_parse(value: object) -> Decimal:
    """Turn a string or Decimal into a Decimal; floats are refused, never rounded."""
    if isinstance(value, float):
        raise TypeError("Money is never a float.")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(
            ERROR_NOT_A_NUMBER, params={"value": value}, code="invalid"
        ) from None
    if not amount.is_finite():
        raise ValidationError(
            ERROR_NOT_A_NUMBER, params={"value": value}, code="invalid"
        )
    return amount


def money_validate(amount: Decimal, currency: str, *, positive: bool = True) -> None:
    """Refuse an unknown currency, a non-positive amount or too many decimals."""
    places = currency_places(currency)
    if positive and amount <= 0:
        raise ValidationError(ERROR_NOT_POSITIVE, code="min_value")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationError(
            ERROR_TOO_MANY_DECIMALS,
            params={"code": currency, "places": places},
            code="decimal_places",
        )


def money_round(amount: Decimal, currency: str) -> Decimal:
    """The one rounding helper: banker's rounding to the currency's minor unit."""
    return amount.quantize(
        Decimal(1).scaleb(-currency_places(currency)), ROUND_HALF_EVEN
    )
