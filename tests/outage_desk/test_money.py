from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from outage_desk.money import (
    ERROR_NOT_POSITIVE,
    ERROR_TOO_MANY_DECIMALS,
    ERROR_UNKNOWN_CURRENCY,
    money_parse,
    money_round,
    money_validate,
)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1", "JPY"),
        ("1.25", "USD"),
        ("1.255", "KWD"),
        ("100.10", "GBP"),
        ("5.0", "JPY"),
    ],
)
def test_it_accepts_amounts_within_the_currency_digits(amount, currency):
    money_validate(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("amount", "currency", "places"),
    [("1.5", "JPY", 0), ("1.255", "USD", 2), ("1.2555", "KWD", 3)],
)
def test_it_rejects_too_many_decimals(amount, currency, places):
    with pytest.raises(ValidationError) as exc:
        money_validate(Decimal(amount), currency)

    assert exc.value.messages == [
        ERROR_TOO_MANY_DECIMALS % {"code": currency, "places": places}
    ]


def test_it_rejects_unknown_currencies_and_non_positive_amounts():
    with pytest.raises(ValidationError) as unknown:
        money_validate(Decimal("1"), "ABC")
    with pytest.raises(ValidationError) as zero:
        money_validate(Decimal("0"), "USD")

    assert unknown.value.messages == [ERROR_UNKNOWN_CURRENCY % {"code": "ABC"}]
    assert zero.value.messages == [str(ERROR_NOT_POSITIVE)]


def test_it_never_takes_a_float():
    with pytest.raises(TypeError):
        money_parse(0.1)


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1e9"), places=3))
def test_rounding_lands_on_the_currency_minor_unit(amount):
    rounded = money_round(amount, "USD")

    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - amount) <= Decimal("0.005")
