"""The WSGI app with a web process that is killed the moment a capture commits.

Loaded by gunicorn with --preload; the after-commit hook that would wake a worker
kills the process instead, so the client never hears back and nothing but the
outbox and the relay can get the notice out.
"""

import importlib
import os
import signal

from outage_desk.wsgi import application


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


# Looked up after the WSGI import above has set Django up.
importlib.import_module("notifications.services.outbox")._nudge_after_commit = _die

__all__ = ["application"]
