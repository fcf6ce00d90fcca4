"""The top navigation at tablet and laptop widths: no label breaks, nothing runs off."""

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [768, 1024, 1280])
@pytest.mark.parametrize("username", ["root", "bob"])
def test_the_navigation_fits_the_screen(
    make_page, admin_user, supervisor, username, width
):
    # The admin sees all ten entries; a supervisor at a branch tablet sees six.
    page = make_page(viewport={"width": width, "height": 800})
    login(page, username)
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():  # collapsed: the menu opens as a list
        toggler.click()
        page.locator("#mainnav.show").wait_for()
    links = page.locator("nav .nav-link")
    heights = {round(box["height"]) for box in map(_box, links.all())}
    assert len(heights) == 1, f"a label breaks onto two lines: heights {heights}"
    logout = _box(page.get_by_role("button", name="Log out"))
    assert logout["x"] + logout["width"] <= width


def _box(locator):  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    assert box is not None
    return box
