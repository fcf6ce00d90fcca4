import pytest

from tests.browser.conftest import PHONE, check_page, login, set_language

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_clerk_logs_in_and_sees_the_home_page(make_page, clerk, language):
    page = make_page()

    login(page, "alice")
    if language != "en":
        set_language(page, language)

    assert page.locator("html").get_attribute("lang") == language
    assert page.get_by_test_id("current-user").inner_text().startswith("alice")
    check_page(page, shot=f"home-clerk-{language}")


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Service status"), ("zh-hans", "服务状态")]
)
def test_a_customer_reads_the_status_page_on_a_phone(make_page, db, language, heading):
    page = make_page(viewport=PHONE, language=language)

    page.goto(f"{page.base_url}/status/")

    assert page.locator("h1").inner_text() == heading
    check_page(page, shot=f"status-phone-{language}")
