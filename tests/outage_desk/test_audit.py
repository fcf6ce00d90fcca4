import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.services import incident_open
from outage_desk.models import AuditEvent


@pytest.fixture
def chain(db):
    for n in range(5):
        incident_open(title=f"Outage {n}")
    return list(AuditEvent.objects.order_by("pk"))


def test_verify_audit_passes_on_an_intact_chain(chain, capsys):
    call_command("verify_audit")

    assert capsys.readouterr().out.strip() == "Audit chain intact: 5 events verified."


def test_verify_audit_names_an_altered_event(chain):
    AuditEvent.objects.filter(pk=chain[1].pk).update(data={"reference": "forged"})

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    assert str(exc.value) == (
        f"Audit chain broken at event #{chain[1].pk}: content does not match its hash "
        "(1 events verified before it)."
    )


def test_verify_audit_names_the_link_after_a_deleted_event(chain):
    AuditEvent.objects.filter(pk=chain[2].pk).delete()

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    assert f"event #{chain[3].pk}: prev_hash does not match" in str(exc.value)


def test_verify_audit_notices_the_newest_event_removed(chain):
    AuditEvent.objects.filter(pk=chain[-1].pk).delete()

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")

    assert "the newest events are missing" in str(exc.value)


def test_each_event_links_to_the_one_before(chain):
    assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
