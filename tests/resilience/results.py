"""Figures the resilience tests measured: one JSON file per test under var/resilience/.

docs/resilience.md quotes them; a run prints where they are.
"""

import json
import os
from pathlib import Path
from typing import Any

RESULTS = Path(
    os.environ.get(
        "RESILIENCE_RESULTS", Path(__file__).resolve().parents[2] / "var" / "resilience"
    )
)


def record(name: str, **figures: Any) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=1, default=str))
    print(f"\n{name}: {json.dumps(figures, default=str)}")
