import pytest

from .factories import BankContactFactory, IncidentFactory, SubscriberFactory

PAGES = [
    "/admin/incidents/component/",
    "/admin/incidents/incident/",
    "/admin/incidents/incidentupdate/",
    "/admin/incidents/roleassignment/",
    "/admin/incidents/bankcontact/",
    "/admin/incidents/statusbanner/",
    "/admin/incidents/subscriber/",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_admin_list_renders(admin_client, url):
    BankContactFactory(incident=IncidentFactory())
    SubscriberFactory()

    assert admin_client.get(url).status_code == 200


def test_the_bank_contact_log_cannot_be_changed_in_the_admin(admin_client):
    entry = BankContactFactory(incident=IncidentFactory())

    response = admin_client.post(
        f"/admin/incidents/bankcontact/{entry.pk}/change/", {"summary": "edited"}
    )

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.summary == "Bank confirms the outage; fix in progress."


def test_the_incident_change_page_shows_its_timeline(admin_client):
    incident = IncidentFactory()
    assert (
        admin_client.get(f"/admin/incidents/incident/{incident.pk}/change/").status_code
        == 200
    )
