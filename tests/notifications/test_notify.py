"""notify(): outbox rows in the caller's transaction, rendered from approved versions."""

import os
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from notifications.models import (
    Notice,
    NoticeRef,
    NoticeTemplate,
    NoticeTemplateVersion,
    OptOut,
)
from notifications.services import (
    NOTIFY_INVALID_EMAIL,
    NOTIFY_INVALID_PHONE,
    NOTIFY_UNKNOWN_CHANNEL,
    NOTIFY_UNKNOWN_KIND,
    NOTIFY_UNKNOWN_WEBHOOK,
    Recipient,
    notify,
    template_version_approve,
    template_version_create,
)
from tests.resilience.conftest import wait_for

pytestmark = pytest.mark.django_db

ETA = {
    "incident_reference": "INC-2026-0007",
    "incident_title": "Core banking down",
    "eta": "14:00 UTC",
    "customer_name": "Ann <Lee>",
}


def _eta(recipients, key="incident:7:eta:1", **kwargs):
    return notify(
        kind="eta_update",
        recipients=recipients,
        context=ETA,
        dedupe_key=key,
        subject_refs=["incident:INC-2026-0007"],
        **kwargs,
    )


def test_it_writes_one_pending_notice_per_recipient_from_the_live_versions():
    # when
    notices = _eta(
        [
            Recipient("email", "ann@example.com", "en"),
            Recipient("sms", "+44 7700 900123", "zh_Hans"),
        ]
    )

    # then
    email, sms = notices
    assert [n.status for n in notices] == ["pending", "pending"]
    assert email.subject == "Update on INC-2026-0007: expected back 14:00 UTC"
    assert email.body.startswith("Dear Ann <Lee>,")
    assert "Dear Ann &lt;Lee&gt;," in email.body_html
    assert email.template_version == NoticeTemplateVersion.objects.get(
        template__kind="eta_update", template__channel="email", template__language="en"
    )
    assert sms.recipient == "+447700900123"
    assert sms.language == "zh-hans"
    assert sms.body == "INC-2026-0007 进展：预计 14:00 UTC 前恢复。"  # noqa: RUF001
    assert sms.template_version.template.language == "zh-hans"
    assert list(
        NoticeRef.objects.filter(notice=email).values_list("ref", flat=True)
    ) == ["incident:INC-2026-0007"]


def test_a_repeated_call_with_the_same_dedupe_key_adds_nothing():
    first = _eta([Recipient("email", "ann@example.com")])

    again = _eta([Recipient("email", "ann@example.com")])

    assert [n.pk for n in again] == [n.pk for n in first]
    assert Notice.objects.count() == 1
    assert NoticeRef.objects.count() == 1


def test_it_renders_from_the_newest_approved_version_and_records_it(lead, admin_user):
    template = NoticeTemplate.objects.get(
        kind="eta_update", channel="sms", language="en"
    )
    version = template_version_create(
        template=template,
        subject="",
        body_text="ETA {{ eta }}",
        body_html="",
        author=lead,
    )
    template_version_create(
        template=template,
        subject="",
        body_text="Draft {{ eta }}",
        body_html="",
        author=lead,
    )
    template_version_approve(version=version, approver=admin_user)

    (notice,) = _eta([Recipient("sms", "+447700900123")])

    assert notice.body == "ETA 14:00 UTC"
    assert notice.template_version == version


def test_a_missing_language_falls_back_to_english():
    NoticeTemplateVersion.objects.filter(
        template__kind="eta_update", template__language="zh-hans"
    ).delete()

    (notice,) = _eta([Recipient("email", "ann@example.com", "zh-hans")])

    assert notice.language == "en"
    assert notice.template_version.template.language == "en"
    assert notice.subject.startswith("Update on INC-2026-0007")


def test_an_unsupported_language_is_written_in_english():
    (notice,) = _eta([Recipient("email", "ann@example.com", "fr")])

    assert notice.language == "en"


def test_defaults_missing_from_the_database_are_loaded_again():
    Notice.objects.all().delete()
    NoticeTemplateVersion.objects.all().delete()
    NoticeTemplate.objects.all().delete()

    (notice,) = _eta([Recipient("email", "ann@example.com")])

    assert notice.template_version.number == 1
    assert NoticeTemplate.objects.filter(kind="eta_update").count() == 4


@pytest.mark.parametrize(
    ("recipient", "message", "address"),
    [
        (Recipient("email", "not-an-address"), NOTIFY_INVALID_EMAIL, "not-an-address"),
        (Recipient("email", ""), NOTIFY_INVALID_EMAIL, ""),
        (Recipient("sms", "07700 900123"), NOTIFY_INVALID_PHONE, "07700 900123"),
        (Recipient("sms", "+44 12"), NOTIFY_INVALID_PHONE, "+44 12"),
        (Recipient("fax", "+447700900123"), NOTIFY_UNKNOWN_CHANNEL, "+447700900123"),
        (
            Recipient("webhook", "https://nowhere.example/hook"),
            NOTIFY_UNKNOWN_WEBHOOK,
            "https://nowhere.example/hook",
        ),
    ],
)
def test_a_bad_recipient_is_refused_by_position_and_nothing_is_stored(
    recipient, message, address
):
    with pytest.raises(ValidationError) as exc:
        _eta([Recipient("email", "ok@example.com"), recipient])

    assert exc.value.message == message
    assert exc.value.params["index"] == 2
    assert exc.value.params["address"] == address
    assert Notice.objects.count() == 0
    assert NoticeRef.objects.count() == 0


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationError) as exc:
        notify(
            kind="party",
            recipients=[Recipient("email", "a@example.com")],
            context={},
            dedupe_key="x",
        )

    assert exc.value.message == NOTIFY_UNKNOWN_KIND
    assert Notice.objects.count() == 0


def test_a_refused_call_leaves_the_callers_transaction_usable():
    with transaction.atomic():
        _eta([Recipient("email", "ann@example.com")], key="first")
        with pytest.raises(ValidationError):
            _eta([Recipient("email", "bad")], key="second")
        _eta([Recipient("email", "bob@example.com")], key="third")

    assert sorted(Notice.objects.values_list("recipient", flat=True)) == [
        "ann@example.com",
        "bob@example.com",
    ]


def test_an_opted_out_address_gets_no_optional_notice_but_still_deposit_notices():
    OptOut.objects.create(channel="email", address="ann@example.com")

    _eta([Recipient("email", "ann@example.com"), Recipient("sms", "+447700900123")])
    notify(
        kind="deposit_received",
        recipients=[Recipient("email", "ann@example.com")],
        context={"receipt_number": "HQ-1", "amount": "10.00", "currency": "GBP"},
        dedupe_key="deposit:1:received",
    )

    assert sorted(Notice.objects.values_list("kind", "channel")) == [
        ("deposit_received", "email"),
        ("eta_update", "sms"),
    ]


def test_optional_emails_carry_an_unsubscribe_link_and_deposit_notices_do_not():
    (eta,) = _eta([Recipient("email", "ann@example.com")])
    (received,) = notify(
        kind="deposit_received",
        recipients=[Recipient("email", "ann@example.com")],
        context={"receipt_number": "HQ-1", "amount": "10.00", "currency": "GBP"},
        dedupe_key="deposit:1:received",
    )

    assert "/notices/unsubscribe/" in eta.body
    assert "/notices/unsubscribe/" not in received.body


def test_the_context_is_stored_as_json_with_decimals_as_strings():
    from decimal import Decimal

    (notice,) = notify(
        kind="deposit_received",
        recipients=[Recipient("email", "ann@example.com")],
        context={
            "amount": Decimal("1250.50"),
            "currency": "GBP",
            "receipt_number": "R1",
        },
        dedupe_key="deposit:2:received",
    )

    assert notice.context["amount"] == "1250.50"
    assert "1250.50 GBP" in notice.body


def test_nothing_is_nudged_before_commit_and_one_nudge_follows_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    monkeypatch.setattr("notifications.tasks.notices_nudge", lambda: calls.append(1))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _eta([Recipient("email", "ann@example.com")])
        assert calls == []

    assert len(callbacks) == 1
    assert calls == [1]


def test_a_fan_out_of_many_calls_in_one_transaction_nudges_once(
    django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    monkeypatch.setattr("notifications.tasks.notices_nudge", lambda: calls.append(1))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for i in range(5):
            _eta([Recipient("email", f"c{i}@example.com")], key=f"eta:{i}")

    assert len(callbacks) == 1
    assert calls == [1]
    assert Notice.objects.count() == 5


def test_commits_inside_the_interval_share_one_trailing_nudge(settings, monkeypatch):
    from notifications.services import outbox

    settings.NOTICE_NUDGE_MIN_INTERVAL = 0.3
    calls = []
    monkeypatch.setattr(
        "notifications.tasks.notices_nudge", lambda: calls.append(time.monotonic())
    )
    monkeypatch.setattr(outbox, "_nudger", outbox._Nudger())

    outbox._nudge_after_commit()  # the first nudges at once
    assert len(calls) == 1
    for _ in range(5):  # the next five come inside the interval
        outbox._nudge_after_commit()
    assert len(calls) == 1

    # one trailing nudge for all five
    wait_for(lambda: len(calls) == 2, "the trailing nudge", timeout=5, interval=0.01)
    assert calls[1] - calls[0] >= 0.3
    time.sleep(0.5)
    assert len(calls) == 2


def test_one_thread_nudges_for_the_whole_process(settings, monkeypatch):
    from notifications.services import outbox

    settings.NOTICE_NUDGE_MIN_INTERVAL = 0.01
    calls = []
    monkeypatch.setattr(
        "notifications.tasks.notices_nudge",
        lambda: calls.append(threading.current_thread()),
    )
    monkeypatch.setattr(outbox, "_nudger", outbox._Nudger())

    for _ in range(10):
        outbox._nudge_after_commit()
        time.sleep(0.02)  # past the interval: each commit nudges at once

    assert len(calls) == 10
    assert all(thread is calls[0] for thread in calls)
    assert calls[0] is not threading.current_thread()


def test_a_forked_child_nudges_through_a_thread_of_its_own(settings, monkeypatch):
    from notifications.services import outbox

    settings.NOTICE_NUDGE_MIN_INTERVAL = 0.0
    parent, release, calls = os.getpid(), threading.Event(), []

    def nudge():
        calls.append((os.getpid(), threading.current_thread().name))
        if os.getpid() == parent:
            release.wait(5)  # the parent's nudge is stuck on the broker

    monkeypatch.setattr("notifications.tasks.notices_nudge", nudge)
    monkeypatch.setattr(outbox, "_nudger", outbox._Nudger())
    outbox._nudge_after_commit()
    assert calls == [(parent, "notice-nudger")]

    # when: a worker process is forked (gunicorn, Celery) and commits there
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: none of the parent's threads or their state came along
        try:
            calls.clear()
            outbox._nudge_after_commit()
            os.write(write, repr(calls).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        told = pipe.read()
    os.waitpid(pid, 0)
    release.set()

    # then: the child's commit was nudged at once, on its own nudging thread
    assert told == repr([(pid, "notice-nudger")])


def test_a_nudge_stuck_on_the_broker_holds_no_commit_and_owes_one_more(
    settings, monkeypatch
):
    from notifications.services import outbox

    settings.NOTICE_NUDGE_MIN_INTERVAL = 0.01
    release, calls = threading.Event(), []

    def stuck():
        calls.append(1)
        release.wait(5)

    monkeypatch.setattr("notifications.tasks.notices_nudge", stuck)
    monkeypatch.setattr(outbox, "_nudger", outbox._Nudger())

    started = time.monotonic()
    outbox._nudge_after_commit()  # waits NUDGE_WAIT_SECONDS, then goes on
    for _ in range(20):
        outbox._nudge_after_commit()
    took = time.monotonic() - started

    assert took < outbox.NUDGE_WAIT_SECONDS + 0.5
    assert calls == [1]
    release.set()
    # the commits meanwhile: one more
    wait_for(lambda: len(calls) == 2, "the owed nudge", timeout=5, interval=0.01)
    time.sleep(0.2)
    assert calls == [1, 1]


def test_the_nudge_swallows_an_unreachable_broker(settings):
    from notifications.tasks import notices_nudge
    from tests.notifications.conftest import free_port

    settings.NOTICE_NUDGE_BROKER_URL = f"redis://127.0.0.1:{free_port()}/3"

    assert notices_nudge() is False
