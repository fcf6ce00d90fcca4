"""The matcher's English reasons and reason codes read in the screen's language."""

import pytest
from django.utils import translation

from reconciliation.templatetags.reconciliation_tags import (
    recon_reason,
    write_off_reason,
)


@pytest.mark.parametrize(
    ("reason", "en", "zh"),
    [
        ("equal", "equal", "一致"),
        ("same day", "same day", "同一天"),
        ("2 business day(s) apart", "2 business day(s) apart", "相差 2 个工作日"),
        (
            "up to 3 business day(s) apart",
            "up to 3 business day(s) apart",
            "最多相差 3 个工作日",
        ),
        ("87% similar", "87% similar", "相似度 87%"),
        ("within tolerance (0.01)", "within tolerance (0.01)", "在容差内（0.01）"),  # noqa: RUF001
        (
            "2 deposit(s) = 1 record(s)",
            "2 deposit(s) = 1 record(s)",
            "2 笔存款 = 1 条记录",
        ),
        ("something new", "something new", "something new"),
    ],
)
def test_match_reasons_are_translated(reason, en, zh):
    with translation.override("en"):
        assert str(recon_reason(reason)) == en
    with translation.override("zh-hans"):
        assert str(recon_reason(reason)) == zh


def test_write_off_reason_codes_show_their_label():
    with translation.override("zh-hans"):
        assert str(write_off_reason("bank_fee")) != "bank_fee"
    with translation.override("en"):
        assert str(write_off_reason("bank_fee")) == "Bank fee"
        assert write_off_reason("unknown") == "unknown"
