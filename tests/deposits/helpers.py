"""Shared assertions and helpers for deposit tests."""

import threading

from django.db import connections

from deposits.models import (
    Deposit,
    DepositConflict,
    DepositEvidence,
    DepositReversal,
    ReceiptCounter,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent
from outage_desk.tokens import api_token_create


def row_counts() -> dict[str, int]:
    """How many rows each table a capture can write holds; equal before/after = nothing written."""
    return {
        "deposits": Deposit.objects.count(),
        "conflicts": DepositConflict.objects.count(),
        "evidence": DepositEvidence.objects.count(),
        "reversals": DepositReversal.objects.count(),
        "notices": Notice.objects.count(),
        "audit": AuditEvent.objects.count(),
        "receipt_counters": sum(
            ReceiptCounter.objects.values_list("last_number", flat=True)
        ),
    }


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"\x00" * 64


def run_in_threads(target, count):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(n):
        try:
            barrier.wait()
            results.append(target(n))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def token_client(user, name="teller app"):
    """An API client signed in with a real token of ``user``."""
    from rest_framework.test import APIClient

    _token, key = api_token_create(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client
