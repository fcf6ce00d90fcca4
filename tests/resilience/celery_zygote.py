"""Imports Django and the Celery app once, then forks whole Celery workers on demand.

A Celery worker takes 3-5 s to start on the 2-core machine, nearly all of it imports.
The worker-kill test restarts one after each whole-worker kill; forked from this
process, a worker consumes again within a fraction of a second. What the test kills
is still a whole worker: its main process and its prefork pool. Nothing here opens a
database or broker connection before forking.

Protocol: each line on stdin is a worker's arguments as a JSON list (starting with
"worker"); the answer on stdout is the new worker's pid.
"""

import json
import os
import signal
import sys


def main() -> None:
    import django

    django.setup()
    from outage_desk.celery import app

    app.loader.import_default_modules()
    # Dead workers are reaped by the kernel; the test watches them through psutil.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            # A worker's output goes to RESILIENCE_WORKER_LOG when set (a failing
            # test shows its end), else nowhere.
            devnull = os.open(os.devnull, os.O_RDWR)
            log = os.environ.get("RESILIENCE_WORKER_LOG")
            out = (
                os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                if log
                else devnull
            )
            os.dup2(devnull, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            try:
                app.worker_main(argv)
            finally:
                os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
