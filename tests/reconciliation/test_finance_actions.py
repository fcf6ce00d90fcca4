from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from deposits.models import Deposit
from notifications.models import Notice
from outage_desk.models import AuditEvent
from reconciliation import resolutions as r
from reconciliation.finance_models import ApprovalRequest, Case
from reconciliation.models import Match, MatchDeposit, RejectedPair

from .finance_helpers import case_of, reconcile

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(
            Case.objects.order_by("pk").values_list(
                "state", "resolution", "version", "assignee_id"
            )
        ),
        list(ApprovalRequest.objects.values_list("pk", "status")),
        list(Deposit.objects.order_by("pk").values_list("status", flat=True)),
        Match.objects.count(),
        AuditEvent.objects.count(),
    )


def test_every_discrepancy_becomes_an_open_case_with_an_sla(world):
    cases = Case.objects.all()
    assert sorted(cases.values_list("kind", flat=True)) == [
        "amount_mismatch",
        "missing_in_system",
        "missing_in_system",
        "missing_manual",
        "missing_manual",
    ]
    big = case_of("missing_in_system", amount=Decimal("50000"))
    small = case_of("missing_in_system", amount=Decimal("70"))
    assert (big.due_at - big.opened_at).total_seconds() == 48 * 3600
    assert (small.due_at - small.opened_at).total_seconds() == 120 * 3600
    assert {c.state for c in cases} == {Case.State.OPEN}


def test_bulk_assign_moves_open_items_to_assigned(world, finance, finance2):
    cases = list(Case.objects.all())
    assert r.cases_assign(cases=cases, assignee=finance2, actor=finance) == 5
    assert set(Case.objects.values_list("state", "assignee_id")) == {
        (Case.State.ASSIGNED, finance2.pk)
    }
    assert AuditEvent.objects.filter(action="reconciliation.cases_assigned").exists()


def test_only_finance_users_can_be_assigned(world, finance, clerk):
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.cases_assign(cases=list(Case.objects.all()), assignee=clerk, actor=finance)
    assert r.ERROR_ASSIGNEE in error.value.messages
    assert snapshot() == before


def test_a_write_off_needs_a_second_finance_user(world, finance, finance2):
    case = case_of("amount_mismatch")
    request = r.case_write_off_request(case=case, actor=finance, reason_code="rounding")
    case.refresh_from_db()
    assert case.state == Case.State.PENDING_APPROVAL
    assert request.amount == Decimal("-18.000")

    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.approval_decide(request=request, actor=finance, approve=True)
    assert r.ERROR_OWN_REQUEST in error.value.messages
    assert snapshot() == before

    r.approval_decide(request=request, actor=finance2, approve=True)
    case.refresh_from_db()
    assert (case.state, case.resolution, case.reason_code) == (
        Case.State.RESOLVED,
        Case.Resolution.WRITTEN_OFF,
        "rounding",
    )
    assert case.discrepancy.status == "resolved"
    assert AuditEvent.objects.filter(action="reconciliation.approval_approved").exists()


def test_the_database_refuses_maker_as_checker(world, finance):
    case = case_of("amount_mismatch")
    request = r.case_write_off_request(case=case, actor=finance, reason_code="rounding")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=request.pk).update(decided_by=finance)


def test_a_second_pending_request_on_the_same_item_is_refused(world, finance, finance2):
    case = case_of("amount_mismatch")
    r.case_write_off_request(case=case, actor=finance, reason_code="rounding")
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_write_off_request(case=case, actor=finance2, reason_code="bank_fee")
    assert r.ERROR_PENDING in error.value.messages
    assert snapshot() == before


def test_the_database_refuses_two_pending_requests(world, finance):
    case = case_of("amount_mismatch")
    r.case_write_off_request(case=case, actor=finance, reason_code="rounding")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.create(
            kind="write_off", case=case, requested_by=finance
        )


@pytest.mark.parametrize("reason", ["", "because"])
def test_a_write_off_without_a_known_reason_code_changes_nothing(
    world, finance, reason
):
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_write_off_request(
            case=case_of("amount_mismatch"), actor=finance, reason_code=reason
        )
    assert r.ERROR_REASON_CODE in error.value.messages
    assert snapshot() == before


def test_a_rejected_write_off_reopens_the_item(world, finance, finance2):
    case = case_of("amount_mismatch")
    request = r.case_write_off_request(case=case, actor=finance, reason_code="rounding")
    r.approval_decide(request=request, actor=finance2, approve=False)
    case.refresh_from_db()
    assert case.state == Case.State.OPEN
    with pytest.raises(ValidationError) as error:
        r.approval_decide(request=request, actor=finance2, approve=True)
    assert r.ERROR_NOT_PENDING in error.value.messages


def test_a_small_manual_link_confirms_at_once_and_tells_the_customer(world, finance):
    case = case_of("amount_mismatch")
    tx4 = case.discrepancy.records.get()
    result = r.case_link(
        case=case, actor=finance, deposit_ids=[world["typo"].pk], record_ids=[tx4.pk]
    )
    assert isinstance(result, Case)
    assert result.resolution == Case.Resolution.LINKED
    match = Match.objects.get(kind=Match.Kind.MANUAL)
    assert match.status == Match.Status.CONFIRMED
    world["typo"].refresh_from_db()
    assert world["typo"].status == Deposit.Status.CONFIRMED
    assert Notice.objects.filter(kind="deposit_confirmed").exists()


def test_one_deposit_links_to_two_records(world, finance):
    case = case_of("missing_in_system", amount=Decimal("70"))
    tx4 = case_of("amount_mismatch").discrepancy.records.get()
    tx5 = case_of("missing_manual", amount=Decimal("12")).discrepancy.records.get()
    r.case_link(
        case=case,
        actor=finance,
        deposit_ids=[world["missing"].pk],
        record_ids=[tx4.pk, tx5.pk],
    )
    match = Match.objects.get(kind=Match.Kind.MANUAL)
    assert match.records.count() == 2


def test_two_deposits_link_to_one_record(world, finance):
    case = case_of("missing_manual", amount=Decimal("12"))
    tx5 = case.discrepancy.records.get()
    r.case_link(
        case=case,
        actor=finance,
        deposit_ids=[world["missing"].pk, world["typo"].pk],
        record_ids=[tx5.pk],
    )
    assert Match.objects.get(kind=Match.Kind.MANUAL).deposits.count() == 2


@pytest.mark.parametrize(
    ("deposits", "records", "message"),
    [
        ([], ["TX-5"], r.ERROR_LINK_EMPTY),
        (["missing", "typo"], ["TX-5", "TX-4"], r.ERROR_LINK_SHAPE),
        (["ref"], ["TX-5"], r.ERROR_LINK_TAKEN),
        ([999999], ["TX-5"], r.ERROR_LINK_UNKNOWN),
    ],
)
def test_a_bad_link_changes_nothing(world, finance, deposits, records, message):
    from reconciliation.models import MatchSettings, SystemRecord

    Match.objects.filter(kind="reference").update(status="proposed")
    from reconciliation.services import match_confirm

    match_confirm(match=Match.objects.get(kind="reference"), actor=finance)
    del MatchSettings
    dep_ids = [world[d].pk if isinstance(d, str) else d for d in deposits]
    rec_ids = list(
        SystemRecord.objects.filter(external_id__in=records).values_list(
            "pk", flat=True
        )
    )
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_link(
            case=case_of("missing_manual", amount=Decimal("12")),
            actor=finance,
            deposit_ids=dep_ids,
            record_ids=rec_ids,
        )
    assert message in error.value.messages
    assert snapshot() == before


def test_a_big_manual_link_waits_for_a_second_user(world, finance, finance2):
    case = case_of("missing_in_system", amount=Decimal("50000"))
    tx8 = case_of("missing_manual", amount=Decimal("50000")).discrepancy.records.get()
    request = r.case_link(
        case=case, actor=finance, deposit_ids=[world["big"].pk], record_ids=[tx8.pk]
    )
    assert isinstance(request, ApprovalRequest)
    assert not Match.objects.filter(kind=Match.Kind.MANUAL).exists()
    r.approval_decide(request=request, actor=finance2, approve=True)
    match = Match.objects.get(kind=Match.Kind.MANUAL)
    assert match.decided_by == finance2
    case.refresh_from_db()
    assert case.resolution == Case.Resolution.LINKED


def test_unmatching_a_proposed_match_rejects_it_and_a_rerun_does_not_propose_it(
    world, finance
):
    match = Match.objects.get(kind="reference")
    r.match_unmatch(match=match, actor=finance)
    assert RejectedPair.objects.count() == 1
    reconcile(world["run"].incident)
    latest = Match.objects.filter(run__pk__gt=world["run"].pk)
    assert not latest.filter(deposits=world["ref"]).exists()


def test_unmatching_a_confirmed_match_needs_four_eyes(world, finance, finance2):
    from reconciliation.services import match_confirm

    match = match_confirm(match=Match.objects.get(kind="reference"), actor=finance)
    request = r.match_unmatch(match=match, actor=finance)
    assert isinstance(request, ApprovalRequest)
    before = snapshot()
    with pytest.raises(ValidationError):
        r.match_unmatch(match=match, actor=finance2)
    assert snapshot() == before
    r.approval_decide(request=request, actor=finance2, approve=True)
    match.refresh_from_db()
    assert match.status == Match.Status.REJECTED
    assert not MatchDeposit.objects.filter(confirmed=True, match=match).exists()
    world["ref"].refresh_from_db()
    assert world["ref"].status == Deposit.Status.AWAITING_CONFIRMATION
    reconcile(world["run"].incident)
    assert not Match.objects.filter(
        run__pk__gt=world["run"].pk, deposits=world["ref"]
    ).exists()


def test_confirming_a_proposed_match_from_an_item(world, finance):
    case = case_of("amount_mismatch")
    match = Match.objects.get(kind="reference")
    r.case_confirm_match(case=case, match=match, actor=finance)
    world["ref"].refresh_from_db()
    assert world["ref"].status == Deposit.Status.CONFIRMED
    assert Case.objects.get(pk=case.pk).resolution == Case.Resolution.MATCH_CONFIRMED


def test_not_a_duplicate_only_for_duplicates(world, finance):
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_not_duplicate(case=case_of("amount_mismatch"), actor=finance)
    assert r.ERROR_WRONG_KIND in error.value.messages
    assert snapshot() == before


def test_not_a_duplicate_is_remembered_on_a_rerun(world, finance, tmp_path):
    from .factories import deposit_make

    incident = world["run"].incident
    deposit_make(incident, receipt_number="R-1B", amount="100.00", reference="INV-1")
    reconcile(incident)
    case = Case.objects.filter(kind="duplicate_manual").latest("pk")
    r.case_not_duplicate(case=case, actor=finance)
    reconcile(incident)
    again = Case.objects.filter(kind="duplicate_manual").latest("pk")
    assert again.pk != case.pk
    assert (again.state, again.resolution) == (
        Case.State.RESOLVED,
        Case.Resolution.NOT_DUPLICATE,
    )


def test_a_rerun_opens_new_cases_that_keep_assignees_and_resolutions(
    world, finance, finance2
):
    # given: one case assigned, one written off (a rounding difference)
    incident = world["run"].incident
    assigned = case_of("missing_manual", amount=Decimal("12"))
    r.cases_assign(cases=[assigned], assignee=finance2, actor=finance)
    posted = case_of("missing_in_system", amount=Decimal("70"))
    r.case_mark_posted(case=posted, actor=finance)
    posted.refresh_from_db()

    # when
    reconcile(incident)

    # then
    latest = Case.objects.exclude(run=world["run"])
    assert latest.count() == 5
    again = latest.get(signature=assigned.signature)
    assert (again.state, again.assignee_id) == (Case.State.ASSIGNED, finance2.pk)
    carried = latest.get(signature=posted.signature)
    assert (carried.state, carried.resolution, carried.resolved_by_id) == (
        Case.State.RESOLVED,
        Case.Resolution.POSTED,
        finance.pk,
    )
    assert carried.resolved_at == posted.resolved_at
    assert carried.discrepancy.status == "resolved"
    assert (carried.version, carried.channel) == (1, posted.channel)
    assert set(
        latest.exclude(pk__in=[again.pk, carried.pk]).values_list("state", flat=True)
    ) == {Case.State.OPEN}


def test_mark_posted_moves_the_deposit_to_awaiting_confirmation(world, finance):
    case = case_of("missing_in_system", amount=Decimal("70"))
    r.case_mark_posted(case=case, actor=finance)
    world["missing"].refresh_from_db()
    assert world["missing"].status == Deposit.Status.AWAITING_CONFIRMATION
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_mark_posted(case=case_of("amount_mismatch"), actor=finance)
    assert r.ERROR_NOT_MISSING in error.value.messages
    assert snapshot() == before


def test_notes_and_evidence_files(world, finance, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = case_of("amount_mismatch")
    r.case_note_add(case=case, actor=finance, text="Called the branch")
    note = r.case_note_add(
        case=case, actor=finance, evidence=SimpleUploadedFile("slip.pdf", b"%PDF-1.4")
    )
    assert note.evidence.name.endswith(".pdf")
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_note_add(case=case, actor=finance, text="  ")
    assert r.ERROR_NOTE_EMPTY in error.value.messages
    assert snapshot() == before


def test_reopen_only_a_resolved_item(world, finance):
    case = case_of("missing_in_system", amount=Decimal("70"))
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_reopen(case=case, actor=finance)
    assert r.ERROR_NOT_RESOLVED in error.value.messages
    assert snapshot() == before
    r.case_mark_posted(case=case, actor=finance)
    r.case_reopen(case=case, actor=finance, reason="not in the core system after all")
    case.refresh_from_db()
    assert case.state == Case.State.REOPENED
    assert AuditEvent.objects.filter(action="reconciliation.case_reopened").exists()


def test_a_stale_version_is_refused(world, finance, finance2):
    case = case_of("missing_in_system", amount=Decimal("70"))
    seen = case.version
    r.case_mark_posted(case=case, actor=finance, version=seen)
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        r.case_reopen(case=case, actor=finance2, version=seen)
    assert r.ERROR_STALE in error.value.messages
    assert snapshot() == before


def test_confirming_a_match_writes_each_deposits_own_audit_event(world, finance):
    from outage_desk.models import AuditEvent
    from reconciliation.services import match_confirm

    match_confirm(match=Match.objects.get(kind="reference"), actor=finance)

    event = AuditEvent.objects.get(
        action="deposit.confirmed", object_id=str(world["ref"].pk)
    )
    assert event.data["status"] == "confirmed"
    assert event.actor == finance
    world["ref"].refresh_from_db()
    assert world["ref"].status == Deposit.Status.CONFIRMED
