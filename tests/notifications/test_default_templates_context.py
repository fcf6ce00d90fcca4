"""Every placeholder a shipped default template uses is in the context its sender builds.

A template renders a missing placeholder as an empty string, so "Dear ," or "at  on"
goes out unnoticed. Here every kind the code sends is triggered through its real
service; the context stored on each notice it wrote (plus what notify() adds) is
rendered with every default template of the kind, in every language and channel,
with missing variables made visible. A placeholder printed bare (no ``default``,
no ``if`` around it) must not be blank either.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.template import Context, Template
from django.template.base import VariableNode
from django.template.defaulttags import IfNode
from django.utils import timezone

from deposits.models import Deposit
from deposits.services import (
    deposit_record,
    deposit_reversal_approve,
    deposit_reversal_request,
)
from deposits.services.capture import deposit_notice_context
from impact.aftermath import affected_customers
from incidents.aftermath import ActionItem, Review
from incidents.models import Audience, Incident, OutageRole, RoleAssignment
from incidents.services import incident_open
from incidents.services.bank import bank_follow_up_reminders_send
from incidents.services.compensation import offers_approve, offers_propose
from incidents.services.review import action_items_remind_overdue
from incidents.services.roles import role_reminders_send
from incidents.services.status import maintenance_tick, subscriber_request
from incidents.services.updates import incident_update_post
from notifications.delivery import Outcome, notices_claim, outcomes_record
from notifications.models import TEMPLATED_CHANNELS, TEMPLATED_KINDS, Notice
from notifications.placeholders import sample_context
from notifications.rendering import (
    SandboxEngine,
    _filter_expressions,
    _variable_names,
    _walk,
    compile_source,
    default_sources,
)
from notifications.services import Recipient, notice_template_context, notify
from outage_desk.roles import Role
from reconciliation.models import Match
from reconciliation.services import match_confirm
from tests.deposits.factories import DepositFactory
from tests.deposits.factories import IncidentFactory as DepositIncidentFactory
from tests.factories import CustomerFactory, UserFactory
from tests.impact.data import make_rule
from tests.incidents.factories import (
    BankContactFactory,
    PlannedIncidentFactory,
    SubscriberFactory,
)
from tests.reconciliation.factories import deposit_make
from tests.reconciliation.finance_helpers import load, reconcile

pytestmark = pytest.mark.django_db

MISSING = "<<MISSING:%s>>"
_ENGINES = {
    False: SandboxEngine(autoescape=False, string_if_invalid=MISSING),
    True: SandboxEngine(autoescape=True, string_if_invalid=MISSING),
}
# Summer in London: the branch's zone (BST, UTC+1) differs from UTC.
SUMMER = dt.datetime(2026, 7, 15, 10, 30, tzinfo=dt.UTC)
# Kinds no code sends yet (the template exists for a future sender).
NOT_SENT = {"staff_approval_waiting"}


def template_variables(source: str, *, html: bool) -> tuple[set[str], set[str]]:
    """Every variable a template reads (also in ``if`` conditions and filter args),
    and those it prints bare: with no ``default`` and never tested by an ``if``."""
    read, printed, tested = set(), set(), set()
    for node in _walk(compile_source(source, html=html).nodelist):
        for fe in _filter_expressions(node):
            names = {lookups[0] for lookups in _variable_names(fe)}
            read |= names
            if isinstance(node, IfNode):
                tested |= names
        if isinstance(node, VariableNode):
            fe = node.filter_expression
            if not any(func.__name__.startswith("default") for func, _a in fe.filters):
                printed.add(fe.var.lookups[0])
    return read, printed - tested


def problems_of(kind: str, context: dict, *, channel: str, address: str) -> list[str]:
    """Each default template of ``kind`` that reads something ``context`` lacks, or
    prints bare a value that is blank.

    Rendered for every channel and language: the caller's context is the same for
    each, only notify()'s additions (the unsubscribe link) depend on the channel.
    """
    found = []
    for target in TEMPLATED_CHANNELS:
        full = notice_template_context(
            kind=kind,
            channel=target,
            address=address if target == channel else "x@example.com",
            context=context,
        )
        for language, _name in settings.LANGUAGES:
            sources = default_sources(kind=kind, channel=target, language=language)
            for part, source in sources.items():
                if not source:
                    continue
                html = part == "body_html"
                read, printed = template_variables(source, html=html)
                missing = read - full.keys()
                blank = {n for n in printed - missing if not str(full[n]).strip()}
                rendered = Template(source, engine=_ENGINES[html]).render(
                    Context(full, autoescape=html)
                )
                if missing or blank or "<<MISSING:" in rendered:
                    found.append(
                        f"{language}/{kind}-{target}-{part}: missing {sorted(missing)}"
                        f", blank {sorted(blank)}"
                    )
    return found


def notices_problems(kind: str) -> list[str]:
    notices = list(Notice.objects.filter(kind=kind).order_by("pk"))
    assert notices, f"the scenario wrote no {kind} notice"
    return [
        problem
        for notice in notices
        for problem in problems_of(
            kind, notice.context, channel=notice.channel, address=notice.recipient
        )
    ]


# The scenarios: each runs the real code that sends one kind.


def _customer(branch, **kw):
    return CustomerFactory(
        account=kw.pop("account", "GB00001234"),
        name=kw.pop("name", "Alice Thompson"),
        email=kw.pop("email", "alice.t@example.com"),
        phone=kw.pop("phone", "+447700900001"),
        language=kw.pop("language", "en"),
        branch=branch,
        **kw,
    )


def _capture(*, incident, branch, clerk, customer, **kw):
    deposit, _created = deposit_record(
        incident=incident,
        branch=branch,
        recorded_by=clerk,
        client_uuid=kw.pop("client_uuid", uuid.uuid4()),
        channel=Deposit.Channel.CASH,
        account=customer.account,
        payer_name="Alice Thompson",
        amount=kw.pop("amount", Decimal("1250.5")),
        currency="GBP",
        received_at=kw.pop("received_at", timezone.now() - dt.timedelta(minutes=25)),
        source=Deposit.Source.FORM,
        customer=customer,
        **kw,
    )
    return deposit


def _subscribers():
    SubscriberFactory(channel="email", address="sub@example.com", language="en")
    SubscriberFactory(channel="sms", address="+447700900777", language="zh-hans")


def deposit_received(branch, clerk, **_):
    incident = DepositIncidentFactory()
    _capture(incident=incident, branch=branch, clerk=clerk, customer=_customer(branch))


def deposit_reversed(branch, clerk, supervisor, roles, **_):
    incident = DepositIncidentFactory()
    deposit = _capture(
        incident=incident, branch=branch, clerk=clerk, customer=_customer(branch)
    )
    second = UserFactory(username="sam", branch=branch, roles=[Role.SUPERVISOR])
    reversal = deposit_reversal_request(
        deposit=deposit, requested_by=supervisor, reason="Entered twice by mistake"
    )
    deposit_reversal_approve(reversal=reversal, approved_by=second)


def deposit_confirmed(tmp_path, finance, branch, **_):
    incident = incident_open(title="Core banking down")
    deposit_make(
        incident,
        receipt_number="R-1",
        amount="1250.50",
        account="GB00000001",
        reference="INV-1",
        received_at=timezone.now() - dt.timedelta(minutes=5),
        branch=branch,
        customer=_customer(branch, account="GB00000001"),
    )
    load(tmp_path, incident, ["TX-1,GB00000001,1250.50,GBP,2026-07-15,Ann Lee,INV-1,"])
    reconcile(incident)
    for match in Match.objects.filter(status=Match.Status.PROPOSED):
        match_confirm(match=match, actor=finance)


def outage_started_when_opened(lead, **_):
    _subscribers()
    incident_open(title="Card payments down", opened_by=lead)


def outage_started_when_maintenance_starts(**_):
    _subscribers()
    PlannedIncidentFactory(impact_started_at=timezone.now() - dt.timedelta(minutes=1))
    maintenance_tick()


def maintenance_scheduled(lead, **_):
    _subscribers()
    starts = timezone.now() + dt.timedelta(days=2)
    incident_open(
        title="Core upgrade",
        planned=True,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        opened_by=lead,
    )


def maintenance_reminder(**_):
    _subscribers()
    PlannedIncidentFactory(impact_started_at=timezone.now() + dt.timedelta(minutes=30))
    maintenance_tick()


def resolved_when_maintenance_completes(**_):
    _subscribers()
    PlannedIncidentFactory(
        status=Incident.Status.IN_PROGRESS,
        impact_started_at=timezone.now() - dt.timedelta(hours=2),
        planned_end_at=timezone.now() - dt.timedelta(minutes=1),
    )
    maintenance_tick()


def _update(lead, branch, *, status=None, eta=True):
    _subscribers()
    incident = incident_open(title="Card payments down", opened_by=lead)
    customer = _customer(branch, email="", language="zh-hans")
    DepositFactory(
        incident=incident, branch=branch, customer=customer, account=customer.account
    )
    DepositFactory(
        incident=incident,
        branch=branch,
        customer=_customer(branch, account="GB00009999", email="bob@example.com"),
        account="GB00009999",
    )
    incident_update_post(
        incident=incident,
        audience=Audience.PUBLIC,
        texts={"en": "Back within the hour.", "zh-hans": "一小时内恢复。"},
        author=lead,
        status=status,
        eta=timezone.now() + dt.timedelta(hours=1) if eta and not status else None,
        eta_source=BankContactFactory(incident=incident, summary="Fix by 15:00")
        if eta and not status
        else None,
        notify_customers=True,
    )


def eta_update(lead, branch, **_):
    _update(lead, branch)


def eta_update_without_an_eta(lead, branch, **_):
    _update(lead, branch, eta=False)


def resolved_when_updated(lead, branch, **_):
    _update(lead, branch, status=Incident.Status.RESOLVED)


def compensation_offer(finance, branch, **_):
    started = timezone.now() - dt.timedelta(hours=3)
    incident = DepositIncidentFactory(
        impact_started_at=started,
        restored_at=started + dt.timedelta(minutes=45),
        status=Incident.Status.RESOLVED,
    )
    RoleAssignment.objects.create(
        incident=incident, role=OutageRole.COMMS_APPROVER, user=finance
    )
    make_rule(tier="standard", min_minutes=30)
    for account, email, phone in [
        ("GB00000011", "ann@example.com", ""),
        ("GB00000012", "", "+447700900012"),
    ]:
        customer = _customer(branch, account=account, email=email, phone=phone)
        DepositFactory(
            incident=incident,
            branch=branch,
            customer=customer,
            account=account,
            received_at=started + dt.timedelta(minutes=10),
        )
    offers_propose(incident=incident, customers=affected_customers(incident))
    offers_approve(incident=incident, actor=finance)


def subscription_confirm(**_):
    for channel, address in [("email", "new@example.com"), ("sms", "+447700900888")]:
        subscriber_request(
            channel=channel, address=address, components=[], language="en", ip="1.2.3.4"
        )


def staff_role_unfilled(lead, **_):
    lead.email = "dana@example.com"
    lead.save()
    incident_open(title="Card payments down", opened_by=lead)
    role_reminders_send()


def staff_follow_up_overdue_of_the_bank(lead, **_):
    incident = incident_open(title="Card payments down", opened_by=lead)
    liaison = UserFactory(username="liz", branch=None, email="liz@example.com")
    RoleAssignment.objects.create(
        incident=incident, role=OutageRole.BANK_LIAISON, user=liaison
    )
    BankContactFactory(
        incident=incident,
        bank_ticket_ref="BNK-77",
        follow_up_due_at=timezone.now() - dt.timedelta(hours=1),
    )
    bank_follow_up_reminders_send()


def staff_follow_up_overdue_of_the_review(lead, **_):
    incident = DepositIncidentFactory(restored_at=timezone.now())
    lead.email = "dana@example.com"
    lead.save()
    review = Review.objects.create(incident=incident)
    ActionItem.objects.create(
        review=review,
        kind=ActionItem.Kind.PREVENTIVE,
        title="Add a second bank line",
        owner=lead,
        due_on=timezone.localdate() - dt.timedelta(days=2),
    )
    action_items_remind_overdue()


def staff_notice_failed(settings, **_):
    settings.NOTICE_MAX_ATTEMPTS = 1
    settings.NOTICE_FAILURE_ALERT_EMAILS = ["ops@example.com"]
    notify(
        kind="eta_update",
        recipients=[Recipient("email", "gone@example.com")],
        context={"incident_reference": "INC-2026-0007", "eta": "14:00 UTC"},
        dedupe_key="incident:7:eta",
    )
    token, claimed = notices_claim(channel="email", limit=10)
    outcomes_record(
        token=token,
        outcomes=[
            Outcome(n, ok=False, error="550 mailbox unavailable") for n in claimed
        ],
    )


SCENARIOS = [
    ("deposit_received", deposit_received),
    ("deposit_reversed", deposit_reversed),
    ("deposit_confirmed", deposit_confirmed),
    ("outage_started", outage_started_when_opened),
    ("outage_started", outage_started_when_maintenance_starts),
    ("maintenance_scheduled", maintenance_scheduled),
    ("maintenance_reminder", maintenance_reminder),
    ("eta_update", eta_update),
    ("eta_update", eta_update_without_an_eta),
    ("resolved", resolved_when_updated),
    ("resolved", resolved_when_maintenance_completes),
    ("compensation_offer", compensation_offer),
    ("subscription_confirm", subscription_confirm),
    ("staff_role_unfilled", staff_role_unfilled),
    ("staff_follow_up_overdue", staff_follow_up_overdue_of_the_bank),
    ("staff_follow_up_overdue", staff_follow_up_overdue_of_the_review),
    ("staff_notice_failed", staff_notice_failed),
]


@pytest.fixture
def people(roles, branch, clerk, supervisor, lead, finance, tmp_path, settings):
    return {
        "roles": roles,
        "branch": branch,
        "clerk": clerk,
        "supervisor": supervisor,
        "lead": lead,
        "finance": finance,
        "tmp_path": tmp_path,
        "settings": settings,
    }


@pytest.mark.parametrize(
    ("kind", "scenario"), SCENARIOS, ids=[s.__name__ for _k, s in SCENARIOS]
)
def test_every_default_template_finds_its_variables_in_the_senders_context(
    kind, scenario, people
):
    # given: the real code sends the kind
    with time_machine.travel(SUMMER, tick=False):
        scenario(**people)

    # then: every template of the kind, in every language and channel, has its values
    problems = notices_problems(kind)
    assert not problems, "\n".join(problems)


def test_every_kind_with_templates_has_a_sender_scenario_or_is_known_unsent():
    assert {kind for kind, _scenario in SCENARIOS} | NOT_SENT == set(TEMPLATED_KINDS)


@pytest.mark.parametrize("kind", TEMPLATED_KINDS)
def test_the_preview_sample_context_has_every_variable_of_the_default_templates(kind):
    problems = problems_of(kind, sample_context(kind), channel="email", address="")
    assert not problems, "\n".join(problems)


def test_the_deposit_received_email_shows_name_branch_amount_and_local_time(
    branch, clerk
):
    # given: a London branch in summer, an amount typed with one decimal
    customer = _customer(branch)
    with time_machine.travel(SUMMER, tick=False):
        incident = DepositIncidentFactory(reference="INC-2026-0042")
        # when
        deposit = _capture(
            incident=incident,
            branch=branch,
            clerk=clerk,
            customer=customer,
            received_at=dt.datetime(2026, 7, 15, 9, 5, 42, 739839, tzinfo=dt.UTC),
        )

    # then
    email = Notice.objects.get(kind="deposit_received", channel="email")
    sentence = (
        "We received your deposit of 1250.50 GBP to account GB00001234 at Head office"
        f" on 2026-07-15 10:05 BST. Your receipt number is {deposit.receipt_number}."
    )
    assert email.body.startswith(f"Dear Alice Thompson,\n\n{sentence}\n")
    assert f"<p>{sentence}</p>" in email.body_html
    assert "(INC-2026-0042)" in email.body
    sms = Notice.objects.get(kind="deposit_received", channel="sms")
    assert "1250.50 GBP" in sms.body


def test_the_chinese_deposit_notice_shows_the_time_in_a_shanghai_branch(
    other_branch, outsider
):
    customer = _customer(other_branch, language="zh-hans", phone="")
    with time_machine.travel(SUMMER, tick=False):
        incident = DepositIncidentFactory()
        _capture(
            incident=incident,
            branch=other_branch,
            clerk=outsider,
            customer=customer,
            received_at=dt.datetime(2026, 7, 15, 9, 5, tzinfo=dt.UTC),
        )

    email = Notice.objects.get(kind="deposit_received")
    assert email.language == "zh-hans"
    assert "尊敬的Alice Thompson：" in email.body  # noqa: RUF001
    assert "我们已于 2026-07-15 17:05 CST 在North收到" in email.body


def test_a_confirmed_deposit_read_back_shows_the_currencys_two_decimals(
    tmp_path, finance, branch
):
    with time_machine.travel(SUMMER, tick=False):
        deposit_confirmed(tmp_path=tmp_path, finance=finance, branch=branch)

    email = Notice.objects.get(kind="deposit_confirmed", channel="email")
    assert "Your deposit of 1250.50 GBP to account GB00000001" in email.body
    assert "credited on 2026-07-15 11:30 BST" in email.body
    assert email.body.startswith("Dear Alice Thompson,")


def test_the_deposit_notice_context_reads_no_row_of_its_own(
    branch, clerk, django_assert_num_queries
):
    customer = _customer(branch)
    with time_machine.travel(SUMMER, tick=False):
        deposit = _capture(
            incident=DepositIncidentFactory(),
            branch=branch,
            clerk=clerk,
            customer=customer,
        )

        # the capture's branch, incident and customer are already loaded
        with django_assert_num_queries(0):
            context = deposit_notice_context(deposit)

    assert context["customer_name"] == "Alice Thompson"
    assert context["branch_name"] == "Head office"
    assert context["branch"] == "Head office"
    assert context["amount"] == "1250.50"
    assert context["received_at"] == "2026-07-15 11:05 BST"
