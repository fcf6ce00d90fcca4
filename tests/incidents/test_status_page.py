import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.utils import timezone

from incidents.models import Incident
from incidents.services import incident_update_post, status_banner_set

from .factories import ComponentFactory, IncidentFactory, PlannedIncidentFactory

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def outage(db, lead, django_capture_on_commit_callbacks):
    cards = ComponentFactory(name="Card payments")
    ComponentFactory(name="Transfers")
    incident = IncidentFactory(
        reference="INC-2026-0001", title="Card payments down", severity="critical"
    )
    incident.components.set([cards])
    with django_capture_on_commit_callbacks(execute=True):
        incident_update_post(
            incident=incident,
            audience="public",
            texts={"en": "We are looking into it.", "zh-hans": "我们正在调查。"},
            author=lead,
        )
        incident_update_post(
            incident=incident,
            audience="internal",
            texts={"en": "Secret: the switch vendor blames us."},
            author=lead,
        )
    return incident


def test_without_incidents_it_says_all_operational(client, db):
    ComponentFactory(name="Transfers")

    response = client.get("/status/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "All systems operational." in body
    assert "Transfers" in body
    assert "No past incidents." in body


def test_with_an_outage_it_shows_public_updates_only_and_component_status(
    client, outage
):
    response = client.get("/status/")

    body = response.content.decode()
    assert "Card payments down" in body
    assert "We are looking into it." in body
    assert "Secret" not in body
    assert "All systems operational." not in body
    assert "status-major_outage" in body


def test_it_shows_updates_in_chinese_to_chinese_viewers(client, outage):
    response = client.get("/status/", headers={"accept-language": "zh-hans"})

    body = response.content.decode()
    assert "我们正在调查。" in body
    assert "We are looking into it." not in body


def test_the_json_endpoint_lists_incidents_and_components(client, outage):
    data = client.get("/status/status.json").json()

    assert data["banner"] is False
    assert data["components"] == [
        {"name": "Card payments", "status": "major_outage"},
        {"name": "Transfers", "status": "operational"},
    ]
    [incident] = data["incidents"]
    assert incident["reference"] == "INC-2026-0001"
    assert [u["text"] for u in incident["updates"]] == ["We are looking into it."]
    assert data["maintenance"] == []


def test_scheduled_maintenance_is_listed_apart(client, db):
    PlannedIncidentFactory(reference="INC-2026-0002", title="Core upgrade")

    data = client.get("/status/status.json").json()

    assert data["incidents"] == []
    assert [m["title"] for m in data["maintenance"]] == ["Core upgrade"]
    assert "Scheduled maintenance" in client.get("/status/").content.decode()


def test_the_page_is_served_from_cache_until_a_change(
    client, outage, lead, django_assert_num_queries, django_capture_on_commit_callbacks
):
    client.get("/status/")
    with django_assert_num_queries(0):
        client.get("/status/")

    with django_capture_on_commit_callbacks(execute=True):
        incident_update_post(
            incident=outage, audience="public", texts={"en": "Found it."}, author=lead
        )

    assert "Found it." in client.get("/status/").content.decode()


def test_the_banner_shows_once_switched_on(
    client, db, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        status_banner_set(active=True, actor=lead)

    body = client.get("/status/").content.decode()

    assert 'data-testid="unavailable-banner"' in body


def test_the_atom_feed_has_every_public_update(
    client, outage, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident_update_post(
            incident=outage,
            audience="public",
            texts={"en": "Resolved."},
            author=lead,
            status=Incident.Status.RESOLVED,
        )

    response = client.get("/status/feed.atom")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own output)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}summary").text for e in entries] == [
        "Resolved.",
        "We are looking into it.",
    ]
    assert entries[0].find(f"{ATOM}title").text == "Card payments down: Resolved"
    assert entries[0].find(f"{ATOM}id").text.startswith("tag:outage-desk,")
    assert ":INC-2026-0001/update/" in entries[0].find(f"{ATOM}id").text


def test_history_lists_resolved_incidents(client, db):
    IncidentFactory(
        reference="INC-2026-0003",
        title="Old outage",
        status="resolved",
        impact_started_at=timezone.now() - dt.timedelta(hours=2),
        restored_at=timezone.now() - dt.timedelta(hours=1),
    )

    body = client.get("/status/").content.decode()

    assert "Old outage" in body
    assert "All systems operational." in body


def test_the_page_needs_no_login_and_is_mobile_ready(client, db):
    body = client.get("/status/").content.decode()
    assert 'name="viewport"' in body


def test_the_last_snapshot_is_served_marked_stale_when_the_database_fails(
    client, outage, monkeypatch
):
    from django.db import DatabaseError

    from incidents import selectors

    client.get("/status/")  # builds and keeps the last good snapshot

    def broken(*args, **kwargs):
        raise DatabaseError("database unavailable")

    # A real outage of the database cannot be staged inside the test transaction.
    monkeypatch.setattr(selectors, "_build_snapshot", broken)
    monkeypatch.setattr(selectors, "status_cache_version", lambda: "new-version")

    response = client.get("/status/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "We are looking into it." in body
    assert 'data-testid="unavailable-banner"' in body
    assert "Last updated" in body


def test_titles_and_service_names_follow_the_reader_language(client, db, lead):
    from incidents.services import incident_open

    cards = ComponentFactory(
        name="Card payments", name_translations={"zh-hans": "银行卡支付"}
    )
    incident_open(
        title="Cards down",
        title_translations={"zh-hans": "银行卡支付故障"},
        components=[cards],
        opened_by=lead,
    )
    cache.clear()

    zh = client.get(
        "/status/status.json", headers={"accept-language": "zh-hans"}
    ).json()
    en = client.get("/status/status.json").json()

    assert zh["incidents"][0]["title"] == "银行卡支付故障"
    assert zh["incidents"][0]["components"] == ["银行卡支付"]
    assert zh["components"] == [{"name": "银行卡支付", "status": "partial_outage"}]
    assert en["incidents"][0]["title"] == "Cards down"
