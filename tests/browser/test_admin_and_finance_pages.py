"""The admin sets a branch's limits; finance signs in and sees its home page."""

from decimal import Decimal

import pytest

from deposits.models import ApprovalThreshold, Branch
from tests.browser.conftest import check_page, login, set_language

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_sets_the_offline_limits_and_approval_threshold(
    make_page, admin_user, branch
):
    page = make_page()
    login(page, "root")

    page.goto(f"{page.base_url}/admin/deposits/branch/{branch.pk}/change/")
    page.fill("#id_offline_max_amount", "500.00")
    page.fill("#id_offline_max_total", "2000.00")
    check_page(page, shot="admin-branch-limits-en")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/deposits/branch/")
    check_page(page, shot="admin-branches-en")

    page.goto(f"{page.base_url}/admin/deposits/approvalthreshold/add/")
    page.select_option("#id_branch", str(branch.pk))
    page.fill("#id_currency", "GBP")
    page.fill("#id_amount", "1000.00")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/deposits/approvalthreshold/")

    branch = Branch.objects.get(pk=branch.pk)
    assert (branch.offline_max_amount, branch.offline_max_total) == (
        Decimal("500.00"),
        Decimal("2000.00"),
    )
    assert ApprovalThreshold.objects.get().amount == Decimal("1000.00")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_finance_signs_in(make_page, finance, language):
    page = make_page()
    login(page, "erin")
    if language != "en":
        set_language(page, language)

    assert page.get_by_test_id("current-user").inner_text().startswith("erin")
    check_page(page, shot=f"home-finance-{language}")
