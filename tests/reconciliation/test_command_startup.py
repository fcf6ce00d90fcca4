import os
import subprocess
import sys

import pytest

from tests.workers import ROOT, database_url_for_children

pytestmark = pytest.mark.django_db

# manage.py's own entry point, then which modules the command needed
RUN = (
    "import atexit, sys\n"
    "atexit.register(lambda: print(*sorted(sys.modules), file=sys.stderr))\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(sys.argv)\n"
)


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["reconcile", "INC-1999-0001"], "reconciliation.services"),
        (
            ["import_records", "manage.py", "--incident", "INC-1999-0001"],
            "reconciliation.loading",
        ),
    ],
)
def test_the_commands_start_without_importing_the_site_urls(args, module):
    # given: a fresh process, as finance runs the commands
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outage_desk.settings_test",
        "DATABASE_URL": database_url_for_children(),
    }
    # when
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then: the command ran (and refused the unknown incident) without the URL
    # checks importing every view of the site
    assert done.returncode == 1
    assert "No incident INC-1999-0001." in done.stderr
    imported = set(done.stderr.splitlines()[-1].split())
    assert module in imported
    assert "outage_desk.urls" not in imported
