from decimal import Decimal

from django import template

from outage_desk.money import currency_is_known, money_round

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """An amount with exactly its currency's minor digits and thousands separators."""
    if amount is None:
        return ""
    if not currency_is_known(currency):
        return f"{amount:f}"
    return f"{money_round(amount, currency):,f}"
