import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from incidents.services import incident_open
from outage_desk.audit import audit_chain_of, audit_record
from outage_desk.db.append_only import append_only_triggers_present, bypass_append_only
from outage_desk.models import ERROR_APPEND_ONLY, AuditEvent


def tamper(sql: str, params: list) -> None:
    """Change rows behind the application's back, as a database administrator could."""
    with bypass_append_only(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def chain(db):
    """Five events about one object: one chain of five links."""
    incident = incident_open(title="Outage")
    for n in range(4):
        audit_record(action="incident.noted", obj=incident, data={"n": n})
    events = list(AuditEvent.objects.order_by("pk"))
    assert len({event.chain for event in events}) == 1
    return events


def test_verify_audit_passes_on_an_intact_chain(chain, capsys):
    call_command("verify_audit")

    assert capsys.readouterr().out.strip() == "Audit chain intact: 5 events verified."


def test_verify_audit_names_an_altered_event(chain):
    tamper(
        "UPDATE outage_desk_auditevent SET data = %s WHERE id = %s",
        ['{"reference": "forged"}', chain[1].pk],
    )

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    assert str(exc.value) == (
        f"Audit chain broken at event #{chain[1].pk}: content does not match its hash "
        "(1 events verified before it)."
    )


def test_verify_audit_names_the_link_after_a_deleted_event(chain):
    tamper("DELETE FROM outage_desk_auditevent WHERE id = %s", [chain[2].pk])

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    assert f"event #{chain[3].pk}: prev_hash does not match" in str(exc.value)


def test_verify_audit_notices_the_newest_event_removed(chain):
    tamper("DELETE FROM outage_desk_auditevent WHERE id = %s", [chain[-1].pk])

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    assert "the newest events are missing" in str(exc.value)


def test_each_event_links_to_the_one_before(chain):
    assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]


def test_the_orm_refuses_to_update_or_delete_audit_events(chain):
    event = chain[0]
    message = ERROR_APPEND_ONLY % "AuditEvent"

    with pytest.raises(PermissionError, match=message):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(PermissionError, match=message):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError, match=message):
        event.save()
    with pytest.raises(PermissionError, match=message):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "incident.opened"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="triggers are PostgreSQL's"
)
def test_postgresql_refuses_update_and_delete_of_audit_events(chain):
    assert append_only_triggers_present("outage_desk_auditevent")
    for sql in (
        "UPDATE outage_desk_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM outage_desk_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [chain[0].pk])

    assert AuditEvent.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_appends_about_other_objects_do_not_wait_for_an_open_transaction():
    """Each object's events go to its own chain: one writer holding its chain's
    lock does not hold up a writer about an object of another chain."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    first = incident_open(title="Held")
    other = next(
        inc
        for inc in (incident_open(title=f"Other {n}") for n in range(20))
        if audit_chain_of("incidents.incident", str(inc.pk))
        != audit_chain_of("incidents.incident", str(first.pk))
    )
    done = threading.Event()

    def append_elsewhere():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            audit_record(action="incident.noted", obj=other)
        connection.close()
        done.set()

    with transaction.atomic():
        audit_record(action="incident.noted", obj=first)  # holds first's chain
        thread = threading.Thread(target=append_elsewhere)
        thread.start()
        thread.join(timeout=10)
        assert done.is_set()
    call_command("verify_audit")
