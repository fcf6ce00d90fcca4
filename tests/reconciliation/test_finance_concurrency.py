"""Two finance users act on the same item at once: one wins, the other is told."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from reconciliation import resolutions as r
from reconciliation.finance_models import ApprovalRequest, Case

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def race(*actions):
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def work(i, action):
        try:
            barrier.wait()
            outcomes[i] = action()
        except ValidationError as error:
            outcomes[i] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(i, a)) for i, a in enumerate(actions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_write_offs_on_one_item_one_wins(world, finance, finance2):
    case = Case.objects.get(kind="amount_mismatch")
    seen = case.version

    outcomes = race(
        lambda: r.case_write_off_request(
            case=case, actor=finance, reason_code="rounding", version=seen
        ),
        lambda: r.case_write_off_request(
            case=case, actor=finance2, reason_code="bank_fee", version=seen
        ),
    )

    won = [o for o in outcomes if isinstance(o, ApprovalRequest)]
    lost = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].messages == [str(r.ERROR_STALE)]
    assert ApprovalRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_one_approves(world, finance, finance2, admin_user):
    case = Case.objects.get(kind="amount_mismatch")
    request = r.case_write_off_request(case=case, actor=finance, reason_code="rounding")

    outcomes = race(
        lambda: r.approval_decide(request=request, actor=finance2, approve=True),
        lambda: r.approval_decide(request=request, actor=admin_user, approve=False),
    )

    lost = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(lost) == 1
    assert lost[0].messages == [str(r.ERROR_NOT_PENDING)]
    request.refresh_from_db()
    assert request.status in ("approved", "rejected")
